"""Routing a RADIUS datagram to its tenant by the NAS it comes from.

The proxy loads every NAS of the installation with `load_nas_routes` (one query, the
secrets opened with the installation's key) and answers "which NAS sent this?" in memory
with `NasTable.find`: the most specific range containing the source address. Ranges do
not overlap (the registry refuses it), so at most one NAS matches.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.platform.crypto.secretbox import SecretBox, SecretBoxError
from bureau.platform.nas.registry import NasClient, nas_clients, nas_from_row, open_secret

from .routing import TenantRef
from .tables import tenants

log = logging.getLogger("bureau.radius")


@dataclass(frozen=True, slots=True)
class NasRoute:
    tenant: TenantRef
    tenant_status: str
    client: NasClient
    secret: bytes
    network: ipaddress.IPv4Network | ipaddress.IPv6Network


class NasTable:
    """The NAS of the installation, looked up by source address in memory."""

    def __init__(self, routes: Iterable[NasRoute]) -> None:
        # Most specific first: a /32 inside a /24 of another NAS cannot exist (no overlap),
        # but sorting keeps the lookup right even if the registry ever allowed it.
        self._routes = sorted(routes, key=lambda r: r.network.prefixlen, reverse=True)
        self._hosts = {str(r.network.network_address): r for r in self._routes if r.network.num_addresses == 1}

    def __len__(self) -> int:
        return len(self._routes)

    @property
    def routes(self) -> tuple[NasRoute, ...]:
        return tuple(self._routes)

    def find(self, address: str) -> NasRoute | None:
        host = self._hosts.get(address)
        if host is not None:
            return host
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return None
        for route in self._routes:
            if ip.version == route.network.version and ip in route.network:
                return route
        return None


async def load_nas_routes(engine: AsyncEngine, box: SecretBox) -> NasTable:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(nas_clients, tenants.c.slug, tenants.c.status.label("tenant_status")).join(
                tenants, tenants.c.id == nas_clients.c.tenant_id
            )
        )
        routes = []
        for row in rows:
            client = nas_from_row(row)
            try:
                secret = open_secret(box, client, row.secret_sealed)
            except SecretBoxError:
                # Sealed under a key this installation no longer holds: its datagrams are
                # dropped as from an unknown NAS until the secret is set again.
                log.error(
                    "NAS %s (%s) of tenant %s: its secret does not open; skipped", client.name, client.address, row.slug
                )
                continue
            routes.append(
                NasRoute(
                    tenant=TenantRef(row.tenant_id, row.slug),
                    tenant_status=row.tenant_status,
                    client=client,
                    secret=secret,
                    network=ipaddress.ip_network(client.address),
                )
            )
    return NasTable(routes)
