"""Reading an import file without the database: line numbers, shapes and limits."""

from __future__ import annotations

import pytest

from bureau.platform.subscribers import importing
from bureau.platform.subscribers.importing import parse_rows

HEADER = "code,name,email,country,login,password,plan,address"


def good(n: int, address: str = "") -> str:
    return f"c{n},C {n},c{n}@example.com,US,u{n}@Demo.Example,pw{n},dsl-10,{address}"


def test_line_numbers_count_physical_lines_across_quoted_newlines_and_blank_lines() -> None:
    text = "\n".join([HEADER, good(1, '"1 Main St\nFlat 2"'), "", good(2), "c3,,bad,US,x,pw,dsl-10,"]) + "\n"
    count, rows, errors = parse_rows(text)
    assert count == 3
    assert [(r.line, r.code) for r in rows] == [(2, "c1"), (5, "c2")]
    assert rows[0].address.lines == ("1 Main St", "Flat 2")
    assert rows[0].login == "u1@demo.example" and rows[0].prepaid is True and rows[0].credit_limit_micros == 0
    assert [(e.line, e.field) for e in errors.kept] == [(6, "name"), (6, "email"), (6, "login")]


def test_rows_given_as_mappings_are_numbered_as_if_under_a_header() -> None:
    cells = dict(zip(HEADER.split(","), good(1).split(","), strict=True))
    count, rows, errors = parse_rows([cells, {**cells, "code": "c2", "login": "U1@demo.example"}])
    assert (count, errors.total) == (2, 0)
    assert [r.line for r in rows] == [2, 3]


def test_an_empty_file_is_refused_naming_the_columns() -> None:
    _, rows, errors = parse_rows("")
    assert rows == [] and errors.total == 1
    assert "code, name, email" in str(errors.kept[0])


def test_more_rows_than_the_limit_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importing, "MAX_ROWS", 2)
    count, _, errors = parse_rows("\n".join([HEADER, good(1), good(2), good(3)]))
    assert count == 2
    assert [str(e) for e in errors.kept] == ["line 4: the file has more than 2 rows; split it"]


def test_a_file_over_the_byte_limit_is_refused_before_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importing, "MAX_BYTES", 10)
    count, _, errors = parse_rows("\n".join([HEADER, good(1)]))
    assert count == 0 and errors.kept[0].line is None and "larger than" in errors.kept[0].message
