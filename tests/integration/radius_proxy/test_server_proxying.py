"""Through the running server: a realm proxied to the ISP's own RADIUS server is answered by
it, and its accounting is still recorded for wholesale billing."""

from __future__ import annotations

import asyncio
import struct
from typing import Any

from sqlalchemy import select

from bureau.platform.nas.downstream import add_downstream, proxied_accounting
from bureau.platform.radius import wire
from bureau.platform.radius.passwords import reveal_password

from .conftest import Nas

DOWN_SECRET = b"downstream-secret"


class _Downstream(asyncio.DatagramProtocol):
    """The ISP's own server: accepts "dora" with password "dora-pw", answers accounting."""

    def __init__(self) -> None:
        self.transport: Any = None
        self.seen: list[wire.RawPacket] = []

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        request = wire.parse(data)
        self.seen.append(request)
        echoed = [(33, state) for state in wire.proxy_states(request)]
        if request.code == 1:
            password = reveal_password(request.first(2) or b"", DOWN_SECRET, request.authenticator)
            code, first = (2 if password == b"dora-pw" else 3), [(80, b"")]
        else:
            code, first = 5, []
        reply = wire.sign_reply(code, request.identifier, [*first, *echoed], request.authenticator, DOWN_SECRET,
                                request_code=request.code)  # fmt: skip
        self.transport.sendto(reply, addr)


async def test_a_proxied_realm_is_answered_downstream_and_its_accounting_recorded(nas: Nas) -> None:
    host = nas.address.replace("127.0.1.", "127.0.3.")
    transport, downstream = await asyncio.get_running_loop().create_datagram_endpoint(_Downstream, local_addr=(host, 0))
    try:
        port = transport.get_extra_info("sockname")[1]
        async with nas.unit() as conn:
            await add_downstream(conn, nas.box, realm=nas.realm, host=host, secret=DOWN_SECRET.decode(),
                                 auth_port=port, acct_port=port)  # fmt: skip
        await nas.server.reload_nas()
        login = f"dora@{nas.realm}"
        accept = await nas.ask("auth", nas.pap(1, login, "dora-pw"))
        assert accept is not None and accept.code == 2
        reject = await nas.ask("auth", nas.pap(2, login, "wrong"))
        assert reject is not None and reject.code == 3
        start = nas.accounting(3, [(1, login.encode()), (40, struct.pack("!I", 1)), (44, b"px-1")])
        answered = await nas.ask("acct", start)
        assert answered is not None and answered.code == 5
        assert [p.code for p in downstream.seen] == [1, 1, 4]
        async with nas.unit() as conn:
            rows = (await conn.execute(select(proxied_accounting).where(proxied_accounting.c.realm == nas.realm))).all()
        assert [(r.acct_session_id, r.answered) for r in rows] == [("px-1", True)]
    finally:
        transport.close()


async def test_a_realm_marked_strip_reaches_the_downstream_without_its_realm(nas: Nas) -> None:
    from bureau.platform.subscribers.resellers import add_realm

    host = nas.address.replace("127.0.1.", "127.0.4.")
    realm = f"strip-{nas.realm}"
    transport, downstream = await asyncio.get_running_loop().create_datagram_endpoint(_Downstream, local_addr=(host, 0))
    try:
        port = transport.get_extra_info("sockname")[1]
        async with nas.unit() as conn:
            await add_realm(conn, realm, strip_realm=True)
            await add_downstream(conn, nas.box, realm=realm, host=host, secret=DOWN_SECRET.decode(),
                                 auth_port=port, acct_port=port)  # fmt: skip
        await nas.server.reload_nas()
        accept = await nas.ask("auth", nas.pap(1, f"dora@{realm}", "dora-pw"))
        assert accept is not None and accept.code == 2
        assert downstream.seen[0].first(1) == b"dora"
    finally:
        transport.close()
