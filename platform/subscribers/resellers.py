"""Resellers (VISPs): branding, commission, realms and the plans they may sell (issue 3).

A reseller owns a ledger entity of kind `reseller` (its code is the reseller's code). A
sub-reseller has a parent reseller and may only sell what its parent may: allowing a
plan the parent does not sell is refused, and disallowing one at a parent disallows it
for every sub-reseller below. A realm with no reseller belongs to the ISP itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from sqlalchemy import Row, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ..audit import log as audit
from ..catalog.plans import Plan, get_plan, plan_from_row, plan_query
from ..catalog.tables import plans
from ..db.unit import tenant_id_of
from ..ledger.chart import EntityKind
from ..ledger.entities import create_entity, isp_entity
from ..ledger.tables import entities
from ..nas.downstream import realm_proxies
from .errors import Duplicate, InvalidSubscriberValue, NotFound, PlanNotAllowedForReseller
from .registry import realm_registry, register_realm
from .tables import realms, reseller_plans, resellers, services
from .validate import check_colour, check_email, check_phone, check_realm, check_text, check_url

MAX_DEPTH = 8  # ISP → VISP → sub-reseller → ...; a deeper chain is refused
MAX_REALMS_PER_CALL = 100
LOGINS_NAMED = 3  # logins quoted when a realm in use cannot be removed


@dataclass(frozen=True, slots=True)
class Branding:
    name: str | None = None
    logo_url: str | None = None
    primary_colour: str | None = None
    secondary_colour: str | None = None
    support_email: str | None = None
    support_phone: str | None = None

    def checked(self) -> Branding:
        return Branding(
            name=check_text(self.name, "branding name", required=False),
            logo_url=check_url(self.logo_url, "logo URL"),
            primary_colour=check_colour(self.primary_colour, "primary colour"),
            secondary_colour=check_colour(self.secondary_colour, "secondary colour"),
            support_email=None if self.support_email is None else check_email(self.support_email, "support email"),
            support_phone=check_phone(self.support_phone, "support phone"),
        )

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Branding:
        return cls(**{f.name: data.get(f.name) for f in fields(cls)})


@dataclass(frozen=True, slots=True)
class Reseller:
    id: int
    entity_id: int
    code: str
    name: str
    parent_id: int | None  # the parent reseller's id; None: sold directly under the ISP
    branding: Branding
    commission_bp: int


@dataclass(frozen=True, slots=True)
class Realm:
    id: int
    realm: str
    reseller_id: int | None  # None: the ISP itself
    strip_realm: bool


@dataclass(frozen=True, slots=True)
class ListedRealm:
    realm: Realm
    reseller_code: str | None  # None: the ISP itself


class RealmInUse(InvalidSubscriberValue):
    """A realm that logins or downstream servers still depend on cannot be removed."""


def reseller_query() -> Any:
    return select(
        resellers.c.id,
        resellers.c.entity_id,
        entities.c.code,
        entities.c.name,
        resellers.c.parent_id,
        resellers.c.branding,
        resellers.c.commission_bp,
    ).join(entities, entities.c.id == resellers.c.entity_id)


def reseller_from_row(row: Row[Any]) -> Reseller:
    return Reseller(
        id=row.id,
        entity_id=row.entity_id,
        code=row.code,
        name=row.name,
        parent_id=row.parent_id,
        branding=Branding.from_json(row.branding),
        commission_bp=row.commission_bp,
    )


def _check_commission(commission_bp: object) -> int:
    if isinstance(commission_bp, bool) or not isinstance(commission_bp, int) or not 0 <= commission_bp <= 10_000:
        raise InvalidSubscriberValue(
            f"commission must be whole basis points from 0 to 10000 (100%), got {commission_bp!r}"
        )
    return commission_bp


async def get_reseller(conn: AsyncConnection, code: str) -> Reseller:
    """The reseller whose entity has `code`."""
    row = (await conn.execute(reseller_query().where(entities.c.code == code))).first()
    if row is None:
        raise NotFound(f"no reseller has code {code!r}")
    return reseller_from_row(row)


async def get_reseller_by_id(conn: AsyncConnection, reseller_id: int) -> Reseller:
    row = (await conn.execute(reseller_query().where(resellers.c.id == reseller_id))).first()
    if row is None:
        raise NotFound(f"no reseller has id {reseller_id}")
    return reseller_from_row(row)


async def _depth(conn: AsyncConnection, reseller: Reseller) -> int:
    depth, current = 1, reseller
    while current.parent_id is not None:
        depth += 1
        if depth > MAX_DEPTH:
            break
        current = await get_reseller_by_id(conn, current.parent_id)
    return depth


async def create_reseller(
    conn: AsyncConnection,
    *,
    code: str,
    name: str,
    parent: str | None = None,
    branding: Branding | None = None,
    commission_bp: int = 0,
    realms: Iterable[str] = (),
    strip_realm: bool = False,
) -> Reseller:
    """Create a reseller: its ledger entity (chart of accounts), its row and its realms.

    `parent` is the code of the parent reseller for a sub-reseller.
    """
    brand = (branding or Branding()).checked()
    commission_bp = _check_commission(commission_bp)
    realm_names = [check_realm(r) for r in realms]
    if len(realm_names) > MAX_REALMS_PER_CALL:
        raise InvalidSubscriberValue(f"at most {MAX_REALMS_PER_CALL} realms at once, got {len(realm_names)}")
    above = await get_reseller(conn, parent) if parent is not None else None
    if above is not None and await _depth(conn, above) >= MAX_DEPTH:
        raise InvalidSubscriberValue(f"reseller {parent!r} is already {MAX_DEPTH} levels deep; no sub-reseller below")
    isp = await isp_entity(conn)
    entity = await create_entity(
        conn,
        kind=EntityKind.RESELLER,
        code=code,
        name=name,
        currency=isp.currency,
        parent_id=above.entity_id if above is not None else isp.id,
    )
    branding_json = asdict(brand)
    row = (
        await conn.execute(
            resellers.insert()
            .values(
                entity_id=entity.id,
                parent_id=above.id if above is not None else None,
                branding=branding_json,
                commission_bp=commission_bp,
            )
            .returning(resellers.c.id)
        )
    ).one()
    await audit.record(
        conn,
        "subscribers.reseller.create",
        f"reseller:{code}",
        entity_id=entity.id,
        parent=parent,
        branding=branding_json,
        commission_bp=commission_bp,
    )
    reseller = Reseller(row.id, entity.id, code, name, above.id if above else None, brand, commission_bp)
    for realm in realm_names:
        await add_realm(conn, realm, reseller=code, strip_realm=strip_realm)
    return reseller


async def add_realm(
    conn: AsyncConnection, realm: str, *, reseller: str | None = None, strip_realm: bool = False
) -> Realm:
    """Register a realm ("northnet.example") for `reseller` (a code), or for the ISP if None.

    The realm is claimed in the installation-wide registry (see `registry`) in the same
    transaction: a realm taken by any tenant, this one or another, raises Duplicate, and
    the message never says which tenant holds it.
    """
    name = check_realm(realm)
    owner = await get_reseller(conn, reseller) if reseller is not None else None
    taken = Duplicate(f"realm {name!r} is already registered; a realm belongs to one ISP or reseller")
    if not await register_realm(conn, name, owner.code if owner else None):
        raise taken
    row = (
        await conn.execute(
            pg_insert(realms)
            .values(realm=name, reseller_id=owner.id if owner else None, strip_realm=bool(strip_realm))
            .on_conflict_do_nothing(index_elements=["realm"])
            .returning(realms.c.id)
        )
    ).first()
    if row is None:  # only if the tenant row predates the registry and escaped its backfill
        raise taken
    await audit.record(conn, "subscribers.realm.add", f"realm:{name}", reseller=reseller, strip_realm=bool(strip_realm))
    return Realm(row.id, name, owner.id if owner else None, bool(strip_realm))


async def get_realm(conn: AsyncConnection, realm: str) -> Realm:
    name = check_realm(realm)
    row = (await conn.execute(select(realms).where(realms.c.realm == name))).first()
    if row is None:
        known = (await conn.execute(select(realms.c.realm).order_by(realms.c.realm).limit(20))).scalars().all()
        raise NotFound(f"realm {name!r} is not known; known realms: {', '.join(known) or 'none'}")
    return Realm(row.id, row.realm, row.reseller_id, row.strip_realm)


async def realm_page(
    conn: AsyncConnection, *, after_id: int = 0, limit: int, within: frozenset[int] | None = None
) -> list[ListedRealm]:
    """Up to `limit` realms with ids above `after_id`, oldest first, with their reseller's
    code. `within` (reseller ids) keeps only realms of those resellers, as a reseller's key
    sees them; None: every realm, the ISP's own included."""
    query = (
        select(realms, entities.c.code.label("reseller_code"))
        .outerjoin(resellers, resellers.c.id == realms.c.reseller_id)
        .outerjoin(entities, entities.c.id == resellers.c.entity_id)
        .where(realms.c.id > after_id)
        .order_by(realms.c.id)
        .limit(limit)
    )
    if within is not None:
        query = query.where(realms.c.reseller_id.in_(within))
    rows = await conn.execute(query)
    return [ListedRealm(Realm(r.id, r.realm, r.reseller_id, r.strip_realm), r.reseller_code) for r in rows]


async def remove_realm(conn: AsyncConnection, realm: str) -> Realm:
    """Give up a realm of the connection's tenant: its row and its registry claim.

    Refused (RealmInUse) while a RADIUS login that is not cancelled ends in "@realm"
    (its subscriber could no longer log in, and the login could not be made again) or
    while the realm is proxied to downstream servers (removing it would silently drop
    their sealed secrets). Cancelled logins do not count: cancelled is final.
    """
    found = await get_realm(conn, realm)
    await conn.execute(select(realms.c.id).where(realms.c.id == found.id).with_for_update())
    logins = (
        select(services.c.login)
        .where(
            services.c.kind == "radius_login",
            services.c.state != "cancelled",
            services.c.login.endswith(f"@{found.realm}", autoescape=True),
        )
        .order_by(services.c.login)
    )
    used = (await conn.execute(select(func.count()).select_from(logins.subquery()))).scalar_one()
    if used:
        named = ", ".join((await conn.execute(logins.limit(LOGINS_NAMED))).scalars())
        more = f" and {used - LOGINS_NAMED} more" if used > LOGINS_NAMED else ""
        raise RealmInUse(
            f"realm {found.realm!r} is still used by {used} RADIUS login(s) ({named}{more}); "
            "cancel those services first"
        )
    proxies = (
        await conn.execute(select(func.count()).select_from(realm_proxies).where(realm_proxies.c.realm == found.realm))
    ).scalar_one()
    if proxies:
        raise RealmInUse(
            f"realm {found.realm!r} is proxied to {proxies} downstream server(s); "
            f"remove them first (bureau realm-proxy remove {found.realm} --host <address>)"
        )
    await conn.execute(delete(realms).where(realms.c.id == found.id))
    await conn.execute(
        delete(realm_registry).where(
            realm_registry.c.realm == found.realm, realm_registry.c.tenant_id == tenant_id_of(conn)
        )
    )
    await audit.record(conn, "subscribers.realm.remove", f"realm:{found.realm}", reseller_id=found.reseller_id)
    return found


async def _allowed(conn: AsyncConnection, reseller_id: int) -> tuple[Plan, ...]:
    query = (
        plan_query()
        .join(reseller_plans, reseller_plans.c.plan_id == plans.c.id)
        .where(reseller_plans.c.reseller_id == reseller_id)
        .order_by(plans.c.code)
    )
    return tuple(plan_from_row(row) for row in (await conn.execute(query)).all())


async def allowed_plans(conn: AsyncConnection, reseller: str) -> tuple[Plan, ...]:
    """The plans `reseller` (a code) may sell, by plan code."""
    return await _allowed(conn, (await get_reseller(conn, reseller)).id)


def _not_sold(plan_code: str, reseller: Reseller, allowed: Iterable[Plan]) -> PlanNotAllowedForReseller:
    codes = ", ".join(p.code for p in allowed) or "none"
    return PlanNotAllowedForReseller(f"plan {plan_code!r} is not sold by reseller {reseller.code!r}; allowed: {codes}")


async def check_plan_allowed(conn: AsyncConnection, reseller: Reseller, plan_code: str) -> None:
    """Raise PlanNotAllowedForReseller unless `reseller` may sell the plan."""
    allowed = await _allowed(conn, reseller.id)
    if not any(p.code == plan_code for p in allowed):
        raise _not_sold(plan_code, reseller, allowed)


async def allow_plan(conn: AsyncConnection, reseller: str, plan: str) -> bool:
    """Let `reseller` sell `plan` (codes); False if it already could. A sub-reseller may
    only be allowed what its parent may sell."""
    seller = await get_reseller(conn, reseller)
    found = await get_plan(conn, plan)
    if seller.parent_id is not None:
        await check_plan_allowed(conn, await get_reseller_by_id(conn, seller.parent_id), plan)
    row = (
        await conn.execute(
            pg_insert(reseller_plans)
            .values(reseller_id=seller.id, plan_id=found.id)
            .on_conflict_do_nothing()
            .returning(reseller_plans.c.plan_id)
        )
    ).first()
    if row is None:
        return False
    await audit.record(conn, "subscribers.reseller.allow_plan", f"reseller:{reseller}", plan=plan)
    return True


async def disallow_plan(conn: AsyncConnection, reseller: str, plan: str) -> bool:
    """Stop `reseller` and every sub-reseller below it selling `plan`; False if none could.

    Services already on the plan keep it: this only governs new sales and plan changes.
    """
    seller = await get_reseller(conn, reseller)
    found = await get_plan(conn, plan)
    ids, level = [seller.id], [seller.id]
    for _ in range(MAX_DEPTH):
        level = list(
            (await conn.execute(select(resellers.c.id).where(resellers.c.parent_id.in_(level)))).scalars().all()
        )
        if not level:
            break
        ids.extend(level)
    removed = (
        await conn.execute(
            delete(reseller_plans)
            .where(reseller_plans.c.plan_id == found.id, reseller_plans.c.reseller_id.in_(ids))
            .returning(reseller_plans.c.reseller_id)
        )
    ).all()
    if not removed:
        return False
    await audit.record(
        conn,
        "subscribers.reseller.disallow_plan",
        f"reseller:{reseller}",
        plan=plan,
        reseller_ids=sorted(r.reseller_id for r in removed),
    )
    return True


async def reseller_tree(conn: AsyncConnection, reseller_id: int) -> frozenset[int]:
    """The ids of a reseller and every reseller below it (what a reseller's key may see)."""
    tree = select(resellers.c.id).where(resellers.c.id == reseller_id).cte("tree", recursive=True)
    tree = tree.union_all(select(resellers.c.id).join(tree, resellers.c.parent_id == tree.c.id))
    return frozenset((await conn.execute(select(tree.c.id))).scalars())
