"""The desired state of a tenant's accounts, read from billing: what every target should hold.

Active and suspended services are exported; pending and cancelled ones are not (a
cancelled account is removed from every target by the next export). Accounts come in
service id order, which is also the order of their uids.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Text, any_, bindparam, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from ..catalog.tables import plans
from ..crypto.secretbox import SecretBox
from ..crypto.unix_crypt import random_salt, sha512_crypt
from ..db import direct
from ..subscribers.services import secret_context
from ..subscribers.tables import customers, services
from .accounts import Account, AccountState

UID_BASE = 10_000  # a service's Unix uid is UID_BASE + its id: stable, never reused
EXPORTED_STATES = ("active", "suspended")
ALL_KINDS = ("radius_login", "mailbox", "web", "ftp", "disk_quota", "domain")


_desired = (
    select(
        services.c.id,
        services.c.customer_id,
        services.c.kind,
        services.c.login,
        services.c.state,
        services.c.password_crypt,
        services.c.quota_mb,
        customers.c.name,
        customers.c.email,
        plans.c.code,
    )
    .join(customers, customers.c.id == services.c.customer_id)
    .join(plans, plans.c.id == services.c.plan_id)
    .where(
        services.c.state == any_(bindparam("states", type_=ARRAY(Text))),
        services.c.kind == any_(bindparam("kinds", type_=ARRAY(Text))),
    )
    .order_by(services.c.id)
)


async def desired_accounts(conn: AsyncConnection, kinds: Collection[str]) -> list[Account]:
    """The accounts of these service kinds that targets should hold.

    Run on the driver directly (`db/direct.py`): an export of 100,000 services spent most
    of its query time turning rows into SQLAlchemy rows."""
    rows = await direct.fetch(conn, _desired, {"states": list(EXPORTED_STATES), "kinds": sorted(kinds)})
    states = {state.value: state for state in AccountState}
    return [
        Account(
            service_id=service_id,
            customer_id=customer_id,
            kind=kind,
            login=login,
            state=states[state],
            uid=UID_BASE + service_id,
            name=name,
            email=email,
            plan=plan,
            password_crypt=password_crypt,
            quota_mb=quota_mb,
        )
        for service_id, customer_id, kind, login, state, password_crypt, quota_mb, name, email, plan in rows
    ]


async def fill_password_crypts(conn: AsyncConnection, box: SecretBox) -> int:
    """Make the crypt(3) hash of every password that has none yet (services whose
    password was set before hashes were kept for exports); the number made."""
    rows = (
        await conn.execute(
            select(services.c.id, services.c.kind, services.c.login, services.c.password_secret)
            .where(services.c.password_crypt.is_(None), services.c.password_secret.is_not(None))
            .with_for_update()
        )
    ).all()
    for row in rows:
        password = box.decrypt(row.password_secret, secret_context(row.kind, row.login)).decode()
        await conn.execute(
            update(services).where(services.c.id == row.id).values(password_crypt=sha512_crypt(password, random_salt()))
        )
    return len(rows)
