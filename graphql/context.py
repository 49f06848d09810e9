"""What every resolver gets: the engine, who calls, a request id and the request's loaders."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bureau.platform.crypto.secretbox import SecretBox
from bureau.platform.subscribers.resellers import reseller_tree
from bureau.tenants.apikeys import Principal, Scope
from bureau.tenants.events import ChangeFeed
from bureau.tenants.routing import TenantRef, tenant_unit

from .loaders import Loaders

# Sends a Disconnect-Request for a tenant's session: the NAS's answer ("ack", "nak:<cause>",
# "timeout"), or None when the session is not live. The composition root (bureau/app.py)
# supplies it from the RADIUS side, which the API may not import.
Disconnect = Callable[[TenantRef, int], Awaitable[str | None]]


class Refused(Exception):
    """The caller may not do this; answered as a GraphQL error with this message."""


@dataclass
class Context:
    engine: AsyncEngine
    principal: Principal | None
    request_id: str
    sealer: SecretBox | None = None  # seals service passwords (the installation's secret key)
    disconnector: Disconnect | None = None
    changes: ChangeFeed | None = None  # what subscriptions listen to (None: no subscriptions here)
    connection_params: dict[str, object] | None = None  # a WebSocket's connection_init payload
    key_refused: bool = False  # a WebSocket's upgrade carried a bad key: closed at connection_init
    loaders: Loaders = field(init=False)
    _resellers: frozenset[int] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self)

    @property
    def caller(self) -> Principal:
        if self.principal is None:
            raise Refused("an API key is required: send Authorization: Bearer <key>")
        return self.principal

    @property
    def box(self) -> SecretBox:
        if self.sealer is None:
            raise Refused("this server has no secret key to seal passwords with; set BUREAU_SECRET_KEY")
        return self.sealer

    @property
    def feed(self) -> ChangeFeed:
        if self.changes is None:
            raise Refused("this server does not serve subscriptions")
        return self.changes

    @property
    def caller_tenant(self) -> TenantRef:
        """The tenant of an ISP or reseller key (refused for operator keys)."""
        tenant = self.caller.tenant
        if tenant is None:
            raise Refused("an operator key administers tenants; use a key of the tenant for its data")
        return tenant

    @property
    def currency(self) -> str:
        """The caller's tenant's currency, known from its key: what every amount shown is in."""
        currency = self.caller.currency
        if currency is None:
            raise Refused("an operator key administers tenants; use a key of the tenant for its data")
        return currency

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[AsyncConnection]:
        """A unit of work in the caller's tenant (isp and reseller keys only)."""
        async with tenant_unit(self.engine, self.caller_tenant, actor=self.caller.actor) as conn:
            yield conn

    async def resellers(self, conn: AsyncConnection) -> frozenset[int] | None:
        """The resellers whose customers the caller sees: None for the whole tenant (an ISP
        key), else the key's reseller and every reseller below it."""
        caller = self.caller
        if caller.scope is not Scope.RESELLER or caller.reseller_id is None:
            return None
        if self._resellers is None:
            self._resellers = await reseller_tree(conn, caller.reseller_id)
        return self._resellers
