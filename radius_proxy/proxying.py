"""Wholesale proxying: relay a NAS's request for a proxied realm to the ISP's own servers.

A realm with downstream servers (`bureau.platform.nas.downstream`, loaded by
`bureau.tenants.proxies.load_proxy_routes`) is not authenticated by Bureau: the server
hands the verified request to `Proxy.forward`, which

1. builds the downstream request: the same code and attributes as the NAS's, except that
   - User-Password is revealed with the NAS secret and the NAS's Request Authenticator
     and hidden again with the downstream secret and the new authenticator
     (RFC 2865 §5.2);
   - an Access-Request gets a fresh random Request Authenticator and a
     Message-Authenticator as its first attribute, whether or not the NAS sent one
     (BlastRADIUS); CHAP-Password and MS-CHAP attributes pass unchanged, but a
     CHAP-Password without CHAP-Challenge used the NAS's authenticator as its challenge,
     so that authenticator is sent as CHAP-Challenge (FreeRADIUS does the same);
   - an Accounting-Request is re-signed with the downstream secret (`wire.sign_request`;
     its Message-Authenticator is recomputed if the NAS sent one);
   - Bureau's own Proxy-State (16 random octets, remembered while the request is
     outstanding) is appended as the LAST attribute (RFC 2865 §5.33);
2. sends it from an ephemeral socket connected to the server (only that address can
   answer), waits `timeout_s`, retransmits the identical datagram (same Identifier and
   authenticator, so the server's duplicate cache recognises it, RFC 5080 §2.2.1) up to
   `tries` times in all, then fails over to the next server in order;
3. accepts a reply only if it parses, has the request's Identifier and a code that
   answers it, its Response Authenticator verifies with the downstream secret, its
   Message-Authenticator verifies (required on Access-Accept/Reject/Challenge; checked
   if present on an Accounting-Response) and it carries our Proxy-State. Anything else
   is discarded as if it never came, and the wait goes on;
4. rebuilds the reply for the NAS: the same code and attributes, with every Proxy-State
   removed and the NAS's own Proxy-State values from its request appended in order
   (they went downstream and should have come back; taking them from the request means
   they appear exactly once, in order, whatever the server did with them), MS-MPPE-Send/
   Recv-Key and Tunnel-Password decrypted with the downstream secret and request
   authenticator and encrypted again with fresh salts for the NAS secret and the NAS's
   Request Authenticator (RFC 2548 §2.4.2, RFC 2868 §3.5), signed with `wire.sign_reply`
   (Message-Authenticator first on an Access-* reply).

`forward` returns (datagram for the NAS or None, outcome): "answered:<host:port>",
"timeout" (no server answered), "bad_reply" (only discarded replies came),
"no_servers", "unsendable" (the request cannot be rebuilt: a malformed User-Password,
or too long once our attributes are added) or "overloaded" (too many outstanding).

**No answer is never an Accept, and not a Reject either.** When no server answers,
`forward` returns None and the NAS gets no reply. The NAS retries (its duplicate-cache
entry is forgotten, so the retry is forwarded again) and, once its own retries run out,
fails over to its secondary RADIUS server if it has one. A Reject would be wrong
information: the user's credentials were never judged, yet the NAS would tell the user
they were refused (some NASes also count it toward a lockout). FreeRADIUS rejects after
its home-server pool fails; we deliberately stay silent instead. For accounting, silence
is required: a NAS must keep retrying until the record is accepted (RFC 2866 §4.2), and
Bureau does not store and forward on the ISP's behalf.

Access-Challenge rounds: the State of a Challenge is remembered for `STICKY_S` seconds
with the server that issued it, and the next Access-Request carrying that State goes to
that server first (another server could not continue the exchange).

Not done: Acct-Delay-Time is passed on as received, not increased by the time the
request spent here; vendor attributes encrypted with the secret other than MS-MPPE keys
(e.g. Ascend-Send-Secret) are passed on unchanged and will not decrypt at the NAS.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bureau.platform.radius import wire
from bureau.platform.radius.mschap import BadMppeKey, decrypt_mppe_key, encrypt_mppe_key, new_mppe_salt
from bureau.platform.radius.passwords import BadPassword, hide_password, reveal_password
from bureau.tenants.proxies import DownstreamRoute

from . import attributes as a

log = logging.getLogger("bureau.radius")

STATE = 24
TUNNEL_PASSWORD = 69
PROXY_STATE_OCTETS = 16
DEFAULT_TIMEOUT_S = 2.0  # per try; a NAS typically waits 3-5 s before it retransmits
DEFAULT_TRIES = 2  # per server: the first send and one retransmission
MAX_TRIES = 3
MAX_OUTSTANDING = 65_536  # requests waiting for a downstream answer at once
STICKY_S = 60.0  # how long a Challenge's State keeps its request on the same server
MAX_STICKY = 16_384
_REPLIES_BY_KIND = {"auth": wire.ACCESS_REPLY_CODES, "acct": frozenset({wire.ACCOUNTING_RESPONSE})}
_REQUEST_CODE = {"auth": wire.ACCESS_REQUEST, "acct": wire.ACCOUNTING_REQUEST}
_MPPE_KEYS = frozenset({a.MS_MPPE_SEND_KEY, a.MS_MPPE_RECV_KEY})


class _Inbox(asyncio.DatagramProtocol):
    """What arrives on one ephemeral, connected socket."""

    def __init__(self) -> None:
        self.datagrams: asyncio.Queue[bytes] = asyncio.Queue(maxsize=64)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if not self.datagrams.full():  # a flood from the server is dropped, not queued
            self.datagrams.put_nowait(data)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable and the like: the try times out and the next one follows.
        log.debug("downstream RADIUS socket error: %s", exc)


@dataclass(frozen=True, slots=True)
class _Outbound:
    """One downstream request as sent to one server."""

    datagram: bytes
    identifier: int
    authenticator: bytes  # the downstream Request Authenticator


class Proxy:
    """Forwards requests of proxied realms to downstream servers (see module docstring)."""

    def __init__(
        self,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        tries: int = DEFAULT_TRIES,
        max_outstanding: int = MAX_OUTSTANDING,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s}")
        if not 1 <= tries <= MAX_TRIES:
            raise ValueError(f"tries must be 1 to {MAX_TRIES}, got {tries}")
        self.timeout_s = timeout_s
        self.tries = tries
        self.max_outstanding = max_outstanding
        self.clock = clock
        self.outcomes: Counter[str] = Counter()  # "answered", "timeout", ... for /metrics
        self.discarded: Counter[str] = Counter()  # downstream datagrams dropped, by reason
        self._outstanding: dict[bytes, str] = {}  # our Proxy-State → server being asked
        self._sticky: OrderedDict[bytes, tuple[float, str]] = OrderedDict()  # State → (expiry, server)

    @property
    def outstanding(self) -> int:
        """Requests waiting for a downstream answer now."""
        return len(self._outstanding)

    async def forward(
        self, kind: str, packet: wire.RawPacket, nas_secret: bytes, servers: list[DownstreamRoute]
    ) -> tuple[bytes | None, str]:
        """Relay a verified NAS request (`kind` "auth" or "acct") to `servers` in failover
        order; (the signed reply for the NAS or None, outcome). None: send the NAS nothing."""
        if kind not in _REQUEST_CODE or packet.code != _REQUEST_CODE[kind]:
            raise ValueError(f"a {kind!r} request cannot have code {packet.code}")
        outcome: tuple[bytes | None, str]
        if not servers:
            outcome = None, "no_servers"
        elif len(self._outstanding) >= self.max_outstanding:
            outcome = None, "overloaded"
        else:
            outcome = await self._forward(kind, packet, nas_secret, servers)
        self.outcomes[outcome[1].partition(":")[0]] += 1
        return outcome

    async def _forward(
        self, kind: str, packet: wire.RawPacket, nas_secret: bytes, servers: list[DownstreamRoute]
    ) -> tuple[bytes | None, str]:
        password: bytes | None = None
        hidden = packet.first(a.USER_PASSWORD)
        if hidden is not None:
            try:
                password = reveal_password(hidden, nas_secret, packet.authenticator)
            except BadPassword:
                return None, "unsendable"
        state = self._new_state()
        discarded = False
        try:
            for server in self._ordered(kind, packet, servers):
                label = server.label(kind)
                self._outstanding[state] = label
                try:
                    outbound = _build(kind, packet, password, server.secret, state)
                except (ValueError, BadPassword) as exc:
                    log.warning("request for realm %s cannot be forwarded: %s", server.realm, exc)
                    return None, "unsendable"
                reply, saw_bad = await self._exchange(kind, packet, nas_secret, server, outbound, state)
                discarded = discarded or saw_bad
                if reply is not None:
                    return reply, f"answered:{label}"
                log.warning("downstream RADIUS server %s of realm %s did not answer", label, server.realm)
        finally:
            self._outstanding.pop(state, None)
        return None, "bad_reply" if discarded else "timeout"

    def _new_state(self) -> bytes:
        while True:
            state = secrets.token_bytes(PROXY_STATE_OCTETS)
            if state not in self._outstanding:
                return state

    def _ordered(self, kind: str, packet: wire.RawPacket, servers: Sequence[DownstreamRoute]) -> list[DownstreamRoute]:
        """Failover order, except that a Challenge's follow-up goes to the server that issued it."""
        ordered = list(servers)
        value = packet.first(STATE)
        if kind != "auth" or value is None:
            return ordered
        self._expire_sticky()
        pinned = self._sticky.get(value)
        if pinned is not None:
            ordered.sort(key=lambda server: server.label(kind) != pinned[1])
        return ordered

    def _remember_challenge(self, reply: wire.RawPacket, label: str) -> None:
        value = reply.first(STATE)
        if reply.code != wire.ACCESS_CHALLENGE or value is None:
            return
        self._expire_sticky()
        self._sticky[value] = (self.clock() + STICKY_S, label)
        self._sticky.move_to_end(value)
        while len(self._sticky) > MAX_STICKY:
            self._sticky.popitem(last=False)

    def _expire_sticky(self) -> None:
        now = self.clock()
        while self._sticky and next(iter(self._sticky.values()))[0] <= now:
            self._sticky.popitem(last=False)

    async def _exchange(
        self,
        kind: str,
        packet: wire.RawPacket,
        nas_secret: bytes,
        server: DownstreamRoute,
        outbound: _Outbound,
        state: bytes,
    ) -> tuple[bytes | None, bool]:
        """Send to one server `tries` times; (the NAS's reply, whether any datagram was discarded)."""
        loop = asyncio.get_running_loop()
        label = server.label(kind)
        try:
            transport, inbox = await loop.create_datagram_endpoint(_Inbox, remote_addr=server.address(kind))
        except OSError as exc:
            log.warning("cannot reach downstream RADIUS server %s: %s", label, exc)
            return None, False
        discarded = False
        try:
            for _ in range(self.tries):
                transport.sendto(outbound.datagram)
                deadline = loop.time() + self.timeout_s
                while (left := deadline - loop.time()) > 0:
                    try:
                        data = await asyncio.wait_for(inbox.datagrams.get(), left)
                    except TimeoutError:
                        break
                    reply = self._accept(kind, data, outbound, server.secret, state)
                    if reply is None:
                        discarded = True
                        continue
                    rebuilt = self._rebuild(kind, packet, nas_secret, reply, outbound, server.secret)
                    if rebuilt is None:
                        discarded = True
                        continue
                    self._remember_challenge(reply, label)
                    return rebuilt, discarded
            return None, discarded
        finally:
            transport.close()

    def _accept(
        self, kind: str, data: bytes, outbound: _Outbound, secret: bytes, state: bytes
    ) -> wire.RawPacket | None:
        """The downstream reply if it is genuine and answers `outbound`, else None (discard)."""
        try:
            reply = wire.parse(data)
        except wire.MalformedPacket as exc:
            self._discard(f"malformed:{exc.reason}")
            return None
        problem = _problem(kind, reply, outbound, secret, state)
        if problem is not None:
            self._discard(problem)
            return None
        return reply

    def _discard(self, reason: str) -> None:
        self.discarded[reason] += 1
        log.warning("discarding a downstream RADIUS reply: %s", reason)

    def _rebuild(
        self,
        kind: str,
        packet: wire.RawPacket,
        nas_secret: bytes,
        reply: wire.RawPacket,
        outbound: _Outbound,
        downstream_secret: bytes,
    ) -> bytes | None:
        """The reply for the NAS, or None if its encrypted attributes do not decrypt."""
        salts: set[bytes] = set()
        attributes: list[tuple[int, bytes]] = []
        try:
            for kind_, value in reply.attributes:
                if kind_ in (wire.MESSAGE_AUTHENTICATOR, wire.PROXY_STATE):
                    continue
                if kind_ == wire.VENDOR_SPECIFIC and int.from_bytes(value[:4], "big") == a.MICROSOFT:
                    value = _recrypt_microsoft(
                        value, downstream_secret, outbound.authenticator, nas_secret, packet.authenticator, salts
                    )
                elif kind_ == TUNNEL_PASSWORD and len(value) > 3:
                    tag, plain = value[:1], decrypt_mppe_key(value[1:], downstream_secret, outbound.authenticator)
                    value = tag + encrypt_mppe_key(plain, nas_secret, packet.authenticator, _salt(salts))
                attributes.append((kind_, value))
            signed = attributes
            if kind == "auth" or packet.first(wire.MESSAGE_AUTHENTICATOR) is not None:
                signed = [(wire.MESSAGE_AUTHENTICATOR, b""), *attributes]
            echoed = [(wire.PROXY_STATE, value) for value in wire.proxy_states(packet)]
            return wire.sign_reply(
                reply.code,
                packet.identifier,
                [*signed, *echoed],
                packet.authenticator,
                nas_secret,
                request_code=packet.code,
            )
        except (BadMppeKey, ValueError) as exc:
            self._discard(f"cannot_rebuild:{type(exc).__name__}")
            log.warning("downstream reply cannot be passed on: %s", exc)
            return None


def _problem(kind: str, reply: wire.RawPacket, outbound: _Outbound, secret: bytes, state: bytes) -> str | None:
    """Why a parsed downstream datagram is not the genuine answer to `outbound`, or None."""
    if reply.identifier != outbound.identifier or reply.code not in _REPLIES_BY_KIND[kind]:
        return "unexpected"
    if not wire.response_ok(reply, outbound.authenticator, secret):
        return "bad_authenticator"
    vector = wire.reply_vector(reply.code, outbound.authenticator, _REQUEST_CODE[kind])
    verified = wire.verify_message_authenticator(reply, secret, vector)
    if verified is False:
        return "bad_message_authenticator"
    if verified is None and reply.code in wire.ACCESS_REPLY_CODES:  # BlastRADIUS
        return "missing_message_authenticator"
    if not any(hmac.compare_digest(value, state) for value in wire.proxy_states(reply)):
        return "missing_proxy_state"
    return None


def _build(kind: str, packet: wire.RawPacket, password: bytes | None, secret: bytes, state: bytes) -> _Outbound:
    """The downstream request for one server (see the module docstring, step 1)."""
    identifier = secrets.randbelow(256)
    if kind == "acct":
        attributes = [*packet.attributes, (wire.PROXY_STATE, state)]
        datagram = wire.sign_request(wire.ACCOUNTING_REQUEST, identifier, attributes, secret)
        return _Outbound(datagram, identifier, datagram[4:20])
    authenticator = secrets.token_bytes(wire.AUTHENTICATOR_OCTETS)
    attributes = [(wire.MESSAGE_AUTHENTICATOR, wire.ZERO_AUTHENTICATOR)]
    for kind_, value in packet.attributes:
        if kind_ == wire.MESSAGE_AUTHENTICATOR:
            continue
        if kind_ == a.USER_PASSWORD and password is not None:
            value = hide_password(password, secret, authenticator)
        attributes.append((kind_, value))
    if packet.first(a.CHAP_PASSWORD) is not None and packet.first(a.CHAP_CHALLENGE) is None:
        attributes.append((a.CHAP_CHALLENGE, packet.authenticator))
    attributes.append((wire.PROXY_STATE, state))
    unsigned = wire.build(wire.ACCESS_REQUEST, identifier, authenticator, wire.encode_attributes(attributes))
    start = wire.HEADER_OCTETS + 2  # Message-Authenticator is the first attribute
    signature = wire.message_authenticator(unsigned, secret)
    datagram = unsigned[:start] + signature + unsigned[start + wire.AUTHENTICATOR_OCTETS :]
    return _Outbound(datagram, identifier, authenticator)


def _salt(used: set[bytes]) -> bytes:
    """A salt not yet used in this reply (RFC 2548 §2.4.2: salts of one packet must differ)."""
    while True:
        salt = new_mppe_salt()
        if salt not in used:
            used.add(salt)
            return salt


def _recrypt_microsoft(
    value: bytes,
    from_secret: bytes,
    from_authenticator: bytes,
    to_secret: bytes,
    to_authenticator: bytes,
    salts: set[bytes],
) -> bytes:
    """A Microsoft VSA with its MS-MPPE keys encrypted for the NAS instead of for us.
    (wire.parse has checked the standard sub-attribute layout.)"""
    out = bytearray(value[:4])
    position = 4
    while position < len(value):
        sub_type, sub_length = value[position], value[position + 1]
        sub_value = value[position + 2 : position + sub_length]
        if sub_type in _MPPE_KEYS:
            key = decrypt_mppe_key(sub_value, from_secret, from_authenticator)
            sub_value = encrypt_mppe_key(key, to_secret, to_authenticator, _salt(salts))
            if len(sub_value) + 2 > 255:
                raise ValueError("a re-encrypted MS-MPPE key does not fit its sub-attribute")
        out += bytes((sub_type, len(sub_value) + 2)) + sub_value
        position += sub_length
    return bytes(out)
