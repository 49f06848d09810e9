"""Array parameters for set-at-a-time statements (`unnest` over bound arrays)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY


def array_param(name: str, item: Any) -> Any:
    """An array parameter behind a scalar sub-select, so the planner cannot see its length.

    Its estimate is then the same whatever the batch size, so PostgreSQL settles on one
    generic plan per prepared statement instead of planning every execution anew.
    """
    return select(bindparam(name, type_=ARRAY(item))).scalar_subquery()


def id_array(name: str) -> Any:
    """A bigint[] parameter, for `column == any_(id_array("ids"))` over a set of ids."""
    return bindparam(name, type_=ARRAY(BigInteger))
