"""Disconnect-Request client (RFC 5176): ask a NAS to end a session.

The request carries the session's identification attributes and a Message-Authenticator,
goes to the NAS's CoA/Disconnect port from a socket of its own, and is retransmitted
with doubling waits until an ACK or NAK with a valid Response Authenticator arrives, or
the attempts run out. NAK carries Error-Cause; 503 (Session-Context-Not-Found) means the
NAS has no such session any more.
"""

from __future__ import annotations

import asyncio
import secrets

from bureau.platform.radius import wire

from . import attributes as a

DISCONNECT_REQUEST, DISCONNECT_ACK, DISCONNECT_NAK = 40, 41, 42


class _Reply(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.answers: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.answers.put_nowait(data)


class Disconnector:
    def __init__(self, *, timeout_s: float = 2.0, attempts: int = 5) -> None:
        self.timeout_s = timeout_s
        self.attempts = attempts
        self.sent = 0
        self.answered: dict[str, int] = {}

    async def disconnect(self, host: str, port: int, secret: bytes, identification: list[tuple[int, bytes]]) -> str:
        """ "ack", "nak:<Error-Cause>" or "timeout"."""
        identifier = secrets.randbelow(256)
        datagram = wire.sign_request(
            DISCONNECT_REQUEST, identifier, [*identification, (a.MESSAGE_AUTHENTICATOR, b"")], secret
        )
        request_authenticator = datagram[4:20]
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.create_datagram_endpoint(_Reply, remote_addr=(host, port))
        try:
            wait = self.timeout_s
            for _ in range(self.attempts):
                transport.sendto(datagram)
                self.sent += 1
                deadline = loop.time() + wait
                while (left := deadline - loop.time()) > 0:
                    try:
                        data = await asyncio.wait_for(protocol.answers.get(), left)
                    except TimeoutError:
                        break
                    answer = self._answer(data, identifier, request_authenticator, secret)
                    if answer is not None:
                        self.answered[answer] = self.answered.get(answer, 0) + 1
                        return answer
                wait *= 2
            return "timeout"
        finally:
            transport.close()

    @staticmethod
    def _answer(data: bytes, identifier: int, request_authenticator: bytes, secret: bytes) -> str | None:
        try:
            reply = wire.parse(data)
        except wire.MalformedPacket:
            return None
        if reply.identifier != identifier or reply.code not in (DISCONNECT_ACK, DISCONNECT_NAK):
            return None
        if not wire.response_ok(reply, request_authenticator, secret):
            return None
        vector = wire.reply_vector(reply.code, request_authenticator, DISCONNECT_REQUEST)
        if wire.verify_message_authenticator(reply, secret, vector) is False:
            return None
        if reply.code == DISCONNECT_ACK:
            return "ack"
        cause = a.integer(reply, a.ERROR_CAUSE)
        return f"nak:{cause}" if cause is not None else "nak"
