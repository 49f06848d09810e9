"""Routing a proxied realm to its downstream RADIUS servers (wholesale proxying).

The RADIUS proxy loads every realm's downstream servers with `load_proxy_routes` (one
query, the secrets opened with the installation's key) and looks a realm up in the
returned dict: realm (lower-case) → servers in failover order. A realm absent from it is
not proxied and is handled by Bureau itself. Each route names its tenant, so the caller
can check that the NAS asking belongs to the tenant that owns the realm.

    routes = await load_proxy_routes(engine, box)
    servers = routes.get(realm, [])
    if servers and servers[0].tenant.id == nas_route.tenant.id: ...
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.platform.crypto.secretbox import SecretBox, SecretBoxError
from bureau.platform.nas.downstream import Downstream, open_downstream_secret, realm_proxies
from bureau.platform.subscribers.registry import realm_registry

from .routing import TenantRef
from .tables import tenants

log = logging.getLogger("bureau.radius")


@dataclass(frozen=True, slots=True)
class DownstreamRoute:
    """One downstream server of a proxied realm, with its secret opened."""

    tenant: TenantRef
    tenant_status: str
    realm: str
    position: int
    host: str
    auth_port: int
    acct_port: int
    secret: bytes

    def address(self, kind: str) -> tuple[str, int]:
        """Where to send a request of `kind` ("auth" or "acct")."""
        return self.host, self.auth_port if kind == "auth" else self.acct_port

    def label(self, kind: str) -> str:
        """ "192.0.2.10:1812", "[2001:db8::1]:1813": for logs, outcomes and records."""
        host, port = self.address(kind)
        shown = f"[{host}]" if ipaddress.ip_address(host).version == 6 else host
        return f"{shown}:{port}"


async def load_proxy_routes(engine: AsyncEngine, box: SecretBox) -> dict[str, list[DownstreamRoute]]:
    """Every proxied realm of the installation → its servers in failover order.

    A server whose secret does not open (sealed under a key this installation no longer
    holds) is logged and left out; if that leaves a realm with no server, the realm is
    absent, i.e. handled locally, where its users are normally unknown and rejected.
    """
    query = (
        select(realm_proxies, realm_registry.c.tenant_id, tenants.c.slug, tenants.c.status.label("tenant_status"))
        .join(realm_registry, realm_registry.c.realm == realm_proxies.c.realm)
        .join(tenants, tenants.c.id == realm_registry.c.tenant_id)
        .order_by(realm_proxies.c.realm, realm_proxies.c.position)
    )
    routes: dict[str, list[DownstreamRoute]] = {}
    async with engine.connect() as conn:
        rows = await conn.execute(query)
        for row in rows:
            server = Downstream(row.tenant_id, row.realm, row.position, row.host, row.auth_port, row.acct_port)
            try:
                secret = open_downstream_secret(box, server, row.secret_sealed)
            except SecretBoxError:
                log.error(
                    "downstream server %s of realm %s (tenant %s): its secret does not open; skipped",
                    server.host,
                    server.realm,
                    row.slug,
                )
                continue
            routes.setdefault(server.realm, []).append(
                DownstreamRoute(
                    tenant=TenantRef(row.tenant_id, row.slug),
                    tenant_status=row.tenant_status,
                    realm=server.realm,
                    position=server.position,
                    host=server.host,
                    auth_port=server.auth_port,
                    acct_port=server.acct_port,
                    secret=secret,
                )
            )
    return routes
