"""Gapless numbers per tenant (invoices, credit notes).

A number is drawn by an UPDATE of the counter row in the transaction that uses it: a
rollback returns it, so the numbers that exist have no gaps, and the row lock makes
concurrent transactions take turns.
"""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from .tables import counters

INVOICE = "invoice"
CREDIT_NOTE = "credit_note"
PREFIXES = {INVOICE: "INV", CREDIT_NOTE: "CN"}


async def draw(conn: AsyncConnection, name: str, count: int = 1) -> int:
    """Reserve `count` consecutive numbers of counter `name`; returns the first."""
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    statement = (
        pg_insert(counters)
        .values(name=name, value=count)
        .on_conflict_do_update(index_elements=["name"], set_={"value": counters.c.value + count})
        .returning(counters.c.value)
    )
    last = (await conn.execute(statement)).scalar_one()
    return int(last) - count + 1


def format_number(name: str, seq: int) -> str:
    """ "INV-000123", "CN-000007"."""
    return f"{PREFIXES[name]}-{seq:06d}"
