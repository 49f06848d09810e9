"""Statement of account: opening balance, the period's lines, closing balance."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, text

from bureau.platform.ledger import statement as statement_module
from bureau.platform.ledger.rules import NewEntry, credit, debit
from bureau.platform.ledger.statement import statement_of_account
from bureau.platform.ledger.tables import journal_entries

DOLLAR = 1_000_000


async def clock(books) -> datetime:
    """The database's clock, read after the previous unit of work committed."""
    async with books.unit() as conn:
        return (await conn.execute(text("SELECT clock_timestamp()"))).scalar_one()


async def statement(books, account_id: int, start: datetime, end: datetime):
    async with books.unit() as conn:
        return await statement_of_account(conn, account_id, start, end)


async def spend(books, who, micros: int, description: str) -> int:
    main = await books.account(who.id, "1000")
    revenue = await books.account((await books.isp()).id, "4000")
    posted = await books.post(
        NewEntry(
            f"use-{uuid.uuid4().hex}", description, (debit(main.id, micros, "USD"), credit(revenue.id, micros, "USD"))
        )
    )
    return posted.id


async def test_statements_over_consecutive_periods_chain_opening_to_closing(books, assert_ledger_sound) -> None:
    ruth = await books.subscriber("ruth")
    main = await books.account(ruth.id, "1000")
    t0 = await clock(books)
    e1 = (await books.fund(ruth, 10 * DOLLAR, key="topup")).id
    t1 = await clock(books)
    e2 = await spend(books, ruth, 3 * DOLLAR, "usage 1")
    e3 = await spend(books, ruth, 2 * DOLLAR, "usage 2")
    t2 = await clock(books)
    e4 = (await books.fund(ruth, DOLLAR, key="topup-2")).id
    t3 = await clock(books)

    first = await statement(books, main.id, t0, t1)
    assert (first.opening, first.closing) == (0, 10 * DOLLAR)
    assert [(line.entry_id, line.amount, line.balance) for line in first.lines] == [(e1, 10 * DOLLAR, 10 * DOLLAR)]
    assert first.lines[0].description == "card top-up for ruth"

    second = await statement(books, main.id, t1, t2)
    assert second.opening == first.closing
    assert [(line.entry_id, line.amount, line.balance, line.description) for line in second.lines] == [
        (e2, -3 * DOLLAR, 7 * DOLLAR, "usage 1"),
        (e3, -2 * DOLLAR, 5 * DOLLAR, "usage 2"),
    ]
    assert second.closing == 5 * DOLLAR

    third = await statement(books, main.id, t2, t3)
    assert (third.opening, third.closing) == (5 * DOLLAR, 6 * DOLLAR)
    assert [line.entry_id for line in third.lines] == [e4]

    whole = await statement(books, main.id, t0, t3)
    assert (whole.opening, whole.closing) == (0, 6 * DOLLAR)
    assert [line.entry_id for line in whole.lines] == [e1, e2, e3, e4]
    assert whole.closing == whole.account.balance == await books.balance(ruth.id, "1000")
    assert whole.truncated is False

    later = await statement(books, main.id, t3, t3 + timedelta(days=30))
    assert (later.opening, later.lines, later.closing) == (6 * DOLLAR, (), 6 * DOLLAR)
    earlier = await statement(books, main.id, t0 - timedelta(days=30), t0)
    assert (earlier.opening, earlier.lines, earlier.closing) == (0, (), 0)
    await assert_ledger_sound(books.tenant)


async def test_a_statement_shows_amounts_on_the_accounts_normal_side(books, assert_ledger_sound) -> None:
    sam = await books.subscriber("sam")
    t0 = await clock(books)
    await books.fund(sam, 4 * DOLLAR)
    await spend(books, sam, DOLLAR, "usage")
    t1 = await clock(books)
    isp = await books.isp()
    cash = await statement(books, (await books.account(isp.id, "1100")).id, t0, t1)  # debit-normal
    revenue = await statement(books, (await books.account(isp.id, "4000")).id, t0, t1)  # credit-normal
    assert [line.amount for line in cash.lines] == [4 * DOLLAR]
    assert [line.amount for line in revenue.lines] == [DOLLAR]
    assert revenue.account.side == "credit" and cash.account.side == "debit"
    await assert_ledger_sound(books.tenant)


async def test_a_statement_period_must_end_after_it_starts(books) -> None:
    now = await clock(books)
    isp = await books.isp()
    account = await books.account(isp.id, "1100")
    for end in (now, now - timedelta(seconds=1)):
        with pytest.raises(ValueError, match=r"statement period must end after it starts"):
            await statement(books, account.id, now, end)


async def test_a_statement_of_an_unknown_account_is_refused(books) -> None:
    now = await clock(books)
    with pytest.raises(LookupError, match=r"no account with id 987654"):
        await statement(books, 987_654, now - timedelta(days=1), now)


async def test_a_period_includes_its_start_instant_and_excludes_its_end_instant(books, assert_ledger_sound) -> None:
    walt = await books.subscriber("walt")
    main = await books.account(walt.id, "1000")
    entry_id = (await books.fund(walt, 2 * DOLLAR)).id
    async with books.unit() as conn:
        posted_at = (
            await conn.execute(select(journal_entries.c.posted_at).where(journal_entries.c.id == entry_id))
        ).scalar_one()
    tick = timedelta(microseconds=1)
    starting = await statement(books, main.id, posted_at, posted_at + tick)
    assert (starting.opening, [line.entry_id for line in starting.lines], starting.closing) == (
        0,
        [entry_id],
        2 * DOLLAR,
    )
    ending = await statement(books, main.id, posted_at - tick, posted_at)
    assert (ending.opening, ending.lines, ending.closing) == (0, (), 0)
    after = await statement(books, main.id, posted_at + tick, posted_at + 2 * tick)
    assert (after.opening, after.lines, after.closing) == (2 * DOLLAR, (), 2 * DOLLAR)
    await assert_ledger_sound(books.tenant)


async def test_a_long_statement_is_truncated_but_its_closing_balance_stays_exact(
    books, assert_ledger_sound, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(statement_module, "MAX_STATEMENT_LINES", 3)
    xena = await books.subscriber("xena")
    main = await books.account(xena.id, "1000")
    t0 = await clock(books)
    ids = [(await books.fund(xena, (i + 1) * DOLLAR)).id for i in range(5)]
    t1 = await clock(books)
    long = await statement(books, main.id, t0, t1)
    assert long.truncated is True
    assert [line.entry_id for line in long.lines] == ids[:3]
    assert [line.balance for line in long.lines] == [DOLLAR, 3 * DOLLAR, 6 * DOLLAR]
    assert long.closing == 15 * DOLLAR
    monkeypatch.setattr(statement_module, "MAX_STATEMENT_LINES", 5)
    exact = await statement(books, main.id, t0, t1)
    assert exact.truncated is False and len(exact.lines) == 5
    await assert_ledger_sound(books.tenant)
