"""What a tenant-scoped unit of work carries besides its schema map.

The tenant routing module opens every tenant connection and sets these execution
options on it; platform services read them and never resolve a tenant themselves.
Execution options live on the Connection object, not on the pooled DBAPI connection,
so nothing of one unit of work survives into the next checkout.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncConnection

TENANT_ID = "bureau_tenant_id"
ACTOR = "bureau_actor"
DEFAULT_ACTOR = "system"


def _options(conn: AsyncConnection) -> Mapping[str, object]:
    sync = conn.sync_connection
    if sync is None:
        raise RuntimeError("connection is closed")
    return sync.get_execution_options()


def tenant_id_of(conn: AsyncConnection) -> int:
    """The registry id of the tenant this connection is scoped to."""
    value = _options(conn).get(TENANT_ID)
    if not isinstance(value, int):
        raise RuntimeError("connection is not a tenant unit of work (no tenant id set)")
    return value


def actor_of(conn: AsyncConnection) -> str:
    """Who is acting in this unit of work, for the audit log."""
    value = _options(conn).get(ACTOR, DEFAULT_ACTOR)
    return str(value)
