"""Bind values for `unnest` over bound arrays."""

from __future__ import annotations

import pytest
from sqlalchemy import BigInteger, Text
from sqlalchemy.dialects import postgresql

from bureau.platform.db.arrays import row_params, unnest_rows


def test_rows_become_one_array_per_column_in_row_order() -> None:
    params = row_params("p_", ["nas_id", "acct_session_id"], [(1, "a"), (2, "b"), (1, "c")])
    assert params == {"p_nas_id": [1, 2, 1], "p_acct_session_id": ["a", "b", "c"]}
    assert row_params("p_", ["nas_id", "acct_session_id"], []) == {"p_nas_id": [], "p_acct_session_id": []}


def test_a_row_of_the_wrong_width_is_refused() -> None:
    with pytest.raises(ValueError):
        row_params("p_", ["nas_id", "acct_session_id"], [(1,)])


def test_the_table_binds_one_typed_array_per_column() -> None:
    rows = unnest_rows("p", "p_", {"nas_id": BigInteger, "acct_session_id": Text}, ordinality="n")
    sql = str(rows.select().compile(dialect=postgresql.dialect()))
    assert (
        "unnest(%(p_nas_id)s::BIGINT[], %(p_acct_session_id)s::TEXT[]) WITH ORDINALITY AS p(nas_id, acct_session_id, n)"
        in sql
    )
