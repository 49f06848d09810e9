"""What the rest of the platform calls when something provisioning exports has changed.

A change to a service (state, plan, password) puts one "export this tenant" message in
the outbox, in the changing transaction (`outbox.py`); the worker then exports every
enabled target of the tenant from the current state. Messages coalesce, so a burst of
changes makes one export.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from .. import outbox

EXPORT_ACTOR = "export_tenant"


async def services_changed(conn: AsyncConnection) -> None:
    await outbox.enqueue(conn, EXPORT_ACTOR)


async def targets_changed(conn: AsyncConnection) -> None:
    """A target added or enabled: its first export follows."""
    await outbox.enqueue(conn, EXPORT_ACTOR)
