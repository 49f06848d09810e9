"""Network queries: the ISP's NAS (staff only) and its realms (scoped for reseller keys).

NAS are the ISP's equipment, so a reseller key is refused them outright. Realms belong
to the ISP or a reseller: a reseller key sees those of its own reseller and of the
resellers below it, never the ISP's own nor a sibling's, as if the others did not exist.
Both lists are paged by id, oldest first.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from bureau.platform.nas.registry import nas_page
from bureau.platform.subscribers.resellers import realm_page

from ..pagination import DEFAULT_PAGE, Connection, after_key, connection, page_size
from ..permissions import InTenant, IsIspStaff
from .types import Nas, Realm


@strawberry.type
class NetworkQueries:
    @strawberry.field(
        permission_classes=[IsIspStaff],
        description="The ISP's NAS (RADIUS clients), oldest first. Secrets are write-only and never listed.",
    )
    async def nases(self, info: Info[Any, Any], first: int = DEFAULT_PAGE, after: str | None = None) -> Connection[Nas]:
        size = page_size(first)
        key = after_key("nas", after)
        async with info.context.unit() as conn:
            page = await nas_page(conn, after_id=key, limit=size + 1)
        return connection(page, size, "nas", lambda n: n.id, Nas.of)

    @strawberry.field(
        permission_classes=[InTenant],
        description="Realms, oldest first; a reseller key sees those of its reseller and of resellers below it.",
    )
    async def realms(
        self, info: Info[Any, Any], first: int = DEFAULT_PAGE, after: str | None = None
    ) -> Connection[Realm]:
        size = page_size(first)
        key = after_key("realm", after)
        async with info.context.unit() as conn:
            page = await realm_page(conn, after_id=key, limit=size + 1, within=await info.context.resellers(conn))
        return connection(page, size, "realm", lambda r: r.realm.id, Realm.of)
