"""The NAS registry: which tenant a RADIUS client address belongs to, and its secret.

`bureau_shared.nas_clients` (migration s0003) holds, for every NAS of every tenant, its
address or CIDR range, its shared secret sealed with the installation's `SecretBox`
(bound to the tenant and the address, so a sealed secret copied to another row does not
open), its NAS-Identifier, type, CoA/Disconnect port and BlastRADIUS settings. Ranges
never overlap in the whole installation, so a datagram's source address names exactly
one NAS and one tenant before anything in it is read.

Tenant code adds and lists its own NAS through a tenant unit of work (the tenant id
comes from the connection); the RADIUS proxy reads every NAS through
`bureau.tenants.nas`, the routing side.
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
    ForeignKey,
    Identity,
    Integer,
    LargeBinary,
    Row,
    Table,
    Text,
    UniqueConstraint,
    delete,
    insert,
    select,
)
from sqlalchemy.dialects.postgresql import CIDR
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ..audit import log as audit
from ..crypto.secretbox import SecretBox
from ..db.columns import created_at
from ..db.schema import SHARED, shared_metadata
from ..db.unit import tenant_id_of

MIN_SECRET = 8
MAX_SECRET = 128
MAX_NAS_IDENTIFIER = 253  # octets: the longest RADIUS attribute value
NAS_TYPES = ("other", "mikrotik", "cisco", "juniper", "chillispot", "freeradius")

nas_clients = Table(
    "nas_clients",
    shared_metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("tenant_id", BigInteger, ForeignKey(f"{SHARED}.tenants.id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("address", CIDR, nullable=False),
    Column("secret_sealed", LargeBinary, nullable=False),
    Column("nas_identifier", Text),
    Column("nas_type", Text, nullable=False, server_default="other"),
    Column("coa_port", Integer, nullable=False, server_default="3799"),
    Column("require_message_authenticator", Boolean, nullable=False, server_default="true"),
    Column("limit_proxy_state", Boolean, nullable=False, server_default="true"),
    created_at(),
    UniqueConstraint("tenant_id", "name", name="uq_nas_clients_tenant_name"),
    CheckConstraint("coa_port BETWEEN 1 AND 65535", name="ck_nas_clients_coa_port"),
)


class NasError(ValueError):
    """A NAS that cannot be registered or found, with the reason."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        # The add_nas argument that was wrong ("address", "secret", ...), so an API can
        # point at its own input field; None when no single argument is to blame.
        self.field = field


@dataclass(frozen=True, slots=True)
class NasClient:
    id: int
    tenant_id: int
    name: str
    address: str  # "192.0.2.1/32", "2001:db8::/64"
    nas_identifier: str | None
    nas_type: str
    coa_port: int
    require_message_authenticator: bool  # BlastRADIUS: drop Access-Requests without it
    limit_proxy_state: bool  # when not required: still drop one without it that has Proxy-State
    created_at: datetime | None = None  # always set when read from the registry


def secret_context(tenant_id: int, address: str) -> bytes:
    return f"nas:{tenant_id}:{address}".encode()


def check_address(address: object) -> str:
    """A host address or a network in CIDR form, host bits clear: "192.0.2.0/24"."""
    if not isinstance(address, str):
        raise NasError(f"a NAS address must be text such as 192.0.2.1 or 192.0.2.0/24, got {address!r}", "address")
    try:
        return str(ipaddress.ip_network(address.strip(), strict=True))
    except ValueError as exc:
        raise NasError(
            f"{address!r} is not an IP address or a network such as 192.0.2.0/24 ({exc})", "address"
        ) from None


def _check_secret(secret: object) -> bytes:
    if not isinstance(secret, str) or not MIN_SECRET <= len(secret.encode()) <= MAX_SECRET:
        raise NasError(f"a NAS secret must be {MIN_SECRET} to {MAX_SECRET} octets of text", "secret")
    return secret.encode()


def _check_nas_identifier(nas_identifier: object) -> None:
    if nas_identifier is None:
        return
    if not isinstance(nas_identifier, str) or not 1 <= len(nas_identifier.encode()) <= MAX_NAS_IDENTIFIER:
        raise NasError(
            f"a NAS-Identifier must be 1 to {MAX_NAS_IDENTIFIER} octets of text (or none), got {nas_identifier!r}",
            "nas_identifier",
        )


def nas_from_row(row: Row[Any]) -> NasClient:
    return NasClient(
        id=row.id,
        tenant_id=row.tenant_id,
        name=row.name,
        address=str(row.address),
        nas_identifier=row.nas_identifier,
        nas_type=row.nas_type,
        coa_port=row.coa_port,
        require_message_authenticator=row.require_message_authenticator,
        limit_proxy_state=row.limit_proxy_state,
        created_at=row.created_at,
    )


async def add_nas(
    conn: AsyncConnection,
    box: SecretBox,
    *,
    name: str,
    address: str,
    secret: str,
    nas_identifier: str | None = None,
    nas_type: str = "other",
    coa_port: int = 3799,
    require_message_authenticator: bool = True,
    limit_proxy_state: bool = True,
) -> NasClient:
    """Register a NAS of the connection's tenant; its range may overlap no other NAS."""
    tenant_id = tenant_id_of(conn)
    network = check_address(address)
    sealed = box.encrypt(_check_secret(secret), secret_context(tenant_id, network))
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise NasError(f"a NAS name must be 1 to 100 characters, got {name!r}", "name")
    if nas_type not in NAS_TYPES:
        raise NasError(f"NAS type {nas_type!r} is not one of {', '.join(NAS_TYPES)}", "nas_type")
    if isinstance(coa_port, bool) or not isinstance(coa_port, int) or not 1 <= coa_port <= 65535:
        raise NasError(f"the CoA/Disconnect port must be 1 to 65535, got {coa_port!r}", "coa_port")
    _check_nas_identifier(nas_identifier)
    try:
        async with conn.begin_nested():
            row = (
                await conn.execute(
                    insert(nas_clients)
                    .values(
                        tenant_id=tenant_id,
                        name=name.strip(),
                        address=network,
                        secret_sealed=sealed,
                        nas_identifier=nas_identifier,
                        nas_type=nas_type,
                        coa_port=coa_port,
                        require_message_authenticator=require_message_authenticator,
                        limit_proxy_state=limit_proxy_state,
                    )
                    .returning(nas_clients)
                )
            ).one()
    except IntegrityError as exc:
        if "uq_nas_clients_tenant_name" in str(exc.orig):
            raise NasError(f"this ISP already has a NAS named {name!r}", "name") from None
        raise NasError(
            f"address {network} overlaps a NAS already registered; a RADIUS client address belongs to one NAS",
            "address",
        ) from None
    await audit.record(
        conn,
        "nas.add",
        f"nas:{row.id}",
        name=row.name,
        address=network,
        nas_type=nas_type,
        require_message_authenticator=require_message_authenticator,
        limit_proxy_state=limit_proxy_state,
    )
    return nas_from_row(row)


async def list_nas(conn: AsyncConnection) -> list[NasClient]:
    """The connection's tenant's NAS, by name."""
    rows = await conn.execute(
        select(nas_clients).where(nas_clients.c.tenant_id == tenant_id_of(conn)).order_by(nas_clients.c.name)
    )
    return [nas_from_row(row) for row in rows]


async def nas_page(conn: AsyncConnection, *, after_id: int = 0, limit: int) -> list[NasClient]:
    """Up to `limit` of the connection's tenant's NAS with ids above `after_id`, oldest
    first: a page for keyset paging (names can change order as NAS come and go)."""
    rows = await conn.execute(
        select(nas_clients)
        .where(nas_clients.c.tenant_id == tenant_id_of(conn), nas_clients.c.id > after_id)
        .order_by(nas_clients.c.id)
        .limit(limit)
    )
    return [nas_from_row(row) for row in rows]


async def remove_nas(conn: AsyncConnection, name: str) -> None:
    deleted = (
        await conn.execute(
            delete(nas_clients)
            .where(nas_clients.c.tenant_id == tenant_id_of(conn), nas_clients.c.name == name)
            .returning(nas_clients.c.id)
        )
    ).first()
    if deleted is None:
        raise NasError(f"this ISP has no NAS named {name!r}")
    await audit.record(conn, "nas.remove", f"nas:{deleted.id}", name=name)


def open_secret(box: SecretBox, client: NasClient, sealed: bytes) -> bytes:
    return box.decrypt(sealed, secret_context(client.tenant_id, client.address))
