"""Array parameters for set-at-a-time statements (`unnest` over bound arrays)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import BigInteger, bindparam, func, select
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


def unnest_rows(alias: str, prefix: str, columns: Mapping[str, Any], *, ordinality: str | None = None) -> Any:
    """A derived table `alias` with `columns` (name: SQL type), one row per element of the
    bound arrays `prefix + name` (bind them with `row_params`); with `ordinality`, a
    last column of that name numbers the rows from 1."""
    arrays = [bindparam(prefix + name, type_=ARRAY(item)) for name, item in columns.items()]
    names = list(columns)
    if ordinality is not None:
        return func.unnest(*arrays).table_valued(*names, with_ordinality=ordinality).render_derived(name=alias)
    return func.unnest(*arrays).table_valued(*names).render_derived(name=alias)


def row_params(prefix: str, columns: Iterable[str], rows: Iterable[Sequence[Any]]) -> dict[str, list[Any]]:
    """The bind values of `unnest_rows(…, prefix, columns)` for `rows` (tuples in column order)."""
    names = list(columns)
    values: list[list[Any]] = [[] for _ in names]
    for row in rows:
        for column, value in zip(values, row, strict=True):
            column.append(value)
    return {prefix + name: column for name, column in zip(names, values, strict=True)}
