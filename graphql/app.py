"""`/graphql` on Starlette: the bearer key becomes the request's principal."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from cross_web import HTTPException  # what strawberry's ASGI view turns into a status code
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import ClientDisconnect
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UnsetType

from bureau.platform.crypto.secretbox import SecretBox
from bureau.tenants.apikeys import InvalidApiKey, Principal, authenticate
from bureau.tenants.events import ChangeFeed

from .context import Context, Disconnect
from .schema import build_schema

BEARER = "bearer "
MAX_SUBSCRIPTIONS = 20  # per WebSocket connection


class BureauGraphQL(GraphQL[Context, None]):
    """No key: anonymous (every field refuses but the schema itself); a bad key: 401, or on
    a WebSocket, the connection closed with 4403 at connection_init."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        introspection: bool,
        box: SecretBox | None,
        disconnect: Disconnect | None,
        changes: ChangeFeed | None,
    ) -> None:
        super().__init__(
            build_schema(introspection=introspection),
            graphql_ide="graphiql" if introspection else None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=10),
            max_subscriptions_per_connection=MAX_SUBSCRIPTIONS,
        )
        self.engine = engine
        self.box = box
        self.disconnect = disconnect
        self.changes = changes

    async def parse_http_body(self, request: Any) -> Any:
        """The request, refused (400) if any text in it holds a NUL character: PostgreSQL
        text cannot store one, and no name, login or reference needs it."""
        try:
            parsed = await super().parse_http_body(request)
        except ClientDisconnect:  # it gave up waiting (an overloaded server): nobody to answer
            raise HTTPException(400, "the client closed the connection before its request was read") from None
        for item in parsed if isinstance(parsed, list) else [parsed]:
            if _has_nul(item.query) or _has_nul(item.variables) or "\\u0000" in (item.query or ""):
                raise HTTPException(400, "text in a request may not contain a NUL character (\\u0000)")
        return parsed

    async def get_context(self, request: Any, response: Any) -> Context:
        header = request.headers.get("authorization")
        if isinstance(request, WebSocket):  # accepted already: a bad key is refused at connection_init
            try:
                principal = await self._principal(header)
            except HTTPException:
                context = Context(self.engine, None, uuid.uuid4().hex[:12], self.box, self.disconnect, self.changes)
                context.key_refused = True
                return context
        else:
            principal = await self._principal(header)
        return Context(self.engine, principal, uuid.uuid4().hex[:12], self.box, self.disconnect, self.changes)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """A browser cannot set headers on a WebSocket: its key may come in connection_init's
        payload instead, as {"Authorization": "Bearer <key>"}. A bad key closes with 4403."""
        params = context.connection_params or {}
        header = params.get("Authorization", params.get("authorization"))
        if context.key_refused:
            raise ConnectionRejectionError()
        if context.principal is None and header is not None:
            try:
                context.principal = await self._principal(str(header))
            except HTTPException:
                raise ConnectionRejectionError() from None
        return await super().on_ws_connect(context)

    async def _principal(self, header: str | None) -> Principal | None:
        if header is None:
            return None
        token = header[len(BEARER) :].strip() if header.lower().startswith(BEARER) else ""
        try:
            return await authenticate(self.engine, token)
        except InvalidApiKey as exc:
            raise HTTPException(401, str(exc)) from None


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def graphql_routes(
    engine: AsyncEngine,
    *,
    introspection: bool = True,
    box: SecretBox | None = None,
    disconnect: Disconnect | None = None,
    changes: ChangeFeed | None = None,
) -> list[BaseRoute]:
    """`/graphql` over HTTP, and over WebSocket for subscriptions."""
    app = BureauGraphQL(engine, introspection=introspection, box=box, disconnect=disconnect, changes=changes)
    return [Route("/graphql", app), WebSocketRoute("/graphql", app)]
