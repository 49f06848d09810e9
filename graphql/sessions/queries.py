"""Open RADIUS sessions, a page at a time (by NAS or login)."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from bureau.platform.sessions.listing import session_page

from ..context import Refused
from ..pagination import DEFAULT_PAGE, Connection, after_key, connection, page_size
from ..permissions import InTenant
from .types import Session


@strawberry.type
class SessionQueries:
    @strawberry.field(permission_classes=[InTenant], description="Open sessions, oldest first.")
    async def sessions(
        self,
        info: Info[Any, Any],
        first: int = DEFAULT_PAGE,
        after: str | None = None,
        nas: strawberry.ID | None = None,
        login: str | None = None,
    ) -> Connection[Session]:
        size = page_size(first)
        if nas is not None and not str(nas).isdigit():
            raise Refused(f"nas {nas!r} is not a NAS id")
        async with info.context.unit() as conn:
            page = await session_page(
                conn,
                after_id=after_key("session", after),
                limit=size + 1,
                nas_id=int(nas) if nas is not None else None,
                login=login,
                resellers=await info.context.resellers(conn),
            )
        return connection(page, size, "session", lambda s: s.id, Session.of)
