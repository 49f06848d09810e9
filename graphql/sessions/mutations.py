"""Disconnect a session (RFC 5176 Disconnect-Request to its NAS)."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from bureau.platform.sessions.listing import session_reseller

from ..context import Refused
from ..errors import NotFound
from ..permissions import CanManageCustomers
from .types import Disconnected

DisconnectResult = Annotated[Disconnected | NotFound, strawberry.union("DisconnectResult")]


@strawberry.type
class SessionMutations:
    @strawberry.mutation(
        permission_classes=[CanManageCustomers],
        description="Ask the NAS to end a session; its Stop then closes it and releases its reservation.",
    )
    async def disconnect_session(self, info: Info[Any, Any], id: strawberry.ID) -> DisconnectResult:
        missing = NotFound(message=f"no live session has id {id}")
        if not str(id).isdigit() or len(str(id)) > 18:
            return missing
        context = info.context
        async with context.unit() as conn:
            exists, reseller_id = await session_reseller(conn, int(id))
            allowed = await context.resellers(conn)
        if not exists or (allowed is not None and reseller_id not in allowed):
            return missing
        if context.disconnector is None:
            raise Refused("this server does not send Disconnect-Requests (no RADIUS side configured)")
        tenant = context.caller.tenant
        if tenant is None:  # CanManageCustomers lets tenant keys only: a broken invariant
            raise RuntimeError("a disconnect reached the resolver without a tenant")
        answer = await context.disconnector(tenant, int(id))
        return missing if answer is None else Disconnected(session=id, answer=answer)
