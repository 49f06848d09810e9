"""Applying many Accounting-Requests of one tenant in one transaction, set at a time.

The rules are `control.py`'s (cumulative counters, charge = rate(before + new) -
rate(before), reservations topped up, disconnect when funds are gone, Stop releases and
uncounts). Here they run over a batch: the live sessions the requests name are read and
locked in one query, their owners in another, the prepaid main balances locked in one,
the period usage made and locked in one; then each request is decided in arrival order
over that state in memory (two requests for one session, or for one account, see each
other), and everything is written back in a handful of statements: the ledger entries
in one batch, the sessions, the usage, the usage records and the stored packets each in
one. Rare cases (a session never seen, a report for a closed session) take a query or
two of their own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    Integer,
    Text,
    any_,
    bindparam,
    cast,
    func,
    insert,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from bureau.platform.money import divide_half_even
from bureau.platform.rating.charge import rate_usage
from bureau.platform.rating.usage import Usage

from ..billing.tables import usage_records
from ..catalog.tables import plans
from ..db import direct
from ..db.arrays import id_array, row_params, unnest_rows
from ..ledger.posting import post_entries
from ..ledger.rules import MAX_BATCH, NewEntry
from ..subscribers.tables import services
from . import control as c
from .tables import accounting_packets, radius_sessions, service_usage


@dataclass(frozen=True, slots=True)
class AccountingRequest:
    nas_id: int
    report: c.Report
    received_at: datetime


@dataclass
class _Session:
    """A session's row, changed in memory while the batch is decided."""

    id: int
    service_id: int
    nas_id: int
    state: str
    acct_session_id: str | None
    prepaid: bool
    plan_id: int
    period_start: date
    authorized_at: datetime
    started_at: datetime | None
    updated_at: datetime | None
    stopped_at: datetime | None
    seconds: int
    octets_in: int
    octets_out: int
    charged_micros: int
    reserved_micros: int
    unpaid_micros: int
    charges: int
    reservations: int
    terminate_cause: str | None
    disconnect_requested_at: datetime | None
    touched: bool = field(default=False)


_COLUMNS = [f.name for f in fields(_Session) if f.name != "touched"]
_WRITTEN = [
    name
    for name in _COLUMNS
    if name not in ("id", "service_id", "nas_id", "prepaid", "plan_id", "period_start", "authorized_at")
]


def _session(row: Sequence[Any]) -> _Session:
    """From a row of `_SESSION_COLUMNS` (in `_COLUMNS`' order)."""
    return _Session(*row[: len(_COLUMNS)])


_SESSION_COLUMNS = [radius_sessions.c[name] for name in _COLUMNS]


_PAIR_ROW = {"nas_id": BigInteger, "acct_session_id": Text}


def _live_sessions() -> Any:
    """The sessions named by id (`refs`, from a Class) or by (NAS, Acct-Session-Id),
    locked in id order; the caller keeps the live ones.

    The ids are found first, each by an index lookup driven from the request's values (a
    LATERAL subquery per pair), and collected into an array computed once; the sessions
    are then read by primary key. Nothing filters on the state in SQL: written as a join,
    `IN (subquery)` or with the live state, the plan PostgreSQL keeps for the prepared
    statement can start from the live sessions (few when it was planned: its partial
    index) and probe the request's values for each of them, thousands of times a batch.
    """
    by_ref = radius_sessions.alias("r")
    by_pair = radius_sessions.alias("q")
    pairs = unnest_rows("p", "p_", _PAIR_ROW)
    found = (
        select(by_pair.c.id)
        .where(
            by_pair.c.nas_id == pairs.c.nas_id,
            by_pair.c.acct_session_id == pairs.c.acct_session_id,
        )
        .lateral("f")
    )
    named = union_all(
        select(by_ref.c.id).where(by_ref.c.id == any_(id_array("refs"))),
        select(found.c.id).select_from(pairs.join(found, true())),
    )
    session_plan = plans.alias("sp")
    session_plan_code = (
        select(session_plan.c.code).where(session_plan.c.id == radius_sessions.c.plan_id).scalar_subquery()
    )
    # With each session its owner (`control.owner_query`'s columns) and the code of the
    # plan it was authorised on: one round trip instead of three. Only the session rows
    # are locked.
    return (
        c.owner_query(*_SESSION_COLUMNS, session_plan_code.label("session_plan_code"))
        .join(radius_sessions, radius_sessions.c.service_id == services.c.id)
        .where(radius_sessions.c.id == any_(func.array(named.scalar_subquery())))
        .order_by(radius_sessions.c.id)
        .with_for_update(of=radius_sessions)
    )


_live_query = _live_sessions()
_last_closed = (
    select(*_SESSION_COLUMNS)
    .where(
        radius_sessions.c.nas_id == bindparam("nas_id", type_=BigInteger),
        radius_sessions.c.acct_session_id == bindparam("acct_session_id", type_=Text),
    )
    .order_by(radius_sessions.c.id.desc())
    .limit(1)
    .with_for_update()
)
_one_session = (
    select(*_SESSION_COLUMNS).where(radius_sessions.c.id == bindparam("id", type_=BigInteger)).with_for_update()
)
_plan_codes_of = select(plans.c.id, plans.c.code).where(plans.c.id == any_(id_array("ids")))


async def _plan_codes(conn: AsyncConnection, plan_ids: set[int]) -> dict[int, str]:
    if not plan_ids:
        return {}
    return {row[0]: row[1] for row in await direct.fetch(conn, _plan_codes_of, {"ids": sorted(plan_ids)})}


async def account(conn: AsyncConnection, nas_id: int, report: c.Report, *, received_at: datetime) -> c.Accounted:
    """Apply one Start, Interim-Update or Stop and store the packet (`control`'s rules)."""
    (result,) = await account_many(conn, [AccountingRequest(nas_id, report, received_at)])
    return result


async def account_many(conn: AsyncConnection, requests: Sequence[AccountingRequest]) -> list[c.Accounted]:
    """Apply Start, Interim-Update and Stop reports in order, and store every packet."""
    live = await direct.fetch(
        conn,
        _live_query,
        {
            "refs": sorted({r.report.session_ref for r in requests if r.report.session_ref}),
            **row_params("p_", _PAIR_ROW, [(r.nas_id, r.report.acct_session_id) for r in requests]),
        },
    )
    by_id = {row[0]: _session(row) for row in live if row[3] in c.LIVE}
    known_owners = {row["service_id"]: c.owner_from_row(row) for row in live}
    known_codes = {row["plan_id"]: row["session_plan_code"] for row in live}
    by_pair: dict[tuple[int, str | None], _Session] = {
        (s.nas_id, s.acct_session_id): s for s in by_id.values() if s.acct_session_id is not None
    }
    chosen: list[_Session | None] = []
    for request in requests:
        found = await _resolve(conn, request, by_id, by_pair)
        chosen.append(found)
    sessions = {s.id: s for s in chosen if s is not None and s.state in c.LIVE}
    owners = known_owners | await c.owners(conn, {s.service_id for s in sessions.values()} - known_owners.keys())
    codes = known_codes | await _plan_codes(conn, {s.plan_id for s in sessions.values()} - known_codes.keys())
    books = await c.account_ids(conn, {owners[s.service_id].entity_id for s in sessions.values()})
    mains, usage = await c.balances_and_usage(
        conn,
        {books[owners[s.service_id].entity_id]["1000"] for s in sessions.values() if owners[s.service_id].prepaid},
        {(s.service_id, s.period_start) for s in sessions.values()},
    )

    results: list[c.Accounted] = []
    entries_of: list[list[NewEntry]] = []
    usage_rows: list[tuple[Any, ...]] = []
    usage_added: dict[tuple[int, date], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for request, session in zip(requests, chosen, strict=True):
        report = request.report
        if session is None:
            results.append(c.Accounted(None, "unknown_login"))
            entries_of.append([])
            continue
        if session.state not in c.LIVE:
            results.append(c.Accounted(session.id, "after_stop"))
            entries_of.append([])
            continue
        owner = owners[session.service_id]
        code = codes[session.plan_id]
        version = await c.version_at(conn, code, session.authorized_at)
        book = {key: (value, 0) for key, value in books[owner.entity_id].items()}
        main_id = books[owner.entity_id]["1000"]
        entries: list[NewEntry] = []
        seconds = max(session.seconds, report.seconds)
        octets_in = max(session.octets_in, report.octets_in)
        octets_out = max(session.octets_out, report.octets_out)
        delta = Usage(seconds - session.seconds, octets_in - session.octets_in, octets_out - session.octets_out)
        key = (session.service_id, session.period_start)
        paid = unpaid = 0
        exhausted = False
        if delta != Usage():
            rated = rate_usage(version.rates, usage[key], delta)
            charge, tax = rated.charge_micros, 0
            if owner.prepaid and charge:
                charge, tax = await c.with_tax(conn, owner, version, rated, report.event_time)
            if owner.prepaid:
                main = mains[main_id]
                if charge > session.reserved_micros:
                    top = min(main, charge - session.reserved_micros + c.DEFAULT_RESERVATION)
                    if top:
                        session.reservations += 1
                        entries.append(c.reserve_entry(session.id, session.reservations, book, top, owner.currency))
                        session.reserved_micros += top
                        main -= top
                paid = min(charge, session.reserved_micros)
                unpaid = charge - paid
                if paid:
                    tax_paid = divide_half_even(tax * paid, charge) if charge else 0
                    session.charges += 1
                    entries.append(c.charge_entry(session.id, session.charges, book, paid, tax_paid, owner.currency))
                    session.reserved_micros -= paid
                if session.reserved_micros < c.DEFAULT_RESERVATION // 2 and main > 0:
                    top = min(main, c.DEFAULT_RESERVATION - session.reserved_micros)
                    session.reservations += 1
                    entries.append(c.reserve_entry(session.id, session.reservations, book, top, owner.currency))
                    session.reserved_micros += top
                    main -= top
                mains[main_id] = main
                exhausted = session.reserved_micros == 0 and main == 0
            else:
                source = f"session:{session.id}:{seconds}:{octets_in}:{octets_out}"
                usage_rows.append(
                    (session.service_id, source, report.event_time, delta.seconds, delta.octets_in, delta.octets_out)
                )
            usage[key] = usage[key] + delta
            added = usage_added[key]
            added[0] += delta.seconds
            added[1] += delta.octets_in
            added[2] += delta.octets_out
            added[3] += paid
        elif owner.prepaid:
            exhausted = session.reserved_micros == 0 and mains[main_id] == 0
        if session.acct_session_id is None:
            by_pair[(session.nas_id, report.acct_session_id)] = session
        session.acct_session_id = report.acct_session_id
        session.seconds, session.octets_in, session.octets_out = seconds, octets_in, octets_out
        session.updated_at = report.event_time
        session.state = "open"
        if session.started_at is None:
            session.started_at = report.event_time - timedelta(seconds=report.seconds)
        session.charged_micros += paid
        session.unpaid_micros += unpaid
        outcome = "started" if report.status is c.Status.START else "updated"
        if report.status is c.Status.STOP:
            outcome = "stopped"
            entries.extend(c.closing_entries(session.id, book, session.reserved_micros, owner.currency))
            if owner.prepaid:
                mains[main_id] += session.reserved_micros
            session.reserved_micros = 0
            session.state, session.stopped_at = "closed", report.event_time
            session.terminate_cause = report.terminate_cause
        # Out of funds, or the service was suspended or cancelled (dunning, staff) since the login.
        cut_off = (owner.prepaid and exhausted) or owner.service_state != "active"
        disconnect = bool(cut_off and report.status is not c.Status.STOP)
        if disconnect and session.disconnect_requested_at is None:
            session.disconnect_requested_at = report.event_time
        session.touched = True
        results.append(c.Accounted(session.id, outcome, paid, disconnect))
        entries_of.append(entries)

    posted = await _post(conn, entries_of)
    results = [
        c.Accounted(r.session_id, r.outcome, r.charged_micros, r.disconnect, ids)
        for r, ids in zip(results, posted, strict=True)
    ]
    touched = [s for s in {id(s): s for s in chosen if s is not None}.values() if s.touched]
    await _write(conn, touched, usage_added, requests, results)
    await _write_usage_records(conn, usage_rows)
    return results


async def _resolve(
    conn: AsyncConnection,
    request: AccountingRequest,
    by_id: dict[int, _Session],
    by_pair: dict[tuple[int, str | None], _Session],
) -> _Session | None:
    """The session a report is about (the rules of `control._find_session`)."""
    report = request.report
    if report.session_ref is not None:
        found = by_id.get(report.session_ref)
        if (
            found is not None
            and found.state in c.LIVE
            and found.nas_id == request.nas_id
            and found.acct_session_id in (None, report.acct_session_id)
        ):
            return found
    found = by_pair.get((request.nas_id, report.acct_session_id))
    if found is not None and found.state in c.LIVE:
        return found
    if report.status is not c.Status.START:
        closed = await direct.fetch(
            conn, _last_closed, {"nas_id": request.nas_id, "acct_session_id": report.acct_session_id}
        )
        if closed:
            return by_id.setdefault(closed[0][0], _session(closed[0]))
    opened = await c.open_unannounced(conn, request.nas_id, report)
    if opened is None:
        return None
    session = _session((await direct.fetch(conn, _one_session, {"id": opened}))[0])
    by_id[session.id] = session
    by_pair[(session.nas_id, session.acct_session_id)] = session
    return session


async def _post(conn: AsyncConnection, entries_of: list[list[NewEntry]]) -> list[tuple[int, ...]]:
    flat = [entry for entries in entries_of for entry in entries]
    ids: list[int] = []
    for first in range(0, len(flat), MAX_BATCH):
        ids.extend(posted.id for posted in await post_entries(conn, flat[first : first + MAX_BATCH]))
    out, at = [], 0
    for entries in entries_of:
        out.append(tuple(ids[at : at + len(entries)]))
        at += len(entries)
    return out


_SESSION_ROW = {"id": BigInteger, **{name: radius_sessions.c[name].type for name in _WRITTEN}}
_USAGE_ROW = {
    "service_id": BigInteger,
    "period_start": Date,
    "seconds": BigInteger,
    "octets_in": BigInteger,
    "octets_out": BigInteger,
    "paid": BigInteger,
}
_RECORD_ROW = {
    "service_id": BigInteger,
    "source": Text,
    "started_at": DateTime(timezone=True),
    "seconds": BigInteger,
    "octets_in": BigInteger,
    "octets_out": BigInteger,
}
_PACKET_ROW = {
    "session_id": BigInteger,
    "nas_id": BigInteger,
    "received_at": DateTime(timezone=True),
    "status_type": Integer,
    "acct_session_id": Text,
    "attributes": JSONB,
    "entry_ids": Text,  # each a bigint[] literal: arrays of arrays cannot be ragged
    "outcome": Text,
}


def _session_updates() -> Any:
    """UPDATE of the sessions bound as `s_` arrays, one element per session (`_WRITTEN`)."""
    rows = unnest_rows("u", "s_", _SESSION_ROW)
    return (
        update(radius_sessions)
        .where(radius_sessions.c.id == rows.c.id)
        .values({name: rows.c[name] for name in _WRITTEN})
        .returning(radius_sessions.c.id)
    )


def _usage_updates() -> Any:
    """UPDATE adding the `u_` arrays' usage to each (service, period)."""
    rows = unnest_rows("u", "u_", _USAGE_ROW)
    return (
        update(service_usage)
        .where(service_usage.c.service_id == rows.c.service_id, service_usage.c.period_start == rows.c.period_start)
        .values(
            seconds=service_usage.c.seconds + rows.c.seconds,
            octets_in=service_usage.c.octets_in + rows.c.octets_in,
            octets_out=service_usage.c.octets_out + rows.c.octets_out,
            charged_micros=service_usage.c.charged_micros + rows.c.paid,
        )
        .returning(service_usage.c.service_id)
    )


def _packet_inserts() -> Any:
    """INSERT of the stored packets bound as `k_` arrays."""
    rows = unnest_rows("k", "k_", _PACKET_ROW)
    return insert(accounting_packets).from_select(
        list(_PACKET_ROW),
        select(
            *[cast(rows.c[name], ARRAY(BigInteger)) if name == "entry_ids" else rows.c[name] for name in _PACKET_ROW]
        ),
    )


def _final_writes() -> Any:
    """The sessions' new state, the period usage added and the stored packets: one
    statement (data-modifying CTEs), one round trip."""
    return _packet_inserts().add_cte(_session_updates().cte("s"), _usage_updates().cte("w"))


_write_all = _final_writes()
_insert_usage_records = (
    pg_insert(usage_records)
    .from_select(list(_RECORD_ROW), select(*unnest_rows("r", "r_", _RECORD_ROW).c))
    .on_conflict_do_nothing(constraint="uq_usage_records_source")
)


async def _write(
    conn: AsyncConnection,
    touched: list[_Session],
    added: dict[tuple[int, date], list[int]],
    requests: Sequence[AccountingRequest],
    results: Sequence[c.Accounted],
) -> None:
    sessions = sorted(touched, key=lambda s: s.id)
    params = row_params("s_", _SESSION_ROW, [(s.id, *(getattr(s, name) for name in _WRITTEN)) for s in sessions])
    params |= row_params("u_", _USAGE_ROW, [(service, period, *v) for (service, period), v in sorted(added.items())])
    packets = [
        (
            result.session_id,
            request.nas_id,
            request.received_at,
            int(request.report.status),
            request.report.acct_session_id,
            dict(request.report.attributes),
            "{" + ",".join(map(str, result.entry_ids)) + "}",
            result.outcome,
        )
        for request, result in zip(requests, results, strict=True)
    ]
    params |= row_params("k_", _PACKET_ROW, packets)
    await direct.fetch(conn, _write_all, params)


async def _write_usage_records(conn: AsyncConnection, rows: list[tuple[Any, ...]]) -> None:
    """Post-paid usage, one record per new counter state (in `_RECORD_ROW`'s order)."""
    if rows:
        await direct.fetch(conn, _insert_usage_records, row_params("r_", _RECORD_ROW, rows))
