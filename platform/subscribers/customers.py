"""Customers: the owner of a subscriber account (issue 3 "Subscribers").

A customer owns a ledger entity of kind `subscriber` (its chart of accounts, prepaid or
post-paid, credit limit, the tenant's currency) and has a customer number ("C000123",
sequential per tenant), contact details and a billing address whose country, state and
city are the tax locale. A customer sold by a reseller carries the reseller on both the
row and the entity.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Row, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ..audit import log as audit
from ..catalog.classes import get_subscriber_class
from ..catalog.tables import subscriber_classes
from ..ledger.chart import EntityKind
from ..ledger.entities import create_entity, isp_entity, update_entity
from ..ledger.tables import entities
from ..provisioning.changes import services_changed
from .errors import InvalidSubscriberValue, NotFound
from .resellers import get_reseller
from .tables import customers, resellers, services
from .validate import check_email, check_phone, check_realm, check_text

NUMBER_PREFIX = "C"
NUMBER_DIGITS = 6
NUMBER_PATTERN = re.compile(r"C[0-9]{6,}")
COUNTRY_PATTERN = re.compile(r"[A-Z]{2}")
MAX_ADDRESS_LINES = 4
MAX_NUMBER_ATTEMPTS = 20  # concurrent creates racing for the next number


@dataclass(frozen=True, slots=True)
class Address:
    country: str  # ISO 3166-1 alpha-2, upper case ("DE")
    state: str | None = None
    city: str | None = None
    postal_code: str | None = None
    lines: tuple[str, ...] = ()

    def checked(self) -> Address:
        if not isinstance(self.country, str) or not COUNTRY_PATTERN.fullmatch(self.country):
            raise InvalidSubscriberValue(
                f"country {self.country!r} must be an ISO 3166-1 alpha-2 code in capitals, such as 'DE' or 'US'"
            )
        lines = tuple(self.lines)
        if len(lines) > MAX_ADDRESS_LINES:
            raise InvalidSubscriberValue(f"an address has at most {MAX_ADDRESS_LINES} lines, got {len(lines)}")
        return Address(
            country=self.country,
            state=check_text(self.state, "state", required=False),
            city=check_text(self.city, "city", required=False),
            postal_code=check_text(self.postal_code, "postal code", required=False),
            lines=tuple(str(check_text(line, "address line")) for line in lines),
        )


@dataclass(frozen=True, slots=True)
class Customer:
    id: int
    entity_id: int
    number: str  # "C000123"
    code: str  # the subscriber entity's code
    name: str
    email: str
    phone: str | None
    address: Address
    subscriber_class: str | None  # the class's code
    reseller_id: int | None  # resellers.id; None: sold by the ISP itself
    reseller: str | None  # the reseller's code
    prepaid: bool
    credit_limit_micros: int


def format_number(number: int) -> str:
    return f"{NUMBER_PREFIX}{number:0{NUMBER_DIGITS}d}"


@cache  # built once: a statement is immutable, and building one costs more than running it
def _customer_query() -> Any:
    reseller_entities = entities.alias("reseller_entities")
    return (
        select(
            customers,
            entities.c.code.label("entity_code"),
            entities.c.prepaid,
            entities.c.credit_limit_micros,
            subscriber_classes.c.code.label("class_code"),
            reseller_entities.c.code.label("reseller_code"),
        )
        .join(entities, entities.c.id == customers.c.entity_id)
        .outerjoin(subscriber_classes, subscriber_classes.c.id == customers.c.class_id)
        .outerjoin(resellers, resellers.c.id == customers.c.reseller_id)
        .outerjoin(reseller_entities, reseller_entities.c.id == resellers.c.entity_id)
    )


def _customer(row: Row[Any]) -> Customer:
    return Customer(
        id=row.id,
        entity_id=row.entity_id,
        number=row.customer_number,
        code=row.entity_code,
        name=row.name,
        email=row.email,
        phone=row.phone,
        address=Address(row.country, row.state, row.city, row.postal_code, tuple(row.address_lines)),
        subscriber_class=row.class_code,
        reseller_id=row.reseller_id,
        reseller=row.reseller_code,
        prepaid=row.prepaid,
        credit_limit_micros=row.credit_limit_micros,
    )


def _address_values(address: Address) -> dict[str, Any]:
    return {
        "country": address.country,
        "state": address.state,
        "city": address.city,
        "postal_code": address.postal_code,
        "address_lines": list(address.lines),
    }


async def create_customer(
    conn: AsyncConnection,
    *,
    code: str,
    name: str,
    email: str,
    address: Address,
    phone: str | None = None,
    reseller: str | None = None,
    subscriber_class: str | None = None,
    prepaid: bool = True,
    credit_limit_micros: int = 0,
) -> Customer:
    """Create a customer: its subscriber entity (chart of accounts) and its row, with the
    tenant's next customer number. `reseller` and `subscriber_class` are codes."""
    check_text(name, "customer name")
    email = check_email(email)
    phone = check_phone(phone)
    address = address.checked()
    seller = await get_reseller(conn, reseller) if reseller is not None else None
    class_id = (await get_subscriber_class(conn, subscriber_class)).id if subscriber_class is not None else None
    isp = await isp_entity(conn)
    entity = await create_entity(
        conn,
        kind=EntityKind.SUBSCRIBER,
        code=code,
        name=name,
        currency=isp.currency,
        parent_id=seller.entity_id if seller is not None else isp.id,
        reseller_id=seller.entity_id if seller is not None else None,
        prepaid=prepaid,
        credit_limit_micros=credit_limit_micros,
    )
    values = {
        "entity_id": entity.id,
        "name": name,
        "email": email,
        "phone": phone,
        "class_id": class_id,
        "reseller_id": seller.id if seller is not None else None,
        **_address_values(address),
    }
    for _ in range(MAX_NUMBER_ATTEMPTS):
        last = (await conn.execute(select(func.max(customers.c.number)))).scalar_one()
        number = (last or 0) + 1
        # ON CONFLICT: a concurrent create took this number; read the new maximum and retry.
        row = (
            await conn.execute(
                pg_insert(customers)
                .values(number=number, customer_number=format_number(number), **values)
                .on_conflict_do_nothing(index_elements=["number"])
                .returning(customers.c.id)
            )
        ).first()
        if row is not None:
            break
    else:
        raise RuntimeError(f"no free customer number after {MAX_NUMBER_ATTEMPTS} attempts")
    customer = Customer(
        id=row.id,
        entity_id=entity.id,
        number=format_number(number),
        code=code,
        name=name,
        email=email,
        phone=phone,
        address=address,
        subscriber_class=subscriber_class,
        reseller_id=seller.id if seller is not None else None,
        reseller=reseller,
        prepaid=prepaid,
        credit_limit_micros=credit_limit_micros,
    )
    await audit.record(
        conn,
        "subscribers.customer.create",
        f"customer:{customer.number}",
        entity_id=entity.id,
        code=code,
        reseller=reseller,
        subscriber_class=subscriber_class,
        country=address.country,
    )
    return customer


def _login_key(ref: str) -> str:
    """A login as stored: the realm part lower-cased ("Alice@Demo.Example" → "Alice@demo.example")."""
    user, at, realm = ref.rpartition("@")
    if not at or not user:
        return ref
    try:
        return f"{user}@{check_realm(realm)}"
    except InvalidSubscriberValue:
        return ref


@cache
def _lookups() -> dict[str, Any]:
    """The three ways to find a customer, each built once with a `ref` parameter."""
    first = _customer_query().order_by(customers.c.id).limit(2)
    login = select(services.c.customer_id).where(services.c.login == bindparam("ref"))
    return {
        "number": first.where(customers.c.customer_number == bindparam("ref")),
        "code": first.where(entities.c.code == bindparam("ref")),
        "login": first.where(customers.c.id.in_(login.scalar_subquery())),
    }


async def get_customer(conn: AsyncConnection, ref: str, *, for_update: bool = False) -> Customer:
    """A customer by customer number ("C000123"), entity code, or a service login
    ("alice@demo.example"), tried in that order."""
    if not isinstance(ref, str) or not ref:
        raise NotFound(f"no customer has number, code or login {ref!r}")
    lookups = _lookups()
    tries = [("number", ref)] if NUMBER_PATTERN.fullmatch(ref) else []
    tries += [("code", ref), ("login", _login_key(ref))]
    for way, value in tries:
        query = lookups[way].with_for_update(of=customers) if for_update else lookups[way]
        rows = (await conn.execute(query, {"ref": value})).all()
        if rows:
            return _customer(rows[0])
    raise NotFound(f"no customer has number, code or login {ref!r}")


_UNSET: Any = object()


async def update_customer(
    conn: AsyncConnection,
    ref: str,
    *,
    name: str | None = None,
    email: str | None = None,
    phone: str | None = _UNSET,
    address: Address | None = None,
    subscriber_class: str | None = _UNSET,
    prepaid: bool | None = None,
    credit_limit_micros: int | None = None,
) -> Customer:
    """Change a customer's details (`phone=None` or `subscriber_class=None` clears them).

    Name, prepaid and credit limit also change the subscriber entity (ledger rules apply:
    a customer who owes money cannot switch to prepaid).
    """
    before = await get_customer(conn, ref, for_update=True)
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = check_text(name, "customer name")
    if email is not None:
        changes["email"] = check_email(email)
    if phone is not _UNSET:
        changes["phone"] = check_phone(phone)
    if address is not None:
        changes.update(_address_values(address.checked()))
    if subscriber_class is not _UNSET:
        changes["class_id"] = (
            (await get_subscriber_class(conn, subscriber_class)).id if subscriber_class is not None else None
        )
    if name is not None or prepaid is not None or credit_limit_micros is not None:
        await update_entity(conn, before.entity_id, name=name, prepaid=prepaid, credit_limit_micros=credit_limit_micros)
    if changes:
        await conn.execute(
            update(customers).where(customers.c.id == before.id).values(**changes, updated_at=func.now())
        )
    after = await get_customer(conn, before.number)
    if after != before:
        fields_changed = sorted(
            {*changes, *(k for k in ("prepaid", "credit_limit_micros") if getattr(after, k) != getattr(before, k))}
        )
        await audit.record(conn, "subscribers.customer.update", f"customer:{before.number}", fields=fields_changed)
        if "name" in changes or "email" in changes:  # exported: GECOS fields, LDAP cn and mail
            await services_changed(conn)
    return after


MAX_PAGE = 100
MAX_SEARCH_LENGTH = 100


def _like(text: str) -> str:
    """An ILIKE pattern matching `text` anywhere, its own % _ and \\ taken literally."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def customer_page(
    conn: AsyncConnection,
    *,
    after_id: int = 0,
    limit: int = MAX_PAGE,
    resellers: frozenset[int] | None = None,
    search: str | None = None,
    prepaid: bool | None = None,
) -> list[Customer]:
    """Customers by id after `after_id` (keyset paging), at most `limit` (capped at MAX_PAGE).

    `resellers`: only customers sold by these resellers (a reseller's view; None: all);
    `search`: in the name, email, customer number or a service login, any case.
    """
    query = _customer_query().where(customers.c.id > after_id)
    if resellers is not None:
        query = query.where(customers.c.reseller_id.in_(sorted(resellers)))
    if search:
        if len(search) > MAX_SEARCH_LENGTH:
            raise InvalidSubscriberValue(f"a search is at most {MAX_SEARCH_LENGTH} characters")
        pattern = _like(search.strip())
        logins = select(services.c.customer_id).where(services.c.login.ilike(pattern, escape="\\"))
        query = query.where(
            customers.c.name.ilike(pattern, escape="\\")
            | customers.c.email.ilike(pattern, escape="\\")
            | customers.c.customer_number.ilike(pattern, escape="\\")
            | customers.c.id.in_(logins)
        )
    if prepaid is not None:
        query = query.where(entities.c.prepaid.is_(prepaid))
    rows = await conn.execute(query.order_by(customers.c.id).limit(min(max(limit, 1), MAX_PAGE)))
    return [_customer(row) for row in rows]


async def customers_of_entities(
    conn: AsyncConnection, entity_ids: Iterable[int], *, resellers: frozenset[int] | None = None
) -> list[Customer]:
    """The customers owning these ledger entities (other entities are skipped), by id;
    with `resellers`, only those sold by them (a reseller's view)."""
    wanted = sorted(set(entity_ids))
    if not wanted:
        return []
    query = _customer_query().where(customers.c.entity_id.in_(wanted))
    if resellers is not None:
        query = query.where(customers.c.reseller_id.in_(sorted(resellers)))
    return [_customer(row) for row in await conn.execute(query.order_by(customers.c.id))]
