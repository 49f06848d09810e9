"""Services on a customer: RADIUS login, mailbox, web, FTP, disk quota, domain (issue 3).

Each service has a plan and a state. The state machine: pending → active, active ⇄
suspended, any → cancelled; cancelled is final. A password is stored twice and never in
plain text: as an argon2id hash (`crypto.passwords`) to verify PAP and portal logins, and
sealed by a `SecretBox` (key from settings, passed in by the caller) for CHAP/MS-CHAP,
which need the clear password. The sealed secret is bound to the service's kind and login
(`secret_context`): it opens only for the row it was made for.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Row, any_, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ..audit import log as audit
from ..catalog.plans import Plan, PlanStatus, get_plan
from ..catalog.tables import plans
from ..crypto import passwords
from ..crypto.secretbox import SecretBox
from ..crypto.unix_crypt import random_salt, sha512_crypt
from ..db.arrays import id_array
from ..provisioning.changes import services_changed
from . import history
from .customers import Customer, get_customer
from .errors import Duplicate, InvalidStateChange, InvalidSubscriberValue, NotFound, RealmMismatch
from .resellers import check_plan_allowed, get_realm, get_reseller, get_reseller_by_id
from .tables import customers, services
from .validate import check_realm

LOGIN_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")
OTHER_LOGIN_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+/:-]{0,252}")
MAX_QUOTA_MB = 2**31 - 1


class ServiceKind(enum.StrEnum):
    RADIUS_LOGIN = "radius_login"
    MAILBOX = "mailbox"
    WEB = "web"
    FTP = "ftp"
    DISK_QUOTA = "disk_quota"
    DOMAIN = "domain"


class ServiceState(enum.StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CANCELLED = "cancelled"


MOVES: dict[ServiceState, tuple[ServiceState, ...]] = {
    ServiceState.PENDING: (ServiceState.ACTIVE, ServiceState.CANCELLED),
    ServiceState.ACTIVE: (ServiceState.SUSPENDED, ServiceState.CANCELLED),
    ServiceState.SUSPENDED: (ServiceState.ACTIVE, ServiceState.CANCELLED),
    ServiceState.CANCELLED: (),
}


BILLABLE = frozenset({ServiceState.ACTIVE, ServiceState.SUSPENDED})


@dataclass(frozen=True, slots=True)
class Service:
    id: int
    customer_id: int
    customer_number: str
    kind: ServiceKind
    login: str
    plan: str  # the plan's code
    state: ServiceState
    quota_mb: int | None


def secret_context(kind: str, login: str) -> bytes:
    """Associated data binding a sealed password to its service row."""
    return f"service:{kind}:{login}".encode()


def _choice(kind: type[ServiceKind] | type[ServiceState], value: object, what: str) -> Any:
    try:
        if not isinstance(value, str):
            raise ValueError
        return kind(value)
    except ValueError:
        raise InvalidSubscriberValue(f"{what} {value!r} is not one of {', '.join(m.value for m in kind)}") from None


@cache  # built once: a statement is immutable, and building one costs more than running it
def _service_query() -> Any:
    return (
        select(
            services.c.id,
            services.c.customer_id,
            customers.c.customer_number,
            services.c.kind,
            services.c.login,
            plans.c.code.label("plan_code"),
            services.c.state,
            services.c.quota_mb,
        )
        .join(customers, customers.c.id == services.c.customer_id)
        .join(plans, plans.c.id == services.c.plan_id)
    )


def _service(row: Row[Any]) -> Service:
    return Service(
        id=row.id,
        customer_id=row.customer_id,
        customer_number=row.customer_number,
        kind=ServiceKind(row.kind),
        login=row.login,
        plan=row.plan_code,
        state=ServiceState(row.state),
        quota_mb=row.quota_mb,
    )


async def get_service(conn: AsyncConnection, service_id: int, *, for_update: bool = False) -> Service:
    """The service with `service_id`; `for_update` locks its row first.

    The lock is taken alone, before the joined read: with FOR UPDATE on a join, a row
    whose plan a concurrent transaction changed would be re-checked against the old plan's
    row and vanish from the result (PostgreSQL re-evaluates only the locked table's row).
    """
    if for_update:
        await conn.execute(select(services.c.id).where(services.c.id == service_id).with_for_update())
    row = (await conn.execute(_service_query().where(services.c.id == service_id))).first()
    if row is None:
        raise NotFound(f"no service has id {service_id}")
    return _service(row)


async def find_service(conn: AsyncConnection, kind: ServiceKind | str, login: str) -> Service:
    """The service of `kind` with `login` (a RADIUS login's realm matches in any case)."""
    service_kind: ServiceKind = _choice(ServiceKind, kind, "service kind")
    if service_kind is ServiceKind.RADIUS_LOGIN and "@" in login:
        user, _, realm = login.rpartition("@")
        login = f"{user}@{realm.lower()}"
    query = _service_query().where(services.c.kind == service_kind.value, services.c.login == login)
    row = (await conn.execute(query)).first()
    if row is None:
        raise NotFound(f"no {service_kind.value} service has login {login!r}")
    return _service(row)


async def _sellable_plan(conn: AsyncConnection, customer: Customer, plan_code: str) -> Plan:
    plan = await get_plan(conn, plan_code)
    if plan.status is not PlanStatus.ACTIVE:
        raise InvalidSubscriberValue(f"plan {plan_code!r} is {plan.status.value}; choose an active plan")
    if customer.reseller is not None:
        await check_plan_allowed(conn, await get_reseller(conn, customer.reseller), plan_code)
    return plan


async def _radius_login(conn: AsyncConnection, customer: Customer, login: str) -> str:
    user, at, realm_part = login.rpartition("@")
    if not at or not LOGIN_PATTERN.fullmatch(user):
        raise InvalidSubscriberValue(
            f"RADIUS login {login!r} must be user@realm, the user 1-64 letters, digits or . _ + -"
        )
    realm = await get_realm(conn, check_realm(realm_part))
    if realm.reseller_id != customer.reseller_id:
        owner = (
            f"reseller {(await get_reseller_by_id(conn, realm.reseller_id)).code!r}"
            if realm.reseller_id is not None
            else "the ISP itself"
        )
        seller = f"reseller {customer.reseller!r}" if customer.reseller is not None else "the ISP itself"
        raise RealmMismatch(
            f"realm {realm.realm!r} belongs to {owner}, but customer {customer.number} is sold by {seller}; "
            f"use a realm of {seller}"
        )
    return f"{user}@{realm.realm}"


def _check_quota(quota_mb: object) -> int | None:
    if quota_mb is None:
        return None
    if isinstance(quota_mb, bool) or not isinstance(quota_mb, int) or not 0 <= quota_mb <= MAX_QUOTA_MB:
        raise InvalidSubscriberValue(f"quota must be whole megabytes from 0 to {MAX_QUOTA_MB}, got {quota_mb!r}")
    return quota_mb


def _sealed(box: SecretBox, kind: str, login: str, password: str) -> dict[str, Any]:
    return {
        "password_hash": passwords.hash_password(password),
        "password_secret": box.encrypt(password.encode(), secret_context(kind, login)),
        "password_crypt": sha512_crypt(password, random_salt()),  # what exports hold (shadow, LDAP)
    }


async def add_service(
    conn: AsyncConnection,
    box: SecretBox,
    *,
    customer: str,
    kind: ServiceKind | str,
    login: str,
    plan: str,
    password: str | None = None,
    quota_mb: int | None = None,
) -> Service:
    """Add a pending service to `customer` (number, code or login) on `plan` (a code).

    The plan must be active and, for a reseller's customer, one the reseller may sell. A
    RADIUS login is "user@realm" with a known realm of the customer's reseller (or of the
    ISP for its own customers), and needs a password.
    """
    service_kind: ServiceKind = _choice(ServiceKind, kind, "service kind")
    owner = await get_customer(conn, customer)
    found = await _sellable_plan(conn, owner, plan)
    if not isinstance(login, str):
        raise InvalidSubscriberValue(f"login must be text, got {login!r}")
    if service_kind is ServiceKind.RADIUS_LOGIN:
        login = await _radius_login(conn, owner, login)
        if password is None:
            raise InvalidSubscriberValue("a RADIUS login needs a password")
    elif not OTHER_LOGIN_PATTERN.fullmatch(login):
        raise InvalidSubscriberValue(
            f"{service_kind.value} name {login!r} must be 1-253 letters, digits or . _ @ + / : -, "
            "starting with a letter or digit"
        )
    secret = {} if password is None else _sealed(box, service_kind.value, login, passwords.check_password(password))
    row = (
        await conn.execute(
            pg_insert(services)
            .values(
                customer_id=owner.id,
                kind=service_kind.value,
                login=login,
                plan_id=found.id,
                state=ServiceState.PENDING.value,
                quota_mb=_check_quota(quota_mb),
                **secret,
            )
            .on_conflict_do_nothing(constraint="uq_services_kind_login")
            .returning(services.c.id)
        )
    ).first()
    if row is None:
        raise Duplicate(f"{service_kind.value} {login!r} is already taken; choose another")
    await audit.record(
        conn,
        "subscribers.service.add",
        f"service:{row.id}",
        customer=owner.number,
        kind=service_kind.value,
        login=login,
        plan=plan,
        quota_mb=quota_mb,
        password_set=password is not None,
    )
    return Service(row.id, owner.id, owner.number, service_kind, login, plan, ServiceState.PENDING, quota_mb)


async def change_service_state(
    conn: AsyncConnection, service_id: int, state: ServiceState | str, *, at: datetime | None = None
) -> Service:
    """Move a service to `state` as the state machine allows (see MOVES); a no-op if there.

    `at` dates the change (default now; see `history` for what may be backdated): it is
    when billing starts (pending → active) or stops (→ cancelled).
    """
    target = _choice(ServiceState, state, "service state")
    before = await get_service(conn, service_id, for_update=True)
    if target is before.state:
        return before
    allowed = MOVES[before.state]
    if target not in allowed:
        what = ", ".join(s.value for s in allowed) or f"none ({before.state.value} is final)"
        raise InvalidStateChange(
            f"service {service_id} ({before.login}) cannot move from {before.state.value} to {target.value}; "
            f"allowed: {what}"
        )
    when = await history.change_time(conn, service_id, at)
    if before.state not in BILLABLE and target in BILLABLE:
        plan_id = (await conn.execute(select(services.c.plan_id).where(services.c.id == service_id))).scalar_one()
        await history.open_period(conn, service_id, plan_id, when)
    elif before.state in BILLABLE and target not in BILLABLE:
        await history.close_period(conn, service_id, when)
    await conn.execute(
        update(services).where(services.c.id == service_id).values(state=target.value, updated_at=func.now())
    )
    await audit.record(
        conn,
        "subscribers.service.state",
        f"service:{service_id}",
        before=before.state.value,
        after=target.value,
        at=when.isoformat(),
    )
    await services_changed(conn)
    return await get_service(conn, service_id)


async def change_plan(conn: AsyncConnection, service_id: int, plan: str, *, at: datetime | None = None) -> Service:
    """Put a service on another plan (a code), sellable to its customer; not once cancelled.

    A billable service is charged on the old plan until `at` (default now) and on the
    new one from then, each prorated by day.
    """
    before = await get_service(conn, service_id, for_update=True)
    if before.state is ServiceState.CANCELLED:
        raise InvalidStateChange(f"service {service_id} ({before.login}) is cancelled; its plan cannot change")
    if plan == before.plan:
        return before
    found = await _sellable_plan(conn, await get_customer(conn, before.customer_number), plan)
    when = await history.change_time(conn, service_id, at)
    if before.state in BILLABLE:
        await history.close_period(conn, service_id, when)
        await history.open_period(conn, service_id, found.id, when)
    await conn.execute(
        update(services).where(services.c.id == service_id).values(plan_id=found.id, updated_at=func.now())
    )
    await audit.record(
        conn,
        "subscribers.service.change_plan",
        f"service:{service_id}",
        before=before.plan,
        after=plan,
        at=when.isoformat(),
    )
    await services_changed(conn)
    return await get_service(conn, service_id)


async def reset_password(conn: AsyncConnection, box: SecretBox, service_id: int, password: str) -> None:
    """Replace a service's password (hash and sealed secret); not once cancelled."""
    before = await get_service(conn, service_id, for_update=True)
    if before.state is ServiceState.CANCELLED:
        raise InvalidStateChange(f"service {service_id} ({before.login}) is cancelled; its password cannot change")
    sealed = _sealed(box, before.kind.value, before.login, passwords.check_password(password))
    await conn.execute(update(services).where(services.c.id == service_id).values(**sealed, updated_at=func.now()))
    await audit.record(conn, "subscribers.service.reset_password", f"service:{service_id}", key_id=box.key_id)
    await services_changed(conn)


@cache  # a statement built once keeps its cache key: SQLAlchemy does not walk it again per call
def _services_of_ids() -> Any:
    return _service_query().where(services.c.customer_id == any_(id_array("ids"))).order_by(services.c.id)


async def services_of(conn: AsyncConnection, customer_ids: Iterable[int]) -> dict[int, list[Service]]:
    """The services of several customers in one query, by customer id, each list by id."""
    ids = sorted(set(customer_ids))
    found: dict[int, list[Service]] = {i: [] for i in ids}
    if ids:
        for row in await conn.execute(_services_of_ids(), {"ids": ids}):
            found[row.customer_id].append(_service(row))
    return found
