"""`ledger check`: recompute the ledger from its postings and compare.

Finds entries that do not balance per unit, entries whose postings no longer match
their content hash, postings in the wrong unit, balances that differ from the sum of
their postings, and guarded balances below their floor.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from .rules import NewEntry, NewPosting, content_hash
from .tables import account_balances, accounts, journal_entries, postings

MAX_PROBLEMS = 100
FETCH = 2_000


@dataclass
class LedgerReport:
    entries: int = 0
    accounts: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, message: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(message)


async def check_ledger(conn: AsyncConnection) -> LedgerReport:
    """Recompute every balance from postings and verify every entry; report differences."""
    report = LedgerReport()
    await _check_entries(conn, report)
    await _check_units(conn, report)
    await _check_balances(conn, report)
    return report


async def _check_entries(conn: AsyncConnection, report: LedgerReport) -> None:
    grouped = (
        select(
            journal_entries.c.id,
            journal_entries.c.idempotency_key,
            journal_entries.c.description,
            journal_entries.c.metadata,
            journal_entries.c.content_hash,
            func.array_agg(postings.c.account_id).label("account_ids"),
            func.array_agg(postings.c.amount).label("amounts"),
            func.array_agg(postings.c.unit).label("units"),
        )
        .join(postings, postings.c.entry_id == journal_entries.c.id, isouter=True)
        .group_by(journal_entries.c.id)
        .order_by(journal_entries.c.id)
    )
    result = await conn.stream(grouped)
    async for rows in result.partitions(FETCH):
        for row in rows:
            report.entries += 1
            if row.account_ids == [None]:
                report.problem(f"entry {row.id} has no postings")
                continue
            totals: dict[str, int] = {}
            for unit, amount in zip(row.units, row.amounts, strict=True):
                totals[unit] = totals.get(unit, 0) + amount
            off = {u: t for u, t in totals.items() if t}
            if off:
                report.problem(f"entry {row.id} does not balance: {off}")
            rebuilt = NewEntry(
                row.idempotency_key,
                row.description,
                tuple(NewPosting(a, m, u) for a, m, u in zip(row.account_ids, row.amounts, row.units, strict=True)),
                row.metadata,
            )
            if content_hash(rebuilt) != row.content_hash:
                report.problem(f"entry {row.id} ({row.idempotency_key}) does not match its content hash")


async def _check_units(conn: AsyncConnection, report: LedgerReport) -> None:
    rows = await conn.execute(
        select(postings.c.id, postings.c.unit, accounts.c.id.label("account_id"), accounts.c.unit.label("expected"))
        .join(accounts, accounts.c.id == postings.c.account_id)
        .where(postings.c.unit != accounts.c.unit)
        .limit(MAX_PROBLEMS)
    )
    for row in rows:
        report.problem(f"posting {row.id} is in {row.unit} but account {row.account_id} holds {row.expected}")


async def _check_balances(conn: AsyncConnection, report: LedgerReport) -> None:
    posted = (
        select(postings.c.account_id, func.sum(postings.c.amount).label("total"))
        .group_by(postings.c.account_id)
        .subquery()
    )
    kept = (
        select(
            account_balances.c.account_id,
            func.sum(account_balances.c.balance).label("balance"),
            func.bool_or(
                account_balances.c.floor.is_not(None) & (account_balances.c.balance < account_balances.c.floor)
            ).label("below_floor"),
        )
        .group_by(account_balances.c.account_id)
        .subquery()
    )
    rows = await conn.execute(
        select(
            accounts.c.id,
            accounts.c.code,
            accounts.c.entity_id,
            accounts.c.sign,
            func.coalesce(posted.c.total, 0).label("total"),
            func.coalesce(kept.c.balance, 0).label("balance"),
            func.coalesce(kept.c.below_floor, False).label("below_floor"),
        )
        .select_from(accounts)
        .join(posted, posted.c.account_id == accounts.c.id, isouter=True)
        .join(kept, kept.c.account_id == accounts.c.id, isouter=True)
        .order_by(accounts.c.id)
    )
    for row in rows:
        report.accounts += 1
        expected = int(row.total) * row.sign
        balance = int(row.balance)  # SUM() of BIGINT is NUMERIC: a Decimal would print as 1.0300E+8
        if expected != balance:
            report.problem(
                f"account {row.id} ({row.code} of entity {row.entity_id}) has balance {balance}, "
                f"its postings sum to {expected}"
            )
        if row.below_floor:
            report.problem(f"account {row.id} ({row.code} of entity {row.entity_id}) is below its floor")
