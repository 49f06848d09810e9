"""Authorising many logins of one tenant in one transaction, set at a time.

The RADIUS server gathers the Access-Requests of a tenant that arrive within a few
milliseconds and hands them here together. Whatever their number, the transaction reads
and locks in a fixed handful of statements: the logins with their owners and plans (one
query, rows locked in id order), the main balance rows of the prepaid accounts (one
locked read), the services' usage this period (one upsert), the sessions (one insert)
and the ledger entries (one batch). The decisions are taken here in arrival order over
the locked rows, so two logins of one account in a batch see each other's reservations
and live sessions exactly as if they had come one after the other.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Text,
    any_,
    bindparam,
    case,
    func,
    insert,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from bureau.platform.rating.charge import affordable_quantity

from ..billing.period import month_of
from ..catalog.radius import RadiusOptions
from ..catalog.tables import plans
from ..catalog.versions import PlanVersion, plan_version_at
from ..db import direct
from ..db.arrays import id_array, row_params, unnest_rows
from ..ledger.posting import post_entries
from ..ledger.rules import MAX_BATCH, NewEntry
from ..ledger.tables import account_balances
from ..subscribers.services import ServiceState
from ..subscribers.tables import services
from . import control as c
from .tables import radius_sessions


@dataclass(frozen=True, slots=True)
class LoginContext:
    """Everything authorisation needs of one RADIUS login, read in one locked query."""

    service_id: int
    kind: str
    login: str
    state: ServiceState
    password_secret: bytes | None
    owner: c.Owner
    options: RadiusOptions
    live: int  # live sessions of the service now (an Accept without Start counts for a while)


def _context_query() -> Any:
    """Logins with owner, plan and live sessions; `since` is when an Accept without a Start
    stops counting as a live session."""
    live = (
        select(func.count())
        .select_from(radius_sessions)
        .where(
            radius_sessions.c.service_id == services.c.id,
            radius_sessions.c.state.in_([literal_column("'authorized'"), literal_column("'open'")]),
            (radius_sessions.c.state == "open")
            | (radius_sessions.c.authorized_at > bindparam("since", type_=DateTime(timezone=True))),
        )
        .scalar_subquery()
    )
    return c.owner_query(
        services.c.id,
        services.c.kind,
        services.c.login,
        services.c.state,
        services.c.password_secret,
        plans.c.radius_attributes,
        plans.c.max_sessions,
        plans.c.interim_interval,
        live.label("live"),
    )


_RADIUS_LOGIN = services.c.kind == literal_column("'radius_login'")
_by_logins = services.c.login == any_(bindparam("logins", type_=ARRAY(Text)))
_lock_logins = select(services.c.id).where(_RADIUS_LOGIN, _by_logins).order_by(services.c.id).with_for_update()
_contexts = _context_query().where(_RADIUS_LOGIN, _by_logins).order_by(services.c.id)


_NEW_SESSION_ROW = {
    "service_id": BigInteger,
    "nas_id": BigInteger,
    "login": Text,
    "prepaid": Boolean,
    "plan_id": BigInteger,
    "reserved": BigInteger,
}


def _new_sessions() -> Any:
    """INSERT of the accepted logins' sessions. The rows are inserted in the order given
    (ORDER BY the ordinality), so the identity draws their ids in that order: the ids
    returned, sorted, are the sessions of the logins in order."""
    rows = unnest_rows("r", "n_", _NEW_SESSION_ROW, ordinality="n")
    columns = ["service_id", "nas_id", "login", "prepaid", "plan_id", "period_start", "authorized_at"]
    columns += ["reserved_micros", "reservations"]
    return (
        insert(radius_sessions)
        .from_select(
            columns,
            select(
                rows.c.service_id,
                rows.c.nas_id,
                rows.c.login,
                rows.c.prepaid,
                rows.c.plan_id,
                bindparam("period", type_=Date),
                bindparam("now", type_=DateTime(timezone=True)),
                rows.c.reserved,
                case((rows.c.reserved > 0, 1), else_=0),
            ).order_by(rows.c.n),
        )
        .returning(radius_sessions.c.id)
    )


_insert_sessions = _new_sessions()


async def _lock(conn: AsyncConnection, chosen: Any) -> None:
    """Lock the chosen service rows (in id order) before they are read with their owner and
    plan: FOR UPDATE on that join would drop a row whose plan changed meanwhile."""
    await conn.execute(select(services.c.id).where(chosen).order_by(services.c.id).with_for_update())


def _context(row: Mapping[str, Any]) -> LoginContext:
    """From a row's `_mapping` or a driver record."""
    options = RadiusOptions(dict(row["radius_attributes"]), row["max_sessions"], row["interim_interval"])
    return LoginContext(
        row["id"],
        row["kind"],
        row["login"],
        ServiceState(row["state"]),
        row["password_secret"],
        c.owner_from_row(row),
        options,
        row["live"],
    )


async def login_context(conn: AsyncConnection, login: str, *, now: datetime) -> LoginContext | None:
    """The RADIUS login `login` (realm matched in any case) with its owner, plan and live
    sessions; the service row stays locked until the transaction ends. None if unknown."""
    return (await login_contexts(conn, [login], now=now)).get(stored_login(login))


async def login_contexts(conn: AsyncConnection, logins: Sequence[str], *, now: datetime) -> dict[str, LoginContext]:
    """`login_context` for many logins in one query (rows locked in id order), by the login
    as stored (realm in lower case)."""
    keys = sorted({stored_login(login) for login in logins})
    await direct.fetch(conn, _lock_logins, {"logins": keys})
    rows = await direct.fetch(conn, _contexts, {"logins": keys, "since": now - c.AUTHORIZED_TTL})
    return {row["login"]: _context(row) for row in rows}


def stored_login(login: str) -> str:
    """A RADIUS login as stored: the realm in lower case."""
    user, at, realm = login.rpartition("@")
    return f"{user}@{realm.lower()}" if at else login


async def authorize(
    conn: AsyncConnection,
    service_id: int,
    nas_id: int,
    *,
    now: datetime | None = None,
    reservation_micros: int = c.DEFAULT_RESERVATION,
    max_sessions: int | None = None,
) -> c.Authorization:
    """Decide on a session for an authenticated service (see module docstring).

    `max_sessions` overrides the plan's sessions-at-once limit.
    """
    when = now or datetime.now(UTC)
    await _lock(conn, services.c.id == service_id)
    query = _context_query().where(services.c.id == service_id)
    row = (await conn.execute(query, {"since": when - c.AUTHORIZED_TTL})).one()
    return await authorize_login(
        conn,
        _context(dict(row._mapping)),
        nas_id,
        now=when,
        reservation_micros=reservation_micros,
        max_sessions=max_sessions,
    )


async def authorize_login(
    conn: AsyncConnection,
    context: LoginContext,
    nas_id: int,
    *,
    now: datetime,
    reservation_micros: int = c.DEFAULT_RESERVATION,
    max_sessions: int | None = None,
) -> c.Authorization:
    """`authorize` for a login whose context (and lock) the caller already holds."""
    (decision,) = await authorize_logins(
        conn,
        [LoginRequest(context, nas_id)],
        now=now,
        reservation_micros=reservation_micros,
        max_sessions=max_sessions,
    )
    return decision


@dataclass(frozen=True, slots=True)
class LoginRequest:
    context: LoginContext
    nas_id: int


async def _owed(conn: AsyncConnection, account_ids: list[int]) -> dict[int, int]:
    if not account_ids:
        return {}
    rows = await conn.execute(
        select(account_balances.c.account_id, func.sum(account_balances.c.balance))
        .where(account_balances.c.account_id == any_(id_array("ids")))
        .group_by(account_balances.c.account_id),
        {"ids": account_ids},
    )
    return {row[0]: int(row[1]) for row in rows}


def _credit_limited(owner: c.Owner) -> bool:
    return not owner.prepaid and owner.credit_limit_micros > 0


async def authorize_logins(
    conn: AsyncConnection,
    requests: Sequence[LoginRequest],
    *,
    now: datetime,
    reservation_micros: int = c.DEFAULT_RESERVATION,
    max_sessions: int | None = None,
) -> list[c.Authorization]:
    """Decide on each login (see module docstring); results in the order of `requests`."""
    results: list[c.Authorization | None] = [None] * len(requests)
    pending: list[int] = []
    for index, request in enumerate(requests):
        context, owner = request.context, request.context.owner
        if context.state is not ServiceState.ACTIVE:
            results[index] = c.Authorization(
                False, f"Your service is {context.state.value}; please contact customer care."
            )
        elif owner.status != "active":
            results[index] = c.Authorization(False, f"Your account is {owner.status}; please contact customer care.")
        else:
            pending.append(index)
    tenant = c.tenant_key(conn)
    versions: dict[str, PlanVersion] = {}
    for index in pending:
        code = requests[index].context.owner.plan_code
        if code not in versions:
            versions[code] = await c.current_versions.get(
                (tenant, code),
                lambda code=code: plan_version_at(conn, code, now),  # type: ignore[misc]
            )
    ids = await c.account_ids(conn, {requests[i].context.owner.entity_id for i in pending})
    prepaid = [i for i in pending if requests[i].context.owner.prepaid]
    period = month_of(now.astimezone(UTC).date())
    timed = [i for i in prepaid if c.time_rate(versions[requests[i].context.owner.plan_code].rates) is not None]
    mains, usages = await c.balances_and_usage(
        conn,
        {ids[requests[i].context.owner.entity_id]["1000"] for i in prepaid},
        {(requests[i].context.service_id, period.start) for i in timed},
    )
    usage = {service: used for (service, _), used in usages.items()}
    limited = [
        i
        for i in pending
        if not requests[i].context.owner.prepaid and requests[i].context.owner.credit_limit_micros > 0
    ]
    owed = await _owed(conn, [ids[requests[i].context.owner.entity_id]["1100"] for i in limited])

    live: Counter[int] = Counter()
    accepted: list[tuple[int, int, int | None]] = []  # (index, reserved, session timeout)
    for index in pending:
        context = requests[index].context
        owner, options = context.owner, context.options
        limit = max_sessions if max_sessions is not None else options.max_sessions
        online = context.live + live[context.service_id]
        if online >= limit:
            results[index] = c.Authorization(False, f"Already {online} session(s) online; at most {limit} at a time.")
            continue
        account = ids[owner.entity_id]
        reserve, timeout = 0, None
        if owner.prepaid:
            balance = mains[account["1000"]]
            if balance <= 0:
                results[index] = c.Authorization(False, "Your prepaid balance is used up; please top up.")
                continue
            reserve = min(balance, reservation_micros)
            version = versions[owner.plan_code]
            rate = c.time_rate(version.rates)
            if rate is not None:
                tax_class = next(component.tax_class for component in version.components if component.rate == rate)
                parts = await c.tax_parts(conn, owner, tax_class, now)
                exclusive = sum(p.rate_bp for p in parts if not p.inclusive)
                budget = reserve * c.BASIS_POINTS // (c.BASIS_POINTS + exclusive)  # what is left after the tax
                timeout = affordable_quantity(rate, usage[context.service_id].seconds, budget)
                if timeout <= 0:
                    results[index] = c.Authorization(
                        False, "Your prepaid balance is too low for a session; please top up."
                    )
                    continue
            mains[account["1000"]] = balance - reserve
        elif index in limited and owed.get(account["1100"], 0) >= owner.credit_limit_micros:
            results[index] = c.Authorization(False, "Your credit limit is reached; please pay your open invoices.")
            continue
        live[context.service_id] += 1
        accepted.append((index, reserve, timeout))

    if accepted:
        chosen = [requests[i] for i, _, _ in accepted]
        made = await direct.fetch(
            conn,
            _insert_sessions,
            {
                "period": period.start,
                "now": now,
                **row_params(
                    "n_",
                    _NEW_SESSION_ROW,
                    [
                        (
                            r.context.service_id,
                            r.nas_id,
                            r.context.login,
                            r.context.owner.prepaid,
                            r.context.owner.plan_id,
                            reserve,
                        )
                        for r, (_, reserve, _) in zip(chosen, accepted, strict=True)
                    ],
                ),
            },
        )
        session_ids = sorted(row[0] for row in made)  # drawn in the rows' order: see _new_sessions
        entries: list[NewEntry] = []
        for (index, reserve, timeout), session_id in zip(accepted, session_ids, strict=True):
            owner, options = requests[index].context.owner, requests[index].context.options
            book = {key: (value, 0) for key, value in ids[owner.entity_id].items()}
            entries.append(c.count_entry(session_id, book, +1))
            if reserve:
                entries.append(c.reserve_entry(session_id, 1, book, reserve, owner.currency))
            results[index] = c.Authorization(
                True, None, session_id, timeout, reserve, options.attributes, options.interim_interval
            )
        for first in range(0, len(entries), MAX_BATCH):
            await post_entries(conn, entries[first : first + MAX_BATCH])
    done = [result for result in results if result is not None]
    if len(done) != len(results):  # pragma: no cover - every branch above sets one
        raise RuntimeError("a login was left without a decision")
    return done
