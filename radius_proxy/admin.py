"""What an administrator does to sessions: disconnect one (RFC 5176)."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.platform.crypto.secretbox import SecretBox
from bureau.platform.sessions import control
from bureau.tenants.nas import load_nas_routes
from bureau.tenants.routing import TenantRef, tenant_unit

from . import attributes as a
from .disconnect import Disconnector


class SessionNotLive(LookupError):
    pass


async def disconnect_session(
    engine: AsyncEngine, box: SecretBox, tenant: TenantRef, session_id: int, *, disconnector: Disconnector | None = None
) -> str:
    """Send a Disconnect-Request for a live session; "ack", "nak:<cause>" or "timeout".

    The NAS answers with ACK and then sends the session's Stop, which closes it and
    releases its reservation; a NAK 503 (no such session on the NAS) closes it here.
    """
    async with tenant_unit(engine, tenant, actor="admin:disconnect") as conn:
        target = await control.disconnect_target(conn, session_id)
        if target is None:
            raise SessionNotLive(f"session {session_id} is not online")
        await control.mark_disconnect_requested(conn, session_id, datetime.now(UTC))
    route = next((r for r in (await load_nas_routes(engine, box)).routes if r.client.id == target.nas_id), None)
    if route is None:
        raise SessionNotLive(f"the NAS of session {session_id} is no longer registered")
    host = target.source_ip
    if host is None:
        network = ipaddress.ip_network(route.client.address)
        if network.num_addresses != 1:
            raise SessionNotLive(f"session {session_id} never sent accounting, and its NAS is a range: no address")
        host = str(network.network_address)
    identification = [(a.USER_NAME, target.login.encode())]
    if target.acct_session_id:
        identification.append((a.ACCT_SESSION_ID, target.acct_session_id.encode()))
    answer = await (disconnector or Disconnector()).disconnect(
        host, route.client.coa_port, route.secret, identification
    )
    if answer == "nak:503":
        async with tenant_unit(engine, tenant, actor="admin:disconnect") as conn:
            await control.close_session(
                conn, session_id, state="closed", cause="Session-Context-Not-Found", when=datetime.now(UTC)
            )
    return answer
