"""Account management: create entity, update entity, query account (DESIGN.md §3).

An entity is the ISP itself, one of its resellers, or a subscriber account. Each owns
the accounts of its chart-of-accounts template, created with it in one transaction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sqlalchemy import Row, and_, any_, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from .. import money
from ..audit import log as audit
from ..db.arrays import id_array
from ..jsonsafe import NotJsonSafe, check_json_safe
from .chart import EntityKind, template_for
from .errors import EntityNotFound, InvalidEntity
from .tables import account_balances, accounts, entities

CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")
MAX_NAME_LENGTH = 200
STATUSES = ("active", "suspended", "closed")
MAIN_BALANCE = "1000"
MAX_ID = 2**63 - 1  # ids are BIGINT


@dataclass(frozen=True, slots=True)
class Entity:
    id: int
    kind: EntityKind
    code: str
    name: str
    currency: str
    prepaid: bool
    credit_limit_micros: int
    status: str
    parent_id: int | None
    reseller_id: int | None
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AccountBalance:
    id: int
    entity_id: int
    code: str
    name: str
    unit: str
    side: str  # "debit" or "credit": which side raises the balance
    balance: int  # on the normal side, in micro-units (or sessions)
    floor: int | None


def _entity(row: Row[Any]) -> Entity:
    return Entity(
        id=row.id,
        kind=EntityKind(row.kind),
        code=row.code,
        name=row.name,
        currency=row.currency,
        prepaid=row.prepaid,
        credit_limit_micros=row.credit_limit_micros,
        status=row.status,
        parent_id=row.parent_id,
        reseller_id=row.reseller_id,
        attributes=row.attributes,
    )


def _check_code(code: str) -> None:
    # fullmatch: `$` in match() would accept a trailing newline ("alice\n").
    if not isinstance(code, str) or not CODE_PATTERN.fullmatch(code):
        raise InvalidEntity(
            f"entity code {code!r} must be 1-128 letters, digits or . _ @ + -, starting with a letter or digit"
        )


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH:
        raise InvalidEntity(f"name must be 1 to {MAX_NAME_LENGTH} characters, got {name!r}")


def _check_attributes(attributes: Mapping[str, Any]) -> None:
    try:
        check_json_safe(attributes, "attributes")
    except NotJsonSafe as exc:
        raise InvalidEntity(str(exc)) from None


def _check_credit_limit(value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidEntity(f"credit limit must be a non-negative integer of micro-units, got {value!r}")


async def create_entity(
    conn: AsyncConnection,
    *,
    kind: EntityKind,
    code: str,
    name: str,
    currency: str,
    parent_id: int | None = None,
    reseller_id: int | None = None,
    prepaid: bool = True,
    credit_limit_micros: int = 0,
    attributes: Mapping[str, Any] | None = None,
) -> Entity:
    """Create an entity and the accounts of its chart template, in the caller's transaction."""
    kind = EntityKind(kind)
    _check_code(code)
    _check_name(name)
    _check_credit_limit(credit_limit_micros)
    _check_attributes(attributes or {})
    try:
        money.currency_exponent(currency)
    except money.MoneyError as exc:
        raise InvalidEntity(str(exc)) from None
    if kind is not EntityKind.ISP:
        isp = await isp_entity(conn)
        if currency != isp.currency:
            raise InvalidEntity(f"entity currency {currency} differs from the ISP's currency {isp.currency}")
    for label, ref in (("parent", parent_id), ("reseller", reseller_id)):
        if ref is not None:
            other = await get_entity(conn, ref)
            if label == "reseller" and other.kind is not EntityKind.RESELLER:
                raise InvalidEntity(f"entity {ref} ({other.code}) is a {other.kind}, not a reseller")
    if await _code_taken(conn, code):
        raise InvalidEntity(f"an entity with code {code!r} already exists")

    # ON CONFLICT: a concurrent create of the same code, committed after the check above,
    # is refused like any duplicate instead of surfacing as a unique-violation error.
    row = (
        await conn.execute(
            pg_insert(entities)
            .values(
                kind=kind.value,
                code=code,
                name=name,
                currency=currency,
                parent_id=parent_id,
                reseller_id=reseller_id,
                prepaid=prepaid,
                credit_limit_micros=credit_limit_micros,
                attributes=dict(attributes or {}),
            )
            .on_conflict_do_nothing(index_elements=[entities.c.code])
            .returning(*entities.c)
        )
    ).first()
    if row is None:
        raise InvalidEntity(f"an entity with code {code!r} already exists")
    entity = _entity(row)
    template = template_for(kind)
    account_ids = (
        await conn.execute(
            insert(accounts).returning(accounts.c.id, accounts.c.code, sort_by_parameter_order=True),
            [
                {
                    "entity_id": entity.id,
                    "code": t.code,
                    "name": t.name,
                    "unit": t.unit(currency),
                    "sign": t.side.sign,
                    "shards": t.shards,
                }
                for t in template
            ],
        )
    ).all()
    await conn.execute(
        insert(account_balances),
        [
            {"account_id": account.id, "shard": shard, "balance": 0, "floor": t.floor(prepaid)}
            for account, t in zip(account_ids, template, strict=True)
            for shard in range(t.shards)
        ],
    )
    await audit.record(
        conn,
        "entity.create",
        f"entity:{entity.id}",
        kind=kind.value,
        code=code,
        name=name,
        prepaid=prepaid,
        parent_id=parent_id,
        reseller_id=reseller_id,
    )
    return entity


async def _code_taken(conn: AsyncConnection, code: str) -> bool:
    found = await conn.execute(select(entities.c.id).where(entities.c.code == code))
    return found.first() is not None


async def get_entity(conn: AsyncConnection, entity_id: int) -> Entity:
    row = (await conn.execute(select(entities).where(entities.c.id == entity_id))).first()
    if row is None:
        raise EntityNotFound(f"no entity with id {entity_id}")
    return _entity(row)


async def find_entity(conn: AsyncConnection, ref: str) -> Entity:
    """An entity by id ("42") or by code ("northnet", "alice@demo.example")."""
    condition = entities.c.code == ref
    # ASCII digits only (str.isdigit also takes Arabic-Indic digits), and only ids a BIGINT holds.
    if ref.isascii() and ref.isdigit() and int(ref) <= MAX_ID:
        condition = condition | (entities.c.id == int(ref))
    rows = (await conn.execute(select(entities).where(condition).order_by(entities.c.id))).all()
    if not rows:
        raise EntityNotFound(f"no entity with id or code {ref!r}")
    by_code = [r for r in rows if r.code == ref]
    return _entity(by_code[0] if by_code else rows[0])


@cache
def _isp_entity() -> Any:
    return select(entities).where(entities.c.kind == EntityKind.ISP.value)


async def isp_entity(conn: AsyncConnection) -> Entity:
    row = (await conn.execute(_isp_entity())).first()
    if row is None:
        raise EntityNotFound("this tenant has no ISP entity yet")
    return _entity(row)


async def update_entity(
    conn: AsyncConnection,
    entity_id: int,
    *,
    name: str | None = None,
    status: str | None = None,
    prepaid: bool | None = None,
    credit_limit_micros: int | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> Entity:
    """Change an entity's details; switching prepaid/post-paid moves its main-balance guard."""
    before = await get_entity(conn, entity_id)
    changes: dict[str, Any] = {}
    if name is not None:
        _check_name(name)
        changes["name"] = name
    if status is not None:
        if status not in STATUSES:
            raise InvalidEntity(f"status {status!r} is not one of {', '.join(STATUSES)}")
        changes["status"] = status
    if credit_limit_micros is not None:
        _check_credit_limit(credit_limit_micros)
        changes["credit_limit_micros"] = credit_limit_micros
    if attributes is not None:
        _check_attributes(attributes)
        changes["attributes"] = dict(attributes)
    if prepaid is not None and prepaid != before.prepaid:
        changes["prepaid"] = prepaid
        await _move_main_guard(conn, before, prepaid)
    if not changes:
        return before
    row = (
        await conn.execute(
            update(entities)
            .where(entities.c.id == entity_id)
            .values(**changes, updated_at=func.now())
            .returning(*entities.c)
        )
    ).one()
    await audit.record(
        conn,
        "entity.update",
        f"entity:{entity_id}",
        before={k: getattr(before, k) for k in changes},
        after=changes,
    )
    return _entity(row)


async def _move_main_guard(conn: AsyncConnection, entity: Entity, prepaid: bool) -> None:
    if entity.kind is not EntityKind.SUBSCRIBER:
        return
    main = await query_account(conn, entity.id, MAIN_BALANCE)
    if prepaid and main.balance < 0:
        raise InvalidEntity(
            f"entity {entity.code} owes {money.format_amount(-main.balance, entity.currency)}; "
            "settle it before switching to prepaid"
        )
    await conn.execute(
        update(account_balances).where(account_balances.c.account_id == main.id).values(floor=0 if prepaid else None)
    )


@cache  # built once: a statement is immutable, and building one costs more than running it
def _balances_query() -> Any:
    return (
        select(
            accounts.c.id,
            accounts.c.entity_id,
            accounts.c.code,
            accounts.c.name,
            accounts.c.unit,
            accounts.c.sign,
            func.sum(account_balances.c.balance).label("balance"),
            func.min(account_balances.c.floor).label("floor"),
        )
        .join(account_balances, account_balances.c.account_id == accounts.c.id)
        .group_by(accounts.c.id)
        .order_by(accounts.c.code)
    )


def _account(row: Row[Any]) -> AccountBalance:
    return AccountBalance(
        id=row.id,
        entity_id=row.entity_id,
        code=row.code,
        name=row.name,
        unit=row.unit,
        side="debit" if row.sign == 1 else "credit",
        balance=int(row.balance),
        floor=row.floor,
    )


async def query_account(conn: AsyncConnection, entity_id: int, code: str) -> AccountBalance:
    """One account of an entity with its current balance."""
    row = (
        await conn.execute(_balances_query().where(accounts.c.entity_id == entity_id, accounts.c.code == code))
    ).first()
    if row is None:
        raise EntityNotFound(f"entity {entity_id} has no account {code}")
    return _account(row)


async def query_accounts(
    conn: AsyncConnection, wanted: Mapping[int, Sequence[str]]
) -> dict[tuple[int, str], AccountBalance]:
    """Several accounts of several entities in one query, by (entity id, code)."""
    conditions = [
        and_(accounts.c.entity_id == entity_id, accounts.c.code.in_(list(codes)))
        for entity_id, codes in wanted.items()
        if codes
    ]
    if not conditions:
        return {}
    rows = (await conn.execute(_balances_query().where(or_(*conditions)))).all()
    found = {(row.entity_id, row.code): _account(row) for row in rows}
    missing = [(e, c) for e, codes in wanted.items() for c in codes if (e, c) not in found]
    if missing:
        raise EntityNotFound(f"no such accounts: {', '.join(f'entity {e} account {c}' for e, c in missing)}")
    return found


async def list_accounts(conn: AsyncConnection, entity_id: int) -> list[AccountBalance]:
    """Every account of an entity with its current balance."""
    rows = (await conn.execute(_balances_query().where(accounts.c.entity_id == entity_id))).all()
    return [_account(row) for row in rows]


@cache  # a statement built once keeps its cache key: SQLAlchemy does not walk it again per call
def _balances_of_ids() -> Any:
    return _balances_query().where(accounts.c.entity_id == any_(id_array("ids")))


@cache
def _main_balances_of_ids() -> Any:
    return _balances_of_ids().where(accounts.c.code == MAIN_BALANCE)


async def main_balances_of(conn: AsyncConnection, entity_ids: Iterable[int]) -> dict[int, AccountBalance]:
    """The main balance (1000) of several entities in one query, by entity id: what a page
    of customers shows, without the other five accounts of each chart."""
    ids = sorted(set(entity_ids))
    if not ids:
        return {}
    return {row.entity_id: _account(row) for row in await conn.execute(_main_balances_of_ids(), {"ids": ids})}


async def list_accounts_of(conn: AsyncConnection, entity_ids: Iterable[int]) -> dict[int, list[AccountBalance]]:
    """Every account of several entities with its balance, in one query, by entity id."""
    ids = sorted(set(entity_ids))
    found: dict[int, list[AccountBalance]] = {i: [] for i in ids}
    if ids:
        for row in await conn.execute(_balances_of_ids(), {"ids": ids}):
            found[row.entity_id].append(_account(row))
    return found
