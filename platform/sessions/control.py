"""The session control function: authorise, account, close (DESIGN.md §3 "Sessions").

The rules are stated here. Authorising lives in `authorize.py` and accounting in
`accounting.py`, both set at a time over a batch of requests; this module holds what
they share (the session's accounts and entries, caches, tax) and closing (by NAS, by the
reaper, by an administrator).

**Authorise** (an Access-Request that passed authentication). The service must be
active and under its session limit. A prepaid account reserves funds: up to
`reservation_micros` moves from 1000 Main balance to 1010 Reserve, and the answer's
Session-Timeout is what the reservation buys at the plan's time rate; no funds, no
session. A post-paid account is checked against its credit limit (0: none). The session
is counted on the subscriber's 8000 (paired with the ISP's 8900) at once, so a second
login between Accept and Start already sees it. The service row is locked for the
decision, and the account's balance row by the reservation itself, so concurrent
logins can never reserve more than the balance.

**Account** (Start, Interim-Update, Stop). Counters are cumulative; what is charged is
`rate(period usage before + new usage) - rate(period usage before)` on the difference
between the new counters and the highest ones already seen for the session, so a
retransmission, a duplicate with a new identifier or an Interim-Update that arrives
late charges nothing twice. Prepaid charges come out of the reservation, which is topped
up from the main balance when it runs short; when both are empty the session is marked
for a Disconnect-Request and whatever could not be paid is recorded on the session
(never taken below zero). A session whose service was suspended or cancelled since the
login (by dunning or by staff) is marked for a Disconnect-Request at its next report.
Post-paid usage is kept in `usage_records`, one record per new counter state, and
billed at month-end. Stop charges the final difference, releases what
is left of the reservation and uncounts the session; anything after Stop is acknowledged
and ignored; an Interim-Update or Stop for a session never seen opens it first.

**Close** by NAS (Accounting-On/Off) or by the reaper (no update for too long): what was
reported has been charged; the reservation is released and the session uncounted.

Every Accounting-Request is stored (`accounting_packets`) with the journal entries it
caused, in the same transaction as its effects.
"""

from __future__ import annotations

import enum
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Date, Text, any_, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncConnection

from bureau.platform.catalog.tax import RatePart, tax_line
from bureau.platform.rating.charge import Rated
from bureau.platform.rating.tariff import UsageRate
from bureau.platform.rating.usage import Meter, Usage

from ..billing.period import month_of
from ..catalog.tables import plans
from ..catalog.taxes import Locale, tax_rates_for
from ..catalog.versions import PlanVersion, plan_version_at
from ..db import direct
from ..db.arrays import id_array, row_params, unnest_rows
from ..db.unit import tenant_id_of
from ..ledger.chart import SESSIONS
from ..ledger.entities import isp_entity
from ..ledger.errors import EntityNotFound
from ..ledger.posting import post_entries
from ..ledger.rules import NewEntry, credit, debit
from ..ledger.tables import account_balances, accounts, entities
from ..subscribers.services import find_service
from ..subscribers.tables import customers, services
from .cache import Cache
from .tables import accounting_packets, radius_sessions, service_usage

DEFAULT_RESERVATION = 2_000_000  # 2.00: one reservation step of a prepaid session
AUTHORIZED_TTL = timedelta(minutes=2)
BASIS_POINTS = 10_000  # an Accept without a Start holds its reservation this long
LIVE = ("authorized", "open")

TenantKey = tuple[str, int]  # the database and the tenant's registry id
account_ids_cache: Cache[tuple[TenantKey, int], dict[str, int]] = Cache(131_072)
# Each plan's versions as loaded, with when: see `version_at`.
_known_versions: Cache[tuple[TenantKey, str], tuple[tuple[datetime, PlanVersion], ...]] = Cache(16_384)
KNOWN_VERSIONS_PER_PLAN = 8
# The version in effect now: a new version may start at any moment, so only for seconds.
current_versions: Cache[tuple[TenantKey, str], PlanVersion] = Cache(4096, ttl_seconds=10.0)
_tax_rates: Cache[tuple[TenantKey, Locale, str, date], tuple[RatePart, ...]] = Cache(65_536, ttl_seconds=60.0)


# By engine, not by URL: a URL hashes by rendering itself, which costs more than the
# lookups this key serves.
_databases: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


def _database(engine: Engine) -> str:
    name = _databases.get(engine)
    if name is None:
        name = _databases[engine] = engine.url.render_as_string(hide_password=True)
    return name


def tenant_key(conn: AsyncConnection) -> TenantKey:
    """Whose cache entry: the tenant, in this database (a process may reach several)."""
    return (_database(conn.sync_engine), tenant_id_of(conn))


class Status(enum.IntEnum):
    """Acct-Status-Type values Bureau acts on (RFC 2866, 2869)."""

    START = 1
    STOP = 2
    INTERIM = 3
    ACCOUNTING_ON = 7
    ACCOUNTING_OFF = 8


@dataclass(frozen=True, slots=True)
class Authorization:
    accepted: bool
    reason: str | None = None  # the Reply-Message of a reject
    session_id: int | None = None
    session_timeout: int | None = None  # seconds; None: the plan sets no time limit
    reserved_micros: int = 0
    reply: Mapping[str, Any] = field(default_factory=dict)  # the plan's RADIUS attributes, by name
    interim_interval: int | None = None  # the plan's Acct-Interim-Interval; None: the server's


@dataclass(frozen=True, slots=True)
class Report:
    """What one Accounting-Request says, already decoded and validated."""

    status: Status
    acct_session_id: str
    login: str
    event_time: datetime
    seconds: int = 0
    octets_in: int = 0  # 64-bit totals (Gigawords applied)
    octets_out: int = 0
    session_ref: int | None = None  # from a Class this proxy signed
    terminate_cause: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)  # JSON-safe, as received


@dataclass(frozen=True, slots=True)
class Accounted:
    session_id: int | None
    outcome: str  # started, updated, stopped, after_stop, unknown_login
    charged_micros: int = 0
    disconnect: bool = False  # funds are gone, or the service is no longer active: send a Disconnect-Request
    entry_ids: tuple[int, ...] = ()


SUBSCRIBER_CODES = ("1000", "1010", "1100", "8000", "9000")
ISP_CODES = ("2100", "4000", "8900", "9900")


async def _accounts(conn: AsyncConnection, entity_id: int, *, lock_main: bool = False) -> dict[str, tuple[int, int]]:
    """The session's accounts as (id, balance): the subscriber's by code, the ISP's as "isp:<code>".

    Account ids never change and are cached. Only the main balance is read, and only with
    `lock_main`, which locks its row first, so that what is read of it stays true until
    the transaction ends: two logins of one prepaid account then reserve one after the
    other, each from what the other left. Every other balance is given as 0 (unread).
    """

    ids = (await account_ids(conn, {entity_id}))[entity_id]
    main = 0
    if lock_main:
        main = (
            await conn.execute(
                select(account_balances.c.balance)
                .where(account_balances.c.account_id == ids["1000"], account_balances.c.shard == 0)
                .with_for_update()
            )
        ).scalar_one()
    return {key: (account_id, main if key == "1000" else 0) for key, account_id in ids.items()}


@dataclass(frozen=True, slots=True)
class Owner:
    entity_id: int
    prepaid: bool
    credit_limit_micros: int
    currency: str
    status: str
    plan_id: int
    plan_code: str
    country: str
    state: str | None
    city: str | None
    service_state: str = "active"  # the service's: a session of one no longer active is disconnected


OWNER_COLUMNS = (
    entities.c.id.label("entity_id"),
    entities.c.prepaid.label("owner_prepaid"),
    entities.c.credit_limit_micros,
    entities.c.currency,
    entities.c.status,
    services.c.plan_id.label("owner_plan_id"),
    plans.c.code.label("plan_code"),
    customers.c.country,
    customers.c.state.label("customer_state"),
    customers.c.city,
    services.c.state.label("service_state"),
)


def owner_query(*columns: Any) -> Any:
    """SELECT of the owner columns of services (and `columns`), services joined to their
    customer, its entity and the plan."""
    return (
        select(*columns, *OWNER_COLUMNS)
        .select_from(services)
        .join(customers, customers.c.id == services.c.customer_id)
        .join(entities, entities.c.id == customers.c.entity_id)
        .join(plans, plans.c.id == services.c.plan_id)
    )


def owner_from_row(row: Mapping[str, Any]) -> Owner:
    """The owner of a row of `owner_query` (a row's `_mapping`, or a driver record)."""
    return Owner(
        entity_id=row["entity_id"],
        prepaid=row["owner_prepaid"],
        credit_limit_micros=row["credit_limit_micros"],
        currency=row["currency"],
        status=row["status"],
        plan_id=row["owner_plan_id"],
        plan_code=row["plan_code"],
        country=row["country"],
        state=row["customer_state"],
        city=row["city"],
        service_state=row["service_state"],
    )


_owners_of = owner_query(services.c.id.label("service_id")).where(services.c.id == any_(id_array("ids")))


async def owners(conn: AsyncConnection, service_ids: set[int]) -> dict[int, Owner]:
    """The owners of these services, by service id (one statement)."""
    if not service_ids:
        return {}
    rows = await direct.fetch(conn, _owners_of, {"ids": sorted(service_ids)})
    return {row["service_id"]: owner_from_row(row) for row in rows}


async def _owner(conn: AsyncConnection, service_id: int) -> Owner:
    return (await owners(conn, {service_id}))[service_id]


async def version_at(conn: AsyncConnection, plan_code: str, when: datetime) -> PlanVersion:
    """The version of a plan in effect at `when`, an instant already past (a session's
    authorisation), from the versions this process has loaded when one covers it.

    A version loaded at `loaded` covers [effective_from, effective_to), or, open-ended,
    [effective_from, loaded]: versions are append-only, and one that cuts an open-ended
    version short may not start in the past (catalog/versions.py), so what was in effect
    at an instant up to the load stays so. Sessions authorised at different instants
    share one load instead of one each."""
    key = (tenant_key(conn), plan_code)
    known = _known_versions.peek(key) or ()
    for loaded, version in known:
        end = version.effective_to
        if version.effective_from <= when and (when < end if end is not None else when <= loaded):
            return version
    loaded = datetime.now(UTC)
    version = await plan_version_at(conn, plan_code, when)
    _known_versions.put(key, ((loaded, version), *known)[:KNOWN_VERSIONS_PER_PLAN])
    return version


def time_rate(rates: Sequence[UsageRate]) -> UsageRate | None:
    for rate in rates:
        if rate.meter is Meter.SECONDS and rate.band is None:
            return rate
    return None


_main_balances = (
    select(account_balances.c.account_id, account_balances.c.balance)
    .where(account_balances.c.account_id == any_(id_array("ids")), account_balances.c.shard == 0)
    .order_by(account_balances.c.account_id)
    .with_for_update()
)


_USAGE_KEY = {"service_id": BigInteger, "period_start": Date}


def _balances_and_usage() -> Any:
    """The main balance rows locked (one shard each; in id order, so no deadlocks) and
    read, then the period usage of each (service, period), rows made if missing, locked
    in order (`u` waits for `m`, so always in that order); in one round trip, each
    answered as column arrays in matching order."""
    locked = _main_balances.cte("m")
    pairs = unnest_rows("p", "q_", _USAGE_KEY)
    after_locking = select(func.count()).select_from(locked).scalar_subquery() >= 0
    made = pg_insert(service_usage).from_select(
        ["service_id", "period_start"], select(pairs.c.service_id, pairs.c.period_start).where(after_locking)
    )
    upserted = (
        made.on_conflict_do_update(
            index_elements=["service_id", "period_start"], set_={"service_id": made.excluded.service_id}
        )
        .returning(
            service_usage.c.service_id,
            service_usage.c.period_start,
            service_usage.c.seconds,
            service_usage.c.octets_in,
            service_usage.c.octets_out,
            service_usage.c.band_seconds,
        )
        .cte("u")
    )
    columns = [select(func.array_agg(column)).scalar_subquery() for column in (locked.c.account_id, locked.c.balance)]
    columns += [select(func.array_agg(column)).scalar_subquery() for column in upserted.c]
    return select(*columns)


_balances_usage = _balances_and_usage()


async def balances_and_usage(
    conn: AsyncConnection, main_ids: set[int], usage_keys: set[tuple[int, date]]
) -> tuple[dict[int, int], dict[tuple[int, date], Usage]]:
    """The main balances by account id and the period usages by (service, period), locked
    (see `_balances_and_usage`)."""
    if not main_ids and not usage_keys:
        return {}, {}
    ordered = sorted(usage_keys)
    row = await direct.fetch_one(
        conn,
        _balances_usage,
        {"ids": sorted(main_ids), **row_params("q_", _USAGE_KEY, ordered)},
    )
    accounts_, balances, services_, periods, seconds, octets_in, octets_out, bands = (value or [] for value in row)
    mains = {account: int(balance) for account, balance in zip(accounts_, balances, strict=True)}
    usage = {
        (service, period): Usage(s, i, o, dict(band))
        for service, period, s, i, o, band in zip(
            services_, periods, seconds, octets_in, octets_out, bands, strict=True
        )
    }
    return mains, usage


_session_accounts = select(accounts.c.entity_id, accounts.c.code, accounts.c.id).where(
    accounts.c.entity_id == any_(id_array("entities")),
    accounts.c.code == any_(bindparam("codes", type_=ARRAY(Text))),
)
_isp_entities: Cache[TenantKey, int] = Cache(4096)


async def account_ids(conn: AsyncConnection, entity_ids: set[int]) -> dict[int, dict[str, int]]:
    """Each entity's session account ids, by code and "isp:<code>" (cached, as ids never
    change; the missing ones read in one statement)."""
    tenant = tenant_key(conn)
    found = {e: ids for e in entity_ids if (ids := account_ids_cache.peek((tenant, e))) is not None}
    missing = entity_ids - set(found)
    if not missing:
        return found

    async def isp_id() -> int:
        return (await isp_entity(conn)).id

    isp = await _isp_entities.get(tenant, isp_id)
    rows = await direct.fetch(
        conn,
        _session_accounts,
        {"entities": sorted({*missing, isp}), "codes": sorted({*SUBSCRIBER_CODES, *ISP_CODES})},
    )
    by_entity: dict[int, dict[str, int]] = {}
    for entity, code, account in rows:
        by_entity.setdefault(entity, {})[code] = account
    isp_accounts = by_entity.get(isp, {})
    for entity in missing:
        own = by_entity.get(entity, {})
        absent = [code for code in SUBSCRIBER_CODES if code not in own] + [
            f"isp:{code}" for code in ISP_CODES if code not in isp_accounts
        ]
        if absent:
            raise EntityNotFound(f"entity {entity} lacks the session accounts {', '.join(absent)}")
        ids = {code: own[code] for code in SUBSCRIBER_CODES}
        ids.update({f"isp:{code}": isp_accounts[code] for code in ISP_CODES})
        account_ids_cache.put((tenant, entity), ids)
        found[entity] = ids
    return found


def count_entry(session_id: int, accounts: Mapping[str, tuple[int, int]], sign: int) -> NewEntry:
    sub, isp = accounts["8000"][0], accounts["isp:8900"][0]
    what = "count" if sign > 0 else "uncount"
    if sign > 0:
        postings = (debit(sub, 1, SESSIONS), credit(isp, 1, SESSIONS))
    else:
        postings = (credit(sub, 1, SESSIONS), debit(isp, 1, SESSIONS))
    return NewEntry(
        f"session:{session_id}:{what}", f"Session {session_id} {'starts' if sign > 0 else 'ends'}", postings
    )


def reserve_entry(
    session_id: int, number: int, accounts: Mapping[str, tuple[int, int]], amount: int, unit: str
) -> NewEntry:
    return NewEntry(
        f"session:{session_id}:reserve:{number}",
        f"Session {session_id}: reserve funds",
        (debit(accounts["1000"][0], amount, unit), credit(accounts["1010"][0], amount, unit)),
    )


def release_entry(session_id: int, accounts: Mapping[str, tuple[int, int]], amount: int, unit: str) -> NewEntry:
    return NewEntry(
        f"session:{session_id}:release",
        f"Session {session_id}: release the unused reservation",
        (debit(accounts["1010"][0], amount, unit), credit(accounts["1000"][0], amount, unit)),
    )


def charge_entry(
    session_id: int, number: int, accounts: Mapping[str, tuple[int, int]], amount: int, tax: int, unit: str
) -> NewEntry:
    """`amount` (tax included) from the reserve: revenue gets it less `tax`, tax payable `tax`."""
    postings = [
        debit(accounts["1010"][0], amount, unit),
        debit(accounts["9000"][0], amount, unit),
        credit(accounts["isp:9900"][0], amount, unit),
    ]
    if amount - tax:
        postings.append(credit(accounts["isp:4000"][0], amount - tax, unit))
    if tax:
        postings.append(credit(accounts["isp:2100"][0], tax, unit))
    return NewEntry(f"session:{session_id}:charge:{number}", f"Session {session_id}: usage", tuple(postings))


async def tax_parts(conn: AsyncConnection, owner: Owner, tax_class: str, when: datetime) -> tuple[RatePart, ...]:
    locale = Locale(owner.country, owner.state, owner.city)

    async def load() -> tuple[RatePart, ...]:
        return tuple(rate.part for rate in await tax_rates_for(conn, locale, tax_class, when))

    # Keyed by the day: rates change at their effective instants, which are dates in practice.
    key = (tenant_key(conn), locale, tax_class, when.date())
    return await _tax_rates.get(key, load)


async def with_tax(
    conn: AsyncConnection, owner: Owner, version: PlanVersion, rated: Rated, when: datetime
) -> tuple[int, int]:
    """(what the customer pays, the tax in it) for prepaid usage, per rate and its tax class:
    an exclusive tax is added on top, an inclusive one is taken out of the price."""
    tax_class = {c.rate.key: c.tax_class for c in version.components if c.rate is not None}
    gross = tax = 0
    for line in rated.lines:
        if not line.charge_micros:
            continue
        taxed = tax_line(line.charge_micros, await tax_parts(conn, owner, tax_class[line.rate.key], when))
        gross += taxed.gross_micros
        tax += taxed.tax_micros
    return gross, tax


async def open_unannounced(conn: AsyncConnection, nas_id: int, report: Report) -> int | None:
    """A session whose Access-Accept this proxy did not give (a lost Start, a NAS that
    re-sent after a restart): open it with no reservation; prepaid charges then come
    straight from the main balance through a reservation made on the spot."""
    try:
        service = await find_service(conn, "radius_login", report.login)
    except ValueError:
        return None
    owner = await _owner(conn, service.id)
    period = month_of(report.event_time.astimezone(UTC).date())
    session_id = (
        await conn.execute(
            insert(radius_sessions)
            .values(
                service_id=service.id,
                nas_id=nas_id,
                login=service.login,
                acct_session_id=report.acct_session_id,
                prepaid=owner.prepaid,
                plan_id=owner.plan_id,
                period_start=period.start,
                authorized_at=report.event_time,
            )
            .returning(radius_sessions.c.id)
        )
    ).scalar_one()
    accounts = await _accounts(conn, owner.entity_id)
    await post_entries(conn, [count_entry(session_id, accounts, +1)])
    return int(session_id)


def closing_entries(
    session_id: int, accounts: Mapping[str, tuple[int, int]], reserved: int, unit: str
) -> list[NewEntry]:
    entries = [count_entry(session_id, accounts, -1)]
    if reserved:
        entries.append(release_entry(session_id, accounts, reserved, unit))
    return entries


async def _store(
    conn: AsyncConnection, nas_id: int, report: Report, received_at: datetime, result: Accounted
) -> Accounted:
    await conn.execute(
        insert(accounting_packets).values(
            session_id=result.session_id,
            nas_id=nas_id,
            received_at=received_at,
            status_type=int(report.status),
            acct_session_id=report.acct_session_id,
            attributes=dict(report.attributes),
            entry_ids=list(result.entry_ids),
            outcome=result.outcome,
        )
    )
    return result


async def store_packet(
    conn: AsyncConnection,
    nas_id: int,
    *,
    status_type: int,
    acct_session_id: str | None,
    attributes: Mapping[str, Any],
    received_at: datetime,
    outcome: str,
) -> None:
    """Keep an Accounting-Request Bureau does not act on (tunnel and Failed records...)."""
    await conn.execute(
        insert(accounting_packets).values(
            nas_id=nas_id,
            received_at=received_at,
            status_type=status_type,
            acct_session_id=acct_session_id,
            attributes=dict(attributes),
            outcome=outcome,
        )
    )


async def close_session(conn: AsyncConnection, session_id: int, *, state: str, cause: str, when: datetime) -> bool:
    """Close a live session without a Stop: release its reservation and uncount it."""
    session = (
        await conn.execute(select(radius_sessions).where(radius_sessions.c.id == session_id).with_for_update())
    ).one()
    if session.state not in LIVE:
        return False
    owner = await _owner(conn, session.service_id)
    accounts = await _accounts(conn, owner.entity_id)
    await post_entries(conn, closing_entries(session.id, accounts, session.reserved_micros, owner.currency))
    await conn.execute(
        update(radius_sessions)
        .where(radius_sessions.c.id == session.id)
        .values(state=state, reserved_micros=0, stopped_at=when, terminate_cause=cause)
    )
    return True


async def close_nas_sessions(conn: AsyncConnection, nas_id: int, when: datetime, report: Report) -> int:
    """Accounting-On/Off: close every live session of this NAS that began by `when`."""
    ids = (
        await conn.execute(
            select(radius_sessions.c.id)
            .where(
                radius_sessions.c.nas_id == nas_id,
                radius_sessions.c.state.in_(LIVE),
                radius_sessions.c.authorized_at <= when,
            )
            .order_by(radius_sessions.c.id)
        )
    ).scalars()
    closed = 0
    for session_id in list(ids):
        closed += await close_session(conn, session_id, state="closed", cause="NAS-Reboot", when=when)
    await _store(conn, nas_id, report, when, Accounted(None, f"closed {closed} session(s)"))
    return closed


async def reap(conn: AsyncConnection, now: datetime, *, idle: timedelta) -> int:
    """Abort sessions that stopped reporting (no update for `idle`) and Accepts whose
    Start never came (older than AUTHORIZED_TTL): charged as reported, then closed."""
    ids = (
        await conn.execute(
            select(radius_sessions.c.id)
            .where(
                (
                    (radius_sessions.c.state == "open")
                    & (func.coalesce(radius_sessions.c.updated_at, radius_sessions.c.authorized_at) < now - idle)
                )
                | ((radius_sessions.c.state == "authorized") & (radius_sessions.c.authorized_at < now - AUTHORIZED_TTL))
            )
            .order_by(radius_sessions.c.id)
        )
    ).scalars()
    aborted = 0
    for session_id in list(ids):
        aborted += await close_session(conn, session_id, state="aborted", cause="Abort-Session", when=now)
    return aborted


@dataclass(frozen=True, slots=True)
class LiveSession:
    id: int
    login: str
    nas_id: int
    acct_session_id: str | None
    state: str
    started_at: datetime | None
    seconds: int
    octets_in: int
    octets_out: int
    charged_micros: int
    reserved_micros: int
    disconnect_requested: bool
    service_id: int


def live_session(row: Any) -> LiveSession:
    """A LiveSession of a `radius_sessions` row."""
    return LiveSession(
        id=row.id,
        login=row.login,
        nas_id=row.nas_id,
        acct_session_id=row.acct_session_id,
        state=row.state,
        started_at=row.started_at,
        seconds=row.seconds,
        octets_in=row.octets_in,
        octets_out=row.octets_out,
        charged_micros=row.charged_micros,
        reserved_micros=row.reserved_micros,
        disconnect_requested=row.disconnect_requested_at is not None,
        service_id=row.service_id,
    )


async def live_sessions(conn: AsyncConnection, *, login: str | None = None) -> list[LiveSession]:
    query = select(radius_sessions).where(radius_sessions.c.state.in_(LIVE)).order_by(radius_sessions.c.id)
    if login is not None:
        query = query.where(radius_sessions.c.login == login)
    return [live_session(row) for row in await conn.execute(query)]


@dataclass(frozen=True, slots=True)
class DisconnectTarget:
    """What a Disconnect-Request for a session needs: its NAS, identification and where
    the NAS last sent accounting from."""

    session_id: int
    nas_id: int
    login: str
    acct_session_id: str | None
    source_ip: str | None


async def disconnect_target(conn: AsyncConnection, session_id: int) -> DisconnectTarget | None:
    """The live session `session_id`, for an administrator's Disconnect; None if not live."""
    row = (
        await conn.execute(
            select(radius_sessions).where(radius_sessions.c.id == session_id, radius_sessions.c.state.in_(LIVE))
        )
    ).first()
    if row is None:
        return None
    source = (
        await conn.execute(
            select(accounting_packets.c.attributes["source"].astext)
            .where(accounting_packets.c.session_id == session_id)
            .order_by(accounting_packets.c.id.desc())
            .limit(1)
        )
    ).scalar()
    return DisconnectTarget(
        row.id, row.nas_id, row.login, row.acct_session_id, source.rpartition(":")[0] if source else None
    )


async def mark_disconnect_requested(conn: AsyncConnection, session_id: int, when: datetime) -> None:
    await conn.execute(
        update(radius_sessions)
        .where(radius_sessions.c.id == session_id, radius_sessions.c.disconnect_requested_at.is_(None))
        .values(disconnect_requested_at=when)
    )
