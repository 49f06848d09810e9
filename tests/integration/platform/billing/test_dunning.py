"""Dunning on real PostgreSQL: reminders and suspension as invoices age, restoration on
payment and credit notes, exports queued, staff suspensions left alone, sound books."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from bureau.platform import outbox
from bureau.platform.billing import dunning
from bureau.platform.billing.credits import issue_credit_note
from bureau.platform.billing.dunning_policy import Action, InvalidDunningPolicy, Step
from bureau.platform.billing.payments import record_payment
from bureau.platform.billing.period import parse_period
from bureau.platform.billing.run import bill_run
from bureau.platform.provisioning.changes import EXPORT_ACTOR
from bureau.platform.subscribers import services
from bureau.platform.subscribers.tables import services as service_rows

from .conftest import DOLLAR, Books, at

NOW = at("2026-11-23T12:00:00")
# bob's September invoice: 15.00 sign-up + 29.99, 5 % tax = 47.24, due 2026-10-15 (14 days after the month).
DUE = date(2026, 10, 15)


def day(offset: int) -> date:
    return date.fromordinal(DUE.toordinal() + offset)


async def states(books: Books, customer_id: int) -> dict[str, str]:
    async with books.unit() as conn:
        rows = await conn.execute(
            select(service_rows.c.login, service_rows.c.state).where(service_rows.c.customer_id == customer_id)
        )
        return {row.login: row.state for row in rows}


async def actions(books: Books, customer_id: int) -> list[tuple[str, int | None, date]]:
    async with books.unit() as conn:
        found = await dunning.events_of(conn, customer_id=customer_id)
    return [(e.action, e.step_days, e.on_date) for e in reversed(found)]


async def run(books: Books, on: date) -> dunning.DunningRun:
    return await dunning.run_dunning(books.unit, on, batch_size=2)


async def overdue_bob(books: Books) -> Any:
    bob = await books.customer("bob", "dsl-10", "2026-09-01T00:00:00")
    await bill_run(books.unit, parse_period("2026-09"), now=NOW)
    return bob


async def test_reminders_then_suspension_as_the_invoice_ages_each_step_once(
    books: Books, assert_ledger_sound: Any
) -> None:
    bob = await overdue_bob(books)
    assert (await run(books, DUE)).reviewed == 0, "due today is not overdue yet"
    assert (await run(books, day(6))).reminded == 0
    first = await run(books, day(7))
    again = await run(books, day(7))
    assert (first.reviewed, first.reminded, again.reminded) == (1, 1, 0)
    await run(books, day(14))
    async with books.unit() as conn:
        await conn.execute(outbox.outbox.delete())  # only what the suspension queues, below
    suspended = await run(books, day(21))
    assert (suspended.suspended, await states(books, bob.id)) == (1, {f"bob@{books.realm}": "suspended"})
    assert await actions(books, bob.id) == [("remind", 7, day(7)), ("remind", 14, day(14)), ("suspend", 21, day(21))]
    async with books.unit() as conn:
        queued = (await conn.execute(select(outbox.outbox.c.actor))).scalars().all()
        [case] = await dunning.open_cases(conn, day(21))
        events = await dunning.events_of(conn, customer_id=bob.id)
    assert queued == [EXPORT_ACTOR], "the suspension queues an export, which takes the login off the targets"
    assert (case.customer, case.level, case.suspended, case.overdue.days, case.overdue.micros) == (
        bob.number,
        21,
        True,
        21,
        47_240_000,
    )
    notice = events[-1].document
    assert (notice["email"], notice["currency"], notice["overdue_micros"]) == ("bob@mail.example", "USD", 47_240_000)
    assert notice["invoices"] == [{"number": "INV-000001", "due_date": "2026-10-15", "open_micros": 47_240_000}]
    assert (await run(books, day(40))).suspended == 0, "a suspended customer is not suspended again"
    await assert_ledger_sound(books.tenant)


async def test_paying_restores_at_once_and_closes_the_case(books: Books, assert_ledger_sound: Any) -> None:
    bob = await overdue_bob(books)
    await run(books, day(30))
    async with books.unit() as conn:
        await record_payment(
            conn, customer=bob.number, amount_micros=47_240_000, method="bank_transfer", idempotency_key="late-1"
        )
        cases = await dunning.open_cases(conn, day(30))
    assert await states(books, bob.id) == {f"bob@{books.realm}": "active"}
    assert cases == []
    assert [a for a, _, _ in await actions(books, bob.id)] == ["remind", "suspend", "restore"]
    assert (await run(books, day(31))).reviewed == 0
    await assert_ledger_sound(books.tenant)


async def test_a_partial_payment_restores_only_below_the_suspension_minimum(
    books: Books, assert_ledger_sound: Any
) -> None:
    async with books.unit() as conn:
        await dunning.set_steps(
            conn, [Step(7, Action.REMIND), Step(21, Action.SUSPEND, min_overdue_micros=20 * DOLLAR)]
        )
    bob = await overdue_bob(books)
    await run(books, day(21))
    async with books.unit() as conn:
        await record_payment(conn, customer=bob.number, amount_micros=20 * DOLLAR, method="cash", idempotency_key="p1")
    assert await states(books, bob.id) == {f"bob@{books.realm}": "suspended"}, "27.24 is still overdue"
    async with books.unit() as conn:
        await record_payment(conn, customer=bob.number, amount_micros=10 * DOLLAR, method="cash", idempotency_key="p2")
        [case] = await dunning.open_cases(conn, day(22))
    assert await states(books, bob.id) == {f"bob@{books.realm}": "active"}, "17.24 is below the 20.00 minimum"
    assert (case.level, case.suspended, case.overdue.micros) == (7, False, 17_240_000)
    assert (await run(books, day(22))).suspended == 0
    await assert_ledger_sound(books.tenant)


async def test_a_credit_note_that_settles_the_invoice_restores(books: Books, assert_ledger_sound: Any) -> None:
    bob = await overdue_bob(books)
    await run(books, day(21))
    async with books.unit() as conn:
        for line, net in ((1, 15 * DOLLAR), (2, 29_990_000)):
            await issue_credit_note(conn, invoice="INV-000001", line=line, amount_micros=net, reason="goodwill")
    assert await states(books, bob.id) == {f"bob@{books.realm}": "active"}
    await assert_ledger_sound(books.tenant)


async def test_a_service_staff_suspended_stays_suspended_after_payment(books: Books, assert_ledger_sound: Any) -> None:
    bob = await overdue_bob(books)
    async with books.unit() as conn:
        mailbox = await services.add_service(
            conn, books.box, customer=bob.number, kind="mailbox", login="bob@mail.example", plan="box-monthly"
        )
        await services.change_service_state(conn, mailbox.id, "active")
        await services.change_service_state(conn, mailbox.id, "suspended")  # abuse desk, not dunning
    await run(books, day(21))
    async with books.unit() as conn:
        await record_payment(conn, customer=bob.number, amount_micros=47_240_000, method="cash", idempotency_key="p")
    assert await states(books, bob.id) == {f"bob@{books.realm}": "active", "bob@mail.example": "suspended"}
    await assert_ledger_sound(books.tenant)


async def test_a_customer_who_paid_on_time_is_never_dunned(books: Books, assert_ledger_sound: Any) -> None:
    bob = await overdue_bob(books)
    alice = await books.customer("alice", "dsl-10", "2026-09-01T00:00:00")
    await bill_run(books.unit, parse_period("2026-09"), now=NOW)  # alice joins the run
    async with books.unit() as conn:
        await record_payment(
            conn, customer=alice.number, amount_micros=47_240_000, method="card", idempotency_key="alice"
        )
    result = await run(books, day(30))
    assert (result.reviewed, result.suspended) == (1, 1)
    assert await states(books, alice.id) == {f"alice@{books.realm}": "active"}
    assert await states(books, bob.id) == {f"bob@{books.realm}": "suspended"}
    await assert_ledger_sound(books.tenant)


async def test_steps_are_replaced_whole_checked_and_none_turns_dunning_off(books: Books) -> None:
    bob = await overdue_bob(books)
    async with books.unit() as conn:
        assert [(s.days, s.action.value) for s in await dunning.steps_of(conn)] == [
            (7, "remind"),
            (14, "remind"),
            (21, "suspend"),
        ], "every tenant starts with the default policy"
        with pytest.raises(InvalidDunningPolicy, match="two steps are set at 7 days"):
            await dunning.set_steps(conn, [Step(7, Action.REMIND), Step(7, Action.SUSPEND)])
    async with books.unit() as conn:
        assert len(await dunning.steps_of(conn)) == 3, "a refused policy changes nothing"
        await dunning.set_steps(conn, [])
    result = await run(books, day(60))
    assert (result.reviewed, result.reminded, result.suspended) == (1, 0, 0)
    assert await states(books, bob.id) == {f"bob@{books.realm}": "active"}


async def test_payments_racing_the_daily_run_leave_exactly_the_payers_active(
    books: Books, assert_ledger_sound: Any
) -> None:
    names = [f"user{n}" for n in range(8)]
    late = [await books.customer(name, "dsl-10", "2026-09-01T00:00:00") for name in names]
    await bill_run(books.unit, parse_period("2026-09"), now=NOW)
    payers = late[::2]

    async def pay(customer: Any) -> None:
        async with books.unit() as conn:
            await record_payment(
                conn, customer=customer.number, amount_micros=47_240_000, method="card", idempotency_key=customer.number
            )

    await asyncio.gather(dunning.run_dunning(books.unit, day(21), batch_size=3), *(pay(c) for c in payers))
    await run(books, day(21))
    for customer, name in zip(late, names, strict=True):
        expected = "active" if customer in payers else "suspended"
        assert await states(books, customer.id) == {f"{name}@{books.realm}": expected}, name
    async with books.unit() as conn:
        cases = await dunning.open_cases(conn, day(21))
    assert sorted(c.customer for c in cases) == sorted(c.number for c in late if c not in payers)
    await assert_ledger_sound(books.tenant)
