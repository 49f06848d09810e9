"""Scalars: amounts are whole micro-units, larger than GraphQL's 32-bit Int.

`BigInt` is a NewType of int; `SCALARS` maps it to its GraphQL definition in the
schema's config (strawberry's `scalar_map`), so type checkers see a plain int.
"""

from __future__ import annotations

from typing import NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition

BigInt = NewType("BigInt", int)


def _parse_big_int(value: object) -> BigInt:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"expected a whole number, got {value!r}")
    number = int(value)  # a string of digits is accepted too (JavaScript clients send big numbers so)
    if abs(number) >= 2**63:
        raise ValueError(f"{value!r} is out of range (64-bit)")
    return BigInt(number)


SCALARS: dict[object, ScalarDefinition] = {
    BigInt: strawberry.scalar(
        name="BigInt",
        description="A whole number up to 64 bits (amounts are micro-units: 1.00 is 1000000).",
        serialize=int,
        parse_value=_parse_big_int,
    )
}
