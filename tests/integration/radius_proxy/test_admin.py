"""An administrator disconnects a session: the NAS gets a Disconnect-Request; ACK leaves
the session to its Stop, NAK 503 closes it here and releases its reservation."""

from __future__ import annotations

import asyncio
import struct
from typing import Any

import pytest

from bureau.platform.radius import wire
from bureau.platform.sessions.control import live_sessions
from bureau.radius_proxy import attributes as a
from bureau.radius_proxy.admin import SessionNotLive, disconnect_session
from bureau.radius_proxy.disconnect import Disconnector

from .conftest import SECRET, Nas


async def _online(nas: Nas, name: str) -> tuple[str, int]:
    login = await nas.subscriber(name, "hourly", 5_000_000)
    accept = await nas.ask("auth", nas.pap(1, login, f"{name}-secret"))
    assert accept is not None and accept.code == 2
    start = nas.accounting(
        2, [(1, login.encode()), (40, struct.pack("!I", 1)), (44, b"adm-1"), (25, accept.first(a.CLASS) or b"")]
    )
    assert await nas.ask("acct", start) is not None
    async with nas.unit() as conn:
        (session,) = await live_sessions(conn, login=login)
    return login, session.id


async def _answer(nas: Nas, code: int, cause: int | None = None) -> bytes:
    data, source = await asyncio.wait_for(nas.coa.inbox.get(), 5)
    request = wire.parse(data)
    attributes = [(101, struct.pack("!I", cause))] if cause else []
    reply = wire.sign_reply(code, request.identifier, attributes, request.authenticator, SECRET, request_code=40)
    assert nas.coa.transport is not None
    nas.coa.transport.sendto(reply, source)
    return data


async def test_disconnect_acknowledged(nas: Nas) -> None:
    login, session = await _online(nas, "amy")
    sending = asyncio.create_task(
        disconnect_session(nas.engine, nas.box, nas.tenant.ref, session, disconnector=Disconnector(timeout_s=1))
    )
    request = wire.parse(await _answer(nas, 41))
    assert await sending == "ack"
    assert request.first(a.USER_NAME) == login.encode() and request.first(a.ACCT_SESSION_ID) == b"adm-1"
    async with nas.unit() as conn:
        (still,) = await live_sessions(conn, login=login)
    assert still.disconnect_requested  # open until the NAS's Stop arrives


async def test_disconnect_nak_503_closes_the_session(nas: Nas, assert_ledger_sound: Any) -> None:
    login, session = await _online(nas, "ben")
    sending = asyncio.create_task(
        disconnect_session(nas.engine, nas.box, nas.tenant.ref, session, disconnector=Disconnector(timeout_s=1))
    )
    await _answer(nas, 42, 503)
    assert await sending == "nak:503"
    async with nas.unit() as conn:
        assert await live_sessions(conn, login=login) == []
    assert await nas.balance(login, "1010") == 0
    with pytest.raises(SessionNotLive):
        await disconnect_session(nas.engine, nas.box, nas.tenant.ref, session)
    await assert_ledger_sound(nas.tenant)
