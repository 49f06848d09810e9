"""Dunning: reminders and suspension for overdue invoices, and restoration on payment.

The policy and its rules are in `dunning_policy.py` (pure). This module reads what is
overdue, keeps each customer's case (`dunning_cases`) and acts:

- a reminder is recorded as an event with what is overdue (invoices, amounts, due
  dates) and the customer's name and email, ready to send;
- a suspension moves every active service of the customer to suspended through
  `change_service_state`, which queues the exports (provisioning takes the accounts
  off) and makes RADIUS refuse new logins; the services are remembered in
  `dunning_suspensions`;
- a restoration moves those services, where they are still suspended, back to active.

`run_dunning` is the daily job (a customer per row locked, a batch per transaction);
`review_customer` is also called by payments and credit notes, in their transaction,
so that paying restores the services at once rather than the next morning. Services
stay billable while suspended, as with any suspension (docs/billing.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ..audit import log as audit
from ..subscribers.services import ServiceState, change_service_state
from ..subscribers.tables import customers, services
from .dunning_policy import Action, Decision, Overdue, Step, check_steps, decide
from .tables import dunning_cases, dunning_events, dunning_steps, dunning_suspensions, invoices

DEFAULT_BATCH = 200
MAX_LISTED = 1000
Unit = Callable[[], AbstractAsyncContextManager[AsyncConnection]]


@dataclass(frozen=True, slots=True)
class Review:
    """What one review of a customer did."""

    customer: str  # number
    overdue: Overdue
    level: int
    reminded: int | None  # the step's days, if a reminder was recorded
    suspended: tuple[str, ...]  # logins suspended now
    restored: tuple[str, ...]  # logins restored now


@dataclass(frozen=True, slots=True)
class DunningRun:
    on_date: date
    reviewed: int
    reminded: int
    suspended: int  # customers
    restored: int  # customers


@dataclass(frozen=True, slots=True)
class Case:
    customer: str
    name: str
    level: int
    suspended: bool
    opened_on: date
    overdue: Overdue


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    customer: str
    action: str
    step_days: int | None
    on_date: date
    days_overdue: int
    overdue_micros: int
    document: dict[str, Any]


# --- The policy ---


async def steps_of(conn: AsyncConnection) -> tuple[Step, ...]:
    rows = await conn.execute(select(dunning_steps).order_by(dunning_steps.c.days))
    return tuple(Step(r.days, Action(r.action), r.min_overdue_micros) for r in rows)


async def set_steps(conn: AsyncConnection, steps: Sequence[Step]) -> tuple[Step, ...]:
    """Replace the tenant's dunning steps (none: dunning off). Cases keep their level, so
    a step already passed is not taken again; a new step later than a case's level is."""
    checked = check_steps(steps)
    before = await steps_of(conn)
    await conn.execute(delete(dunning_steps))
    if checked:
        await conn.execute(
            insert(dunning_steps),
            [{"days": s.days, "action": s.action.value, "min_overdue_micros": s.min_overdue_micros} for s in checked],
        )
    before_json, after_json = [_step_json(s) for s in before], [_step_json(s) for s in checked]
    await audit.record(conn, "billing.dunning.steps", "dunning", before=before_json, after=after_json)
    return checked


def _step_json(step: Step) -> dict[str, Any]:
    return {"days": step.days, "action": step.action.value, "min_overdue_micros": step.min_overdue_micros}


# --- What is overdue ---


def _open() -> Any:
    return invoices.c.gross_micros > invoices.c.paid_micros + invoices.c.credited_micros


async def _overdue_invoices(conn: AsyncConnection, customer_id: int, today: date) -> list[Any]:
    return list(
        await conn.execute(
            select(
                invoices.c.number,
                invoices.c.currency,
                invoices.c.due_date,
                (invoices.c.gross_micros - invoices.c.paid_micros - invoices.c.credited_micros).label("open_micros"),
            )
            .where(invoices.c.customer_id == customer_id, invoices.c.due_date < today, _open())
            .order_by(invoices.c.due_date, invoices.c.seq)
        )
    )


def _overdue(rows: Sequence[Any], today: date) -> Overdue:
    if not rows:
        return Overdue(0, 0)
    return Overdue((today - rows[0].due_date).days, sum(r.open_micros for r in rows))


# --- Acting on one customer ---


async def review_customer(
    conn: AsyncConnection,
    customer_id: int,
    today: date,
    *,
    escalate: bool = True,
    steps: tuple[Step, ...] | None = None,
) -> Review | None:
    """Take the steps due for `customer_id` on `today` (see the module docstring); None
    when there is nothing to do (no case and nothing that calls for one)."""
    if not escalate and not await _has_case(conn, customer_id):
        return None  # most payments: the customer is not in dunning
    # The customer's row is locked first, as payments lock it, so the two never deadlock.
    owner = await _locked_customer(conn, customer_id)
    case = (
        await conn.execute(select(dunning_cases).where(dunning_cases.c.customer_id == customer_id).with_for_update())
    ).first()
    if case is None and not escalate:
        return None
    policy = await steps_of(conn) if steps is None else steps
    rows = await _overdue_invoices(conn, customer_id, today)
    overdue = _overdue(rows, today)
    level, suspended = (case.level, case.suspended) if case is not None else (0, False)
    decision = decide(policy, overdue, level, suspended, escalate=escalate)
    if case is None and decision.level == 0:
        return None
    document = _document(owner, rows, overdue)
    reminded = None
    if decision.remind is not None:
        await _event(conn, owner, "remind", decision.remind.days, today, overdue, document)
        reminded = decision.remind.days
    stopped: tuple[str, ...] = ()
    if decision.suspend is not None:
        stopped = await _suspend(conn, owner)
        await _event(conn, owner, "suspend", decision.suspend.days, today, overdue, document | {"services": stopped})
    started: tuple[str, ...] = ()
    if decision.restore:
        started = await _restore(conn, owner)
        await _event(conn, owner, "restore", None, today, overdue, document | {"services": started})
    await _keep_case(conn, customer_id, decision, suspended, today, exists=case is not None)
    return Review(owner.number, overdue, decision.level, reminded, stopped, started)


async def _has_case(conn: AsyncConnection, customer_id: int) -> bool:
    query = select(dunning_cases.c.customer_id).where(dunning_cases.c.customer_id == customer_id)
    return (await conn.execute(query)).first() is not None


@dataclass(frozen=True, slots=True)
class _Owner:
    id: int
    number: str
    name: str
    email: str


async def _locked_customer(conn: AsyncConnection, customer_id: int) -> _Owner:
    """The customer's row, locked (the row `get_customer(for_update=True)` locks)."""
    row = (
        await conn.execute(
            select(customers.c.id, customers.c.customer_number, customers.c.name, customers.c.email)
            .where(customers.c.id == customer_id)
            .with_for_update()
        )
    ).one()
    return _Owner(row.id, row.customer_number, row.name, row.email)


def _document(owner: _Owner, rows: Sequence[Any], overdue: Overdue) -> dict[str, Any]:
    return {
        "customer": owner.number,
        "name": owner.name,
        "email": owner.email,
        "currency": rows[0].currency if rows else None,
        "days_overdue": overdue.days,
        "overdue_micros": overdue.micros,
        "invoices": [
            {"number": r.number, "due_date": r.due_date.isoformat(), "open_micros": r.open_micros} for r in rows
        ],
    }


async def _event(
    conn: AsyncConnection,
    owner: _Owner,
    action: str,
    step_days: int | None,
    today: date,
    overdue: Overdue,
    document: dict[str, Any],
) -> None:
    await conn.execute(
        insert(dunning_events).values(
            customer_id=owner.id,
            action=action,
            step_days=step_days,
            on_date=today,
            days_overdue=overdue.days,
            overdue_micros=overdue.micros,
            document=document,
        )
    )
    await audit.record(
        conn,
        f"billing.dunning.{action}",
        f"customer:{owner.number}",
        step_days=step_days,
        days_overdue=overdue.days,
        overdue_micros=overdue.micros,
        services=document.get("services"),
    )


async def _suspend(conn: AsyncConnection, owner: _Owner) -> tuple[str, ...]:
    rows = (
        await conn.execute(
            select(services.c.id, services.c.login)
            .where(services.c.customer_id == owner.id, services.c.state == ServiceState.ACTIVE.value)
            .order_by(services.c.id)
        )
    ).all()
    for row in rows:
        await change_service_state(conn, row.id, ServiceState.SUSPENDED)
        await conn.execute(
            pg_insert(dunning_suspensions).values(service_id=row.id, customer_id=owner.id).on_conflict_do_nothing()
        )
    return tuple(r.login for r in rows)


async def _restore(conn: AsyncConnection, owner: _Owner) -> tuple[str, ...]:
    rows = (
        await conn.execute(
            delete(dunning_suspensions)
            .where(dunning_suspensions.c.customer_id == owner.id)
            .returning(dunning_suspensions.c.service_id)
        )
    ).scalars()
    restored = []
    for service_id in sorted(rows):
        state, login = (
            await conn.execute(select(services.c.state, services.c.login).where(services.c.id == service_id))
        ).one()
        if state == ServiceState.SUSPENDED.value:  # staff may have cancelled or resumed it meanwhile
            await change_service_state(conn, service_id, ServiceState.ACTIVE)
            restored.append(login)
    return tuple(restored)


async def _keep_case(
    conn: AsyncConnection, customer_id: int, decision: Decision, was_suspended: bool, today: date, *, exists: bool
) -> None:
    suspended = (was_suspended or decision.suspend is not None) and not decision.restore
    if decision.level == 0 and not suspended:
        await conn.execute(delete(dunning_cases).where(dunning_cases.c.customer_id == customer_id))
    elif exists:
        await conn.execute(
            update(dunning_cases)
            .where(dunning_cases.c.customer_id == customer_id)
            .values(level=decision.level, suspended=suspended, updated_at=func.now())
        )
    else:
        await conn.execute(
            insert(dunning_cases).values(
                customer_id=customer_id, level=decision.level, suspended=suspended, opened_on=today
            )
        )


# --- The daily run ---


async def _candidates(conn: AsyncConnection, today: date, after: int, limit: int) -> list[int]:
    """Customers with an invoice past due and open, or with a case; by id, after `after`."""
    overdue = select(invoices.c.customer_id.label("id")).where(invoices.c.due_date < today, _open())
    cased = select(dunning_cases.c.customer_id.label("id"))
    both = overdue.union(cased).subquery()
    return list(
        (await conn.execute(select(both.c.id).where(both.c.id > after).order_by(both.c.id).limit(limit))).scalars()
    )


async def _standing(conn: AsyncConnection, ids: list[int], today: date) -> dict[int, tuple[Overdue, int, bool]]:
    """Each customer's overdue amount and days, case level and suspension, in two
    statements (for the run to skip those with nothing to do without locking them)."""
    open_micros = func.sum(invoices.c.gross_micros - invoices.c.paid_micros - invoices.c.credited_micros)
    late = {
        row.customer_id: Overdue((today - row.oldest).days, int(row.micros))
        for row in await conn.execute(
            select(invoices.c.customer_id, func.min(invoices.c.due_date).label("oldest"), open_micros.label("micros"))
            .where(invoices.c.customer_id.in_(ids), invoices.c.due_date < today, _open())
            .group_by(invoices.c.customer_id)
        )
    }
    cases = {
        row.customer_id: (row.level, row.suspended)
        for row in await conn.execute(select(dunning_cases).where(dunning_cases.c.customer_id.in_(ids)))
    }
    return {i: (late.get(i, Overdue(0, 0)), *cases.get(i, (0, False))) for i in ids}


def _changes(decision: Decision, level: int, suspended: bool) -> bool:
    return (
        decision.level != level
        or decision.remind is not None
        or decision.suspend is not None
        or decision.restore
        or (decision.level == 0 and suspended)
    )


async def run_dunning(unit: Unit, today: date, *, batch_size: int = DEFAULT_BATCH) -> DunningRun:
    """Review every customer with something overdue or a case open, `batch_size` customers
    per transaction. Safe to run again on the same day: a step is taken once per case.
    A customer whose case already stands where it should is skipped unlocked; the others
    are reviewed under lock, from a fresh read (a payment may have come in between)."""
    reviewed = reminded = suspended = restored = 0
    after = 0
    while True:
        async with unit() as conn:
            policy = await steps_of(conn)
            chosen = await _candidates(conn, today, after, batch_size)
            standing = await _standing(conn, chosen, today) if chosen else {}
            for customer_id in chosen:
                reviewed += 1
                overdue, level, was_suspended = standing[customer_id]
                if not _changes(decide(policy, overdue, level, was_suspended, escalate=True), level, was_suspended):
                    continue
                review = await review_customer(conn, customer_id, today, steps=policy)
                if review is not None:
                    reminded += review.reminded is not None
                    suspended += bool(review.suspended)
                    restored += bool(review.restored)
        if len(chosen) < batch_size:
            return DunningRun(today, reviewed, reminded, suspended, restored)
        after = chosen[-1]


# --- Reading cases and events ---


async def open_cases(conn: AsyncConnection, today: date, *, limit: int = 100) -> list[Case]:
    """Customers in dunning, the furthest along first, with what is overdue on `today`."""
    rows = (
        await conn.execute(
            select(dunning_cases, customers.c.customer_number, customers.c.name)
            .join(customers, customers.c.id == dunning_cases.c.customer_id)
            .order_by(dunning_cases.c.level.desc(), dunning_cases.c.customer_id)
            .limit(min(max(limit, 1), MAX_LISTED))
        )
    ).all()
    standing = await _standing(conn, [row.customer_id for row in rows], today) if rows else {}
    return [
        Case(row.customer_number, row.name, row.level, row.suspended, row.opened_on, standing[row.customer_id][0])
        for row in rows
    ]


async def events_of(conn: AsyncConnection, *, customer_id: int | None = None, limit: int = 100) -> list[Event]:
    """Dunning events, newest first; of one customer when `customer_id` is given."""
    query = (
        select(dunning_events, customers.c.customer_number)
        .join(customers, customers.c.id == dunning_events.c.customer_id)
        .order_by(dunning_events.c.id.desc())
        .limit(min(max(limit, 1), MAX_LISTED))
    )
    if customer_id is not None:
        query = query.where(dunning_events.c.customer_id == customer_id)
    return [
        Event(r.id, r.customer_number, r.action, r.step_days, r.on_date, r.days_overdue, r.overdue_micros, r.document)
        for r in await conn.execute(query)
    ]
