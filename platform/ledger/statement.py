"""Statement of account: opening balance, the entries of a period, closing balance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from .entities import AccountBalance, query_account
from .tables import accounts, entities, journal_entries, postings

MAX_STATEMENT_LINES = 10_000


@dataclass(frozen=True, slots=True)
class StatementLine:
    entry_id: int
    posted_at: datetime
    description: str
    amount: int  # on the account's normal side: positive raises the balance
    balance: int  # running balance after this line


@dataclass(frozen=True, slots=True)
class Statement:
    account: AccountBalance
    start: datetime
    end: datetime
    opening: int
    lines: tuple[StatementLine, ...]
    closing: int
    truncated: bool  # more than MAX_STATEMENT_LINES lines; closing is still exact


async def statement_of_account(conn: AsyncConnection, account_id: int, start: datetime, end: datetime) -> Statement:
    """Entries posted to one account in [start, end), with opening and closing balances."""
    if end <= start:
        raise ValueError(f"statement period must end after it starts ({start} .. {end})")
    head = (
        await conn.execute(
            select(accounts.c.entity_id, accounts.c.code, accounts.c.sign)
            .join(entities, entities.c.id == accounts.c.entity_id)
            .where(accounts.c.id == account_id)
        )
    ).first()
    if head is None:
        raise LookupError(f"no account with id {account_id}")
    account = await query_account(conn, head.entity_id, head.code)
    before = await conn.execute(
        select(func.coalesce(func.sum(postings.c.amount), 0)).where(
            postings.c.account_id == account_id, postings.c.posted_at < start
        )
    )
    opening = int(before.scalar_one()) * head.sign
    period = await conn.execute(
        select(func.coalesce(func.sum(postings.c.amount), 0)).where(
            postings.c.account_id == account_id, postings.c.posted_at >= start, postings.c.posted_at < end
        )
    )
    closing = opening + int(period.scalar_one()) * head.sign
    rows = (
        await conn.execute(
            select(postings.c.entry_id, postings.c.posted_at, postings.c.amount, journal_entries.c.description)
            .join(journal_entries, journal_entries.c.id == postings.c.entry_id)
            .where(postings.c.account_id == account_id, postings.c.posted_at >= start, postings.c.posted_at < end)
            .order_by(postings.c.posted_at, postings.c.entry_id)
            .limit(MAX_STATEMENT_LINES + 1)
        )
    ).all()
    running = opening
    lines = []
    for row in rows[:MAX_STATEMENT_LINES]:
        amount = row.amount * head.sign
        running += amount
        lines.append(StatementLine(row.entry_id, row.posted_at, row.description, amount, running))
    return Statement(account, start, end, opening, tuple(lines), closing, truncated=len(rows) > MAX_STATEMENT_LINES)
