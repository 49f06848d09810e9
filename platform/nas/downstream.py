"""Wholesale proxying: an ISP's own RADIUS servers for a realm, and what was proxied.

A realm of the registry (`bureau.platform.subscribers.registry`) may be proxied: instead
of authenticating "user@realm" itself, Bureau forwards the NAS's Access-Requests and
Accounting-Requests to the ISP's downstream RADIUS servers and relays their answers
(`bureau.radius_proxy.proxying`). `bureau_shared.realm_proxies` (migration s0004) holds
those servers in failover order (`position`, 0 first), at most `MAX_SERVERS` per realm,
one row per host, each with its shared secret sealed with the installation's `SecretBox`
and bound to the tenant, realm, host and position, so a sealed secret copied to another
row or realm does not open.

Every Accounting-Request forwarded for a proxied realm is also kept in
`bureau_shared.proxied_accounting` for wholesale billing (`record_proxied_accounting`):
who sent it, when, the raw datagram, which server answered and whether one did.

Tenant code manages its realms' servers through a tenant unit of work (the tenant id
comes from the connection); the RADIUS proxy reads every server through
`bureau.tenants.proxies`, the routing side.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    Row,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ..audit import log as audit
from ..crypto.secretbox import SecretBox
from ..db.columns import created_at
from ..db.schema import SHARED, shared_metadata
from ..db.unit import tenant_id_of
from ..subscribers.registry import realm_registry
from .registry import MAX_SECRET, MIN_SECRET

MAX_SERVERS = 4  # per realm: each is tried in turn, and a NAS will not wait for more
DEFAULT_AUTH_PORT = 1812
DEFAULT_ACCT_PORT = 1813

realm_proxies = Table(
    "realm_proxies",
    shared_metadata,
    Column("realm", Text, ForeignKey(f"{SHARED}.realms.realm", ondelete="CASCADE"), nullable=False),
    Column("position", SmallInteger, nullable=False),
    Column("host", Text, nullable=False),
    Column("auth_port", Integer, nullable=False),
    Column("acct_port", Integer, nullable=False),
    Column("secret_sealed", LargeBinary, nullable=False),
    created_at(),
    PrimaryKeyConstraint("realm", "position"),
    UniqueConstraint("realm", "host", name="uq_realm_proxies_realm_host"),
    CheckConstraint("position >= 0", name="position"),
    CheckConstraint("auth_port BETWEEN 1 AND 65535 AND acct_port BETWEEN 1 AND 65535", name="ports"),
)

proxied_accounting = Table(
    "proxied_accounting",
    shared_metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("tenant_id", BigInteger, ForeignKey(f"{SHARED}.tenants.id"), nullable=False),
    Column("realm", Text, nullable=False),
    Column("nas_id", BigInteger, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("status_type", Integer),
    Column("acct_session_id", Text),
    Column("user_name", Text),
    Column("raw", LargeBinary, nullable=False),
    Column("forwarded_to", Text),  # "host:port" of the server that answered, else NULL
    Column("answered", Boolean, nullable=False, server_default="false"),
    Index("ix_proxied_accounting_tenant_id_received_at", "tenant_id", "received_at"),
)
# A retransmission (the very same datagram from the same NAS) is one record.
_one_per_datagram = Index(
    "uq_proxied_accounting_nas_id_raw",
    proxied_accounting.c.nas_id,
    func.sha256(proxied_accounting.c.raw),
    unique=True,
)


class DownstreamError(ValueError):
    """A downstream server that cannot be added, found or removed, with the reason."""


@dataclass(frozen=True, slots=True)
class Downstream:
    """One downstream RADIUS server of a realm (its secret stays sealed)."""

    tenant_id: int
    realm: str
    position: int  # failover order, 0 first; gaps after a removal are kept
    host: str  # an IP address, normalised ("2001:db8::1")
    auth_port: int
    acct_port: int


def secret_context(tenant_id: int, realm: str, host: str, position: int) -> bytes:
    """What a downstream secret is sealed to: the same secret in another row does not open."""
    return f"downstream:{tenant_id}:{realm}:{host}:{position}".encode()


def open_downstream_secret(box: SecretBox, server: Downstream, sealed: bytes) -> bytes:
    """The shared secret of `server`; SecretBoxError if it does not open."""
    return box.decrypt(sealed, secret_context(server.tenant_id, server.realm, server.host, server.position))


def check_host(host: object) -> str:
    """A downstream server's IP address, normalised; names are refused (no DNS on the packet path)."""
    if not isinstance(host, str):
        raise DownstreamError(f"a downstream server is an IP address such as 192.0.2.10, got {host!r}")
    try:
        address = ipaddress.ip_address(host.strip())
    except ValueError:
        raise DownstreamError(
            f"{host!r} is not an IP address; give the downstream RADIUS server's address, such as 192.0.2.10"
        ) from None
    if address.is_unspecified or address.is_multicast:
        raise DownstreamError(f"{address} cannot be a downstream RADIUS server (unspecified or multicast address)")
    return str(address)


def _check_port(port: object, what: str) -> int:
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise DownstreamError(f"the {what} port must be 1 to 65535, got {port!r}")
    return port


def _check_secret(secret: object) -> bytes:
    if not isinstance(secret, str) or not MIN_SECRET <= len(secret.encode()) <= MAX_SECRET:
        raise DownstreamError(f"a downstream server's secret must be {MIN_SECRET} to {MAX_SECRET} octets of text")
    return secret.encode()


def _realm_name(realm: object) -> str:
    if not isinstance(realm, str) or not realm.strip():
        raise DownstreamError(f"a realm is a domain name such as 'wholesale.example', got {realm!r}")
    return realm.strip().lower()


async def _own_realm(conn: AsyncConnection, realm: object, *, lock: bool = False) -> str:
    """The realm, lower-cased, if the connection's tenant owns it; else DownstreamError
    (without saying whether another tenant holds it). `lock` holds the registry row until
    the transaction ends, so concurrent changes to one realm's servers go one at a time."""
    name = _realm_name(realm)
    query = select(realm_registry.c.tenant_id).where(realm_registry.c.realm == name)
    if lock:
        query = query.with_for_update()
    owner = (await conn.execute(query)).scalar()
    if owner != tenant_id_of(conn):
        raise DownstreamError(f"realm {name!r} is not a realm of this ISP; add the realm before proxying it")
    return name


def _from_row(tenant_id: int, row: Row[Any]) -> Downstream:
    return Downstream(tenant_id, row.realm, row.position, row.host, row.auth_port, row.acct_port)


async def add_downstream(
    conn: AsyncConnection,
    box: SecretBox,
    *,
    realm: str,
    host: str,
    secret: str,
    auth_port: int = DEFAULT_AUTH_PORT,
    acct_port: int = DEFAULT_ACCT_PORT,
) -> Downstream:
    """Proxy `realm` (one of the connection's tenant's) to the RADIUS server at `host`,
    tried after the servers the realm already has. At most MAX_SERVERS per realm, and a
    host once per realm."""
    tenant_id = tenant_id_of(conn)
    address = check_host(host)
    _check_port(auth_port, "authentication")
    _check_port(acct_port, "accounting")
    plain = _check_secret(secret)
    name = await _own_realm(conn, realm, lock=True)
    existing = (
        await conn.execute(select(realm_proxies.c.position, realm_proxies.c.host).where(realm_proxies.c.realm == name))
    ).all()
    if any(row.host == address for row in existing):
        raise DownstreamError(f"{address} is already a downstream server of realm {name!r}; remove it first")
    if len(existing) >= MAX_SERVERS:
        raise DownstreamError(
            f"realm {name!r} already has {MAX_SERVERS} downstream servers, the most allowed; remove one first"
        )
    position = max((row.position for row in existing), default=-1) + 1
    row = (
        await conn.execute(
            insert(realm_proxies)
            .values(
                realm=name,
                position=position,
                host=address,
                auth_port=auth_port,
                acct_port=acct_port,
                secret_sealed=box.encrypt(plain, secret_context(tenant_id, name, address, position)),
            )
            .returning(realm_proxies)
        )
    ).one()
    await audit.record(
        conn, "realm.proxy.add", f"realm:{name}", host=address, position=position, ports=[auth_port, acct_port]
    )
    return _from_row(tenant_id, row)


async def list_downstream(conn: AsyncConnection, realm: str) -> list[Downstream]:
    """The downstream servers of one of the tenant's realms, in failover order (empty: not proxied)."""
    name = await _own_realm(conn, realm)
    rows = await conn.execute(
        select(realm_proxies).where(realm_proxies.c.realm == name).order_by(realm_proxies.c.position)
    )
    tenant_id = tenant_id_of(conn)
    return [_from_row(tenant_id, row) for row in rows]


async def remove_downstream(conn: AsyncConnection, realm: str, host: str) -> None:
    """Stop proxying `realm` to `host`; the other servers keep their order."""
    name = await _own_realm(conn, realm, lock=True)
    address = check_host(host)
    deleted = (
        await conn.execute(
            delete(realm_proxies)
            .where(realm_proxies.c.realm == name, realm_proxies.c.host == address)
            .returning(realm_proxies.c.position)
        )
    ).first()
    if deleted is None:
        raise DownstreamError(f"{address} is not a downstream server of realm {name!r}")
    await audit.record(conn, "realm.proxy.remove", f"realm:{name}", host=address, position=deleted.position)


async def record_proxied_accounting(
    conn: AsyncConnection,
    *,
    realm: str,
    nas_id: int,
    raw: bytes,
    received_at: datetime,
    status_type: int | None,
    acct_session_id: str | None,
    user_name: str | None,
    forwarded_to: str | None,
    answered: bool,
) -> int:
    """Keep a forwarded Accounting-Request of a proxied realm for wholesale billing; its id.

    `raw` is the datagram as the NAS sent it. The same datagram again from the same NAS
    (a retransmission, e.g. after a downstream timeout) updates the one record: once
    answered it stays answered, and `forwarded_to` keeps the server that answered.
    """
    statement = pg_insert(proxied_accounting).values(
        tenant_id=tenant_id_of(conn),
        realm=realm.lower(),
        nas_id=nas_id,
        received_at=received_at,
        status_type=status_type,
        acct_session_id=acct_session_id,
        user_name=user_name,
        raw=bytes(raw),
        forwarded_to=forwarded_to,
        answered=answered,
    )
    upsert = statement.on_conflict_do_update(
        index_elements=[proxied_accounting.c.nas_id, func.sha256(proxied_accounting.c.raw)],
        set_={
            "answered": proxied_accounting.c.answered | statement.excluded.answered,
            "forwarded_to": func.coalesce(statement.excluded.forwarded_to, proxied_accounting.c.forwarded_to),
        },
    ).returning(proxied_accounting.c.id)
    record_id: int = (await conn.execute(upsert)).scalar_one()
    return record_id
