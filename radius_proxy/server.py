"""The RADIUS listeners: authentication (1812) and accounting (1813) over UDP.

Every datagram goes the same way before any database work:

1. the source address must be a registered NAS (`tenants.nas`), else it is dropped;
2. it must be a well-formed packet (`platform.radius.wire.parse`), else dropped;
3. its authenticators must verify with the NAS's secret: Message-Authenticator on an
   Access-Request (required unless the NAS is marked legacy; a legacy NAS with
   `limit_proxy_state` still may not omit it when Proxy-State is present), the Request
   Authenticator on an Accounting-Request; else dropped — before the duplicate cache
   is touched (RFC 5080 §2.2.2);
4. a duplicate (same socket, source, identifier and authenticator) gets the cached reply,
   or is dropped while the original is still being processed.

Drops are silent (RFC 2865) and counted by reason in `stats`. An Accounting-Response is
sent only after the packet and its charges are committed. Replies to Access-Requests
carry Message-Authenticator first and echo Proxy-State in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.platform.crypto.secretbox import SecretBox
from bureau.platform.nas.downstream import record_proxied_accounting
from bureau.platform.radius import wire
from bureau.platform.radius.chap import verify_chap
from bureau.platform.radius.class_token import read_class, sign_class
from bureau.platform.radius.counters import event_time, octets_total
from bureau.platform.radius.dedupe import DuplicateCache, Outcome
from bureau.platform.radius.mschap import encrypt_mppe_key, new_mppe_salt, verify_mschap2
from bureau.platform.radius.passwords import BadPassword, reveal_password
from bureau.platform.sessions import accounting, authorize, control
from bureau.platform.subscribers.resellers import get_realm
from bureau.platform.subscribers.services import secret_context
from bureau.tenants import lifecycle
from bureau.tenants.nas import NasRoute, NasTable, load_nas_routes
from bureau.tenants.proxies import DownstreamRoute, load_proxy_routes
from bureau.tenants.realms import route_realm, split_login
from bureau.tenants.routing import tenant_unit

from . import attributes as a
from . import codec
from .batching import Batcher
from .disconnect import Disconnector
from .proxying import Proxy

log = logging.getLogger("bureau.radius")

ACCESS_REQUEST, ACCESS_ACCEPT, ACCESS_REJECT = 1, 2, 3
ACCOUNTING_REQUEST, ACCOUNTING_RESPONSE = 4, 5
DEFAULT_INTERIM = 300  # seconds; RFC 2869 says at least 60, better 600
REALM_CACHE_S = 30.0
NAS_REFRESH_S = 30.0
REAP_EVERY_S = 60.0
BATCH_WINDOW_S = 0.002  # Access-Requests of one tenant arriving this close share a transaction
BATCH_SIZE = 64
MAX_IN_FLIGHT = 2048  # requests being processed at once; beyond it datagrams are dropped (the NAS retries)


@dataclass
class Stats:
    """Packet counters for `/metrics`."""

    received: int = 0
    accepted: int = 0
    rejected: int = 0
    accounted: int = 0
    duplicates: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    latency_sum_s: float = 0.0
    latency_count: int = 0

    def drop(self, reason: str) -> None:
        self.dropped[reason] += 1

    def prometheus(self) -> str:
        """The counters in the Prometheus text exposition format."""
        lines = []
        for name, value, what in (
            ("received", self.received, "datagrams received"),
            ("accepted", self.accepted, "Access-Accepts sent"),
            ("rejected", self.rejected, "Access-Rejects sent"),
            ("accounted", self.accounted, "Accounting-Requests recorded and answered"),
            ("duplicates", self.duplicates, "retransmissions answered from the cache or dropped in progress"),
        ):
            lines += [f"# HELP bureau_radius_{name}_total {what}", f"# TYPE bureau_radius_{name}_total counter"]
            lines.append(f"bureau_radius_{name}_total {value}")
        lines += [
            "# HELP bureau_radius_dropped_total datagrams dropped, by reason",
            "# TYPE bureau_radius_dropped_total counter",
        ]
        lines += [
            f'bureau_radius_dropped_total{{reason="{reason}"}} {count}'
            for reason, count in sorted(self.dropped.items())
        ]
        lines += [
            "# HELP bureau_radius_reply_seconds time from receipt to reply",
            "# TYPE bureau_radius_reply_seconds summary",
        ]
        lines.append(f"bureau_radius_reply_seconds_sum {self.latency_sum_s:.6f}")
        lines.append(f"bureau_radius_reply_seconds_count {self.latency_count}")
        return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True)
class _Request:
    kind: str  # "auth" or "acct"
    packet: wire.RawPacket
    route: NasRoute
    source: tuple[str, int]
    arrival: datetime
    started: float


class RadiusServer:
    """Auth and accounting listeners for every tenant's NAS (see module docstring)."""

    def __init__(
        self,
        engine: AsyncEngine,
        box: SecretBox,
        class_key: bytes,
        *,
        host: str = "127.0.0.1",
        auth_port: int = 1812,
        acct_port: int = 1813,
        interim_interval: int = DEFAULT_INTERIM,
        reservation_micros: int = control.DEFAULT_RESERVATION,
        disconnect_timeout_s: float = 2.0,
        disconnect_attempts: int = 5,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        dictionaries: Sequence[Path] = (),
        batch_window_s: float = BATCH_WINDOW_S,
        batch_size: int = BATCH_SIZE,
        reuse_port: bool = False,
    ) -> None:
        self.engine = engine
        self.box = box
        self.class_key = class_key
        self.host = host
        self.ports = {"auth": auth_port, "acct": acct_port}
        self.interim_interval = max(interim_interval, 60)
        self.reservation_micros = reservation_micros
        self.clock = clock
        # SO_REUSEPORT: several server processes on one machine share the ports; the
        # kernel sends each source address and port to one process, so a NAS's
        # retransmissions meet that process's duplicate cache.
        self.reuse_port = reuse_port
        self.stats = Stats()
        self.dictionary = codec.load_dictionary(dictionaries)
        # Downstream waits stay under the duplicate cache's 5 s so that a NAS's retry
        # during failover is answered from the cache, not forwarded twice.
        self.proxy = Proxy(timeout_s=1.0, tries=2)
        self._batcher = Batcher(self._authenticate_batch, window_s=batch_window_s, max_size=batch_size)
        self._acct_batcher = Batcher(self._account_batch, window_s=batch_window_s, max_size=batch_size)
        self.downstream: dict[str, list[DownstreamRoute]] = {}
        self.cache = DuplicateCache()
        self.nas = NasTable(())
        self.disconnector = Disconnector(timeout_s=disconnect_timeout_s, attempts=disconnect_attempts)
        self._realms: dict[str, tuple[float, Any]] = {}
        self._transports: dict[str, asyncio.DatagramTransport] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._background: list[asyncio.Task[None]] = []

    # --- life cycle -------------------------------------------------------------------

    async def start(self) -> None:
        await self.reload_nas()
        loop = asyncio.get_running_loop()
        for kind, port in self.ports.items():
            transport, _ = await loop.create_datagram_endpoint(
                lambda kind=kind: _Protocol(self, kind),  # type: ignore[misc]
                local_addr=(self.host, port),
                reuse_port=self.reuse_port or None,
            )
            self._transports[kind] = transport
            self.ports[kind] = transport.get_extra_info("sockname")[1]
        self._background = [asyncio.create_task(self._refresh_nas()), asyncio.create_task(self._reap())]

    async def stop(self) -> None:
        for task in self._background:
            task.cancel()
        for transport in self._transports.values():
            transport.close()
        pending = list(self._tasks) + self._background
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def reload_nas(self) -> None:
        """Re-read the NAS registry and the realms proxied to downstream servers."""
        self.nas = await load_nas_routes(self.engine, self.box)
        self.downstream = await load_proxy_routes(self.engine, self.box)

    async def _refresh_nas(self) -> None:
        while True:
            await asyncio.sleep(NAS_REFRESH_S)
            try:
                await self.reload_nas()
            except Exception:
                log.exception("reloading the NAS registry failed; keeping the previous one")

    async def _reap(self) -> None:
        idle = timedelta(seconds=3 * self.interim_interval)
        while True:
            await asyncio.sleep(REAP_EVERY_S)
            try:
                for tenant in await lifecycle.list_tenants(self.engine):
                    async with tenant_unit(self.engine, tenant.ref, actor="radius:reaper") as conn:
                        await control.reap(conn, self.clock(), idle=idle)
            except Exception:
                log.exception("reaping stale sessions failed")

    # --- the packet path --------------------------------------------------------------

    def received(self, kind: str, data: bytes, source: tuple[str, int]) -> None:
        self.stats.received += 1
        route = self.nas.find(source[0])
        if route is None:
            self.stats.drop("unknown_nas")
            return
        try:
            packet = wire.parse(data)
        except wire.MalformedPacket as exc:
            self.stats.drop(f"malformed:{exc.reason}")
            return
        problem = self._refused(kind, packet, route)
        if problem:
            self.stats.drop(problem)
            return
        if len(self._tasks) >= MAX_IN_FLIGHT:
            # Overloaded: drop before the duplicate cache sees it, so that the NAS's
            # retransmission is processed as new once there is room.
            self.stats.drop("overloaded")
            return
        key = (kind, source[0], source[1], packet.identifier)
        verdict = self.cache.begin(key, packet.authenticator)
        if verdict.outcome is Outcome.IN_PROGRESS:
            self.stats.duplicates += 1
            return
        if verdict.outcome is Outcome.REPLAY:
            self.stats.duplicates += 1
            if verdict.reply is not None:
                self._transports[kind].sendto(verdict.reply, source)
            return
        request = _Request(kind, packet, route, source, self.clock(), time.perf_counter())
        task = asyncio.create_task(self._handle(request, key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _refused(self, kind: str, packet: wire.RawPacket, route: NasRoute) -> str | None:
        if route.tenant_status != "active":
            return "tenant_suspended"
        if kind == "auth":
            if packet.code != ACCESS_REQUEST:
                return "wrong_code"
            verified = wire.verify_message_authenticator(packet, route.secret)
            if verified is False:
                return "bad_message_authenticator"
            if verified is None:
                if route.client.require_message_authenticator:
                    return "missing_message_authenticator"
                if route.client.limit_proxy_state and packet.first(a.PROXY_STATE) is not None:
                    return "proxy_state_without_message_authenticator"
            return None
        if packet.code != ACCOUNTING_REQUEST:
            return "wrong_code"
        if not wire.accounting_request_ok(packet, route.secret):
            return "bad_authenticator"
        if wire.verify_message_authenticator(packet, route.secret) is False:
            return "bad_message_authenticator"
        return None

    async def _handle(self, request: _Request, key: tuple[str, str, int, int]) -> None:
        reply: bytes | None = None
        try:
            proxied = self._downstream_for(request)
            if proxied is not None:
                reply = await self._proxied(request, *proxied)
            elif request.kind == "auth":
                reply = await self._authenticate(request)
            else:
                reply = await self._account(request)
        except Exception:
            log.exception("RADIUS %s request from %s failed; no reply sent", request.kind, request.source[0])
            self.stats.drop("error")
        finally:
            self.cache.finish(key, request.packet.authenticator, reply)
        if reply is not None:
            self._transports[request.kind].sendto(reply, request.source)
            self.stats.latency_sum_s += time.perf_counter() - request.started
            self.stats.latency_count += 1

    # --- wholesale proxying -----------------------------------------------------------

    def _downstream_for(self, request: _Request) -> tuple[str, list[DownstreamRoute]] | None:
        """The realm and its servers when the request's realm is proxied for this NAS's tenant."""
        login = a.text(request.packet, a.USER_NAME)
        realm = split_login(login)[1] if login else None
        if realm is None:
            return None
        servers = self.downstream.get(realm, [])
        if not servers or servers[0].tenant.id != request.route.tenant.id:
            return None  # not proxied, or another tenant's realm: handled (rejected) locally
        return realm, servers

    async def _proxied(self, request: _Request, realm: str, servers: list[DownstreamRoute]) -> bytes | None:
        """Forward to the realm's servers (see proxying.py); accounting is recorded for
        wholesale billing before the NAS is answered; no answer downstream, none upstream."""
        packet, route = request.packet, request.route
        reply, outcome = await self.proxy.forward(
            request.kind, await self._stripped(request, realm), route.secret, servers
        )
        if request.kind == "acct":
            async with tenant_unit(self.engine, route.tenant, actor=f"radius:{route.client.name}") as conn:
                await record_proxied_accounting(
                    conn,
                    realm=realm,
                    nas_id=route.client.id,
                    raw=packet.data,
                    received_at=request.arrival,
                    status_type=a.integer(packet, a.ACCT_STATUS_TYPE),
                    acct_session_id=a.text(packet, a.ACCT_SESSION_ID),
                    user_name=a.text(packet, a.USER_NAME),
                    forwarded_to=outcome.removeprefix("answered:") if reply is not None else None,
                    answered=reply is not None,
                )
        if reply is None:
            self.stats.drop(f"proxy_{outcome}")
        elif request.kind == "acct":
            self.stats.accounted += 1
        elif reply[0] == ACCESS_ACCEPT:
            self.stats.accepted += 1
        else:
            self.stats.rejected += 1
        return reply

    async def _stripped(self, request: _Request, realm: str) -> wire.RawPacket:
        """The request with "@realm" taken off User-Name when the realm says so (the ISP's
        own server knows its users without it); otherwise as received."""
        key = f"strip:{request.route.tenant.id}:{realm}"
        cached = self._realms.get(key)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            strip = bool(cached[1])
        else:
            async with tenant_unit(self.engine, request.route.tenant, actor="radius") as conn:
                strip = (await get_realm(conn, realm)).strip_realm
            self._realms[key] = (now + REALM_CACHE_S, strip)
        packet = request.packet
        login = a.text(packet, a.USER_NAME)
        if not strip or login is None:
            return packet
        user = split_login(login)[0].encode()
        attributes = tuple((t, user) if t == a.USER_NAME else (t, v) for t, v in packet.attributes)
        data = wire.build(packet.code, packet.identifier, packet.authenticator, wire.encode_attributes(attributes))
        return wire.RawPacket(packet.code, packet.identifier, packet.authenticator, attributes, data)

    # --- authentication ---------------------------------------------------------------

    def _reply(self, request: _Request, code: int, attributes: list[tuple[int, bytes]]) -> bytes:
        echoed = [(a.PROXY_STATE, state) for state in wire.proxy_states(request.packet)]
        return wire.sign_reply(
            code,
            request.packet.identifier,
            [(a.MESSAGE_AUTHENTICATOR, b""), *attributes, *echoed],
            request.packet.authenticator,
            request.route.secret,
            request_code=request.packet.code,
        )

    def _reject(self, request: _Request, message: str, extra: list[tuple[int, bytes]] | None = None) -> bytes:
        self.stats.rejected += 1
        return self._reply(request, ACCESS_REJECT, [(a.REPLY_MESSAGE, message.encode()[:253]), *(extra or [])])

    async def _realm_owner(self, realm: str) -> Any:
        cached = self._realms.get(realm)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        found = await route_realm(self.engine, realm)
        self._realms[realm] = (now + REALM_CACHE_S, found)
        return found

    async def _authenticate(self, request: _Request) -> bytes:
        """Queue the request into its tenant's next batch; its reply once the batch commits."""
        return await self._batcher.submit(request)

    async def _authenticate_batch(self, requests: list[_Request]) -> list[bytes]:
        """Authenticate and authorise one tenant's requests in one transaction (see
        `platform/sessions/authorize.py`); replies in the order of `requests`."""
        replies: list[bytes | None] = [None] * len(requests)
        logins: dict[int, str] = {}
        for index, request in enumerate(requests):
            login = a.text(request.packet, a.USER_NAME)
            if not login:
                replies[index] = self._reject(request, "A user name is required.")
                continue
            _, realm = split_login(login)
            if realm is not None:
                owner = await self._realm_owner(realm)
                if owner is None or owner.tenant.id != request.route.tenant.id:
                    replies[index] = self._reject(request, "Unknown realm.")
                    continue
            logins[index] = login
        if logins:
            now = max(request.arrival for request in requests)
            async with tenant_unit(self.engine, requests[0].route.tenant, actor="radius") as conn:
                contexts = await authorize.login_contexts(conn, list(logins.values()), now=now)
                candidates: list[tuple[int, authorize.LoginRequest, list[tuple[int, bytes]]]] = []
                for index, login in logins.items():
                    request = requests[index]
                    context = contexts.get(authorize.stored_login(login))
                    proof = self._proof(request, context, login)
                    if context is None or proof is None:
                        replies[index] = self._reject(request, "Wrong user name or password.")
                        continue
                    candidates.append((index, authorize.LoginRequest(context, request.route.client.id), proof))
                decisions = await authorize.authorize_logins(
                    conn, [c[1] for c in candidates], now=now, reservation_micros=self.reservation_micros
                )
            for (index, _, proof), decision in zip(candidates, decisions, strict=True):
                replies[index] = self._decided(requests[index], decision, proof, logins[index])
        done = [reply for reply in replies if reply is not None]
        if len(done) != len(requests):  # pragma: no cover - every branch sets one
            raise RuntimeError("a request was left without a reply")
        return done

    def _proof(
        self, request: _Request, context: authorize.LoginContext | None, login: str
    ) -> list[tuple[int, bytes]] | None:
        if context is None or context.password_secret is None:
            return None
        password = self.box.decrypt(context.password_secret, secret_context(context.kind, context.login)).decode()
        return self._check_password(request.packet, request.route, password, login)

    def _decided(
        self, request: _Request, decision: control.Authorization, proof: list[tuple[int, bytes]], login: str
    ) -> bytes:
        if not decision.accepted or decision.session_id is None:
            return self._reject(request, decision.reason or "Access denied.")
        attributes = [
            a.uint32(a.ACCT_INTERIM_INTERVAL, decision.interim_interval or self.interim_interval),
            (a.CLASS, sign_class(self.class_key, request.route.tenant.id, str(decision.session_id))),
            *self._plan_attributes(decision.reply, login),
        ]
        if decision.session_timeout is not None:
            attributes.append(a.uint32(a.SESSION_TIMEOUT, max(decision.session_timeout, 1)))
        attributes.extend(proof)
        self.stats.accepted += 1
        return self._reply(request, ACCESS_ACCEPT, attributes)

    def _plan_attributes(self, reply: Any, login: str) -> list[tuple[int, bytes]]:
        """The plan's reply attributes on the wire; a plan the dictionary cannot encode is
        logged and its attributes left out (they are checked when they are set)."""
        if not reply:
            return []
        try:
            return codec.encode_attributes(reply, self.dictionary)
        except codec.EncodeError as exc:
            log.error("the plan of %s has RADIUS attributes that cannot be sent: %s", login, exc)
            return []

    def _check_password(
        self, packet: wire.RawPacket, route: NasRoute, password: str, login: str
    ) -> list[tuple[int, bytes]] | None:
        """The extra Accept attributes of a correct password (MS-CHAPv2's), or None."""
        if not password:
            return None
        hidden = packet.first(a.USER_PASSWORD)
        if hidden is not None:
            try:
                given = reveal_password(hidden, route.secret, packet.authenticator)
            except BadPassword:
                return None
            return [] if hmac.compare_digest(given, password.encode()) else None
        chap = packet.first(a.CHAP_PASSWORD)
        if chap is not None:
            chap_challenge = packet.first(a.CHAP_CHALLENGE) or packet.authenticator
            return [] if verify_chap(password.encode(), chap, chap_challenge) else None
        challenge = a.vendor(packet, a.MICROSOFT, a.MS_CHAP_CHALLENGE)
        response = a.vendor(packet, a.MICROSOFT, a.MS_CHAP2_RESPONSE)
        if challenge is None or response is None:
            return None
        user = (packet.first(a.USER_NAME) or login.encode()).split(b"\\")[-1]
        success = verify_mschap2(password, user, challenge, response)
        if success is None:
            return None
        secret, vector = route.secret, packet.authenticator
        return [
            a.vendor_attribute(a.MICROSOFT, a.MS_CHAP2_SUCCESS, success.success),
            a.vendor_attribute(
                a.MICROSOFT, a.MS_MPPE_SEND_KEY, encrypt_mppe_key(success.send_key, secret, vector, new_mppe_salt())
            ),
            a.vendor_attribute(
                a.MICROSOFT, a.MS_MPPE_RECV_KEY, encrypt_mppe_key(success.recv_key, secret, vector, new_mppe_salt())
            ),
            a.vendor_attribute(a.MICROSOFT, a.MS_MPPE_ENCRYPTION_POLICY, (1).to_bytes(4, "big")),
            a.vendor_attribute(a.MICROSOFT, a.MS_MPPE_ENCRYPTION_TYPES, (6).to_bytes(4, "big")),
        ]

    # --- accounting -------------------------------------------------------------------

    async def _account(self, request: _Request) -> bytes:
        """Queue the request into its tenant's next accounting batch; its reply once the
        batch is committed (an Accounting-Response only follows a durable record)."""
        return await self._acct_batcher.submit(request)

    async def _account_batch(self, requests: list[_Request]) -> list[bytes]:
        """Record one tenant's Accounting-Requests in one transaction, in arrival order:
        runs of Start/Interim/Stop set at a time, Accounting-On/Off and the rest one by one."""
        disconnects: list[int | None] = [None] * len(requests)
        run: list[tuple[int, accounting.AccountingRequest]] = []
        async with tenant_unit(self.engine, requests[0].route.tenant, actor="radius") as conn:

            async def flush() -> None:
                results = await accounting.account_many(conn, [item for _, item in run])
                for (index, _), result in zip(run, results, strict=True):
                    if result.disconnect:
                        disconnects[index] = result.session_id
                run.clear()

            for index, request in enumerate(requests):
                item = self._accounting_item(request)
                if item is not None:
                    run.append((index, item))
                    continue
                if run:
                    await flush()
                await self._record_other(conn, request)
            if run:
                await flush()
        replies = []
        for request, disconnect in zip(requests, disconnects, strict=True):
            self.stats.accounted += 1
            if disconnect is not None:
                self._spawn(self._disconnect(request, disconnect))
            packet = request.packet
            echoed = [(a.PROXY_STATE, state) for state in wire.proxy_states(packet)]
            replies.append(
                wire.sign_reply(
                    ACCOUNTING_RESPONSE,
                    packet.identifier,
                    echoed,
                    packet.authenticator,
                    request.route.secret,
                    request_code=packet.code,
                )
            )
        return replies

    def _when(self, request: _Request) -> datetime:
        packet = request.packet
        return event_time(a.integer(packet, a.EVENT_TIMESTAMP), request.arrival, a.integer(packet, a.ACCT_DELAY_TIME))

    @staticmethod
    def _stored(request: _Request) -> dict[str, Any]:
        return {"raw": request.packet.data.hex(), "source": f"{request.source[0]}:{request.source[1]}"}

    def _accounting_item(self, request: _Request) -> accounting.AccountingRequest | None:
        """A Start, Interim-Update or Stop as the session control function takes it; None for
        anything else (Accounting-On/Off, tunnel records, no Acct-Session-Id)."""
        packet = request.packet
        status = a.integer(packet, a.ACCT_STATUS_TYPE)
        session_id = a.text(packet, a.ACCT_SESSION_ID)
        if status not in (control.Status.START, control.Status.INTERIM, control.Status.STOP) or not session_id:
            return None
        report = self._report(
            packet, control.Status(status), session_id, self._when(request), self._stored(request), request.route
        )
        return accounting.AccountingRequest(request.route.client.id, report, request.arrival)

    async def _record_other(self, conn: Any, request: _Request) -> None:
        packet, route = request.packet, request.route
        status = a.integer(packet, a.ACCT_STATUS_TYPE)
        session_id = a.text(packet, a.ACCT_SESSION_ID)
        when = self._when(request)
        if status in (control.Status.ACCOUNTING_ON, control.Status.ACCOUNTING_OFF):
            report = control.Report(
                control.Status(status), session_id or "", "", when, attributes=self._stored(request)
            )
            await control.close_nas_sessions(conn, route.client.id, when, report)
            return
        await control.store_packet(
            conn,
            route.client.id,
            status_type=status or 0,
            acct_session_id=session_id,
            attributes=self._stored(request),
            received_at=request.arrival,
            outcome="not_acted_on",
        )

    def _report(
        self,
        packet: wire.RawPacket,
        status: control.Status,
        session_id: str,
        when: datetime,
        stored: dict[str, Any],
        route: NasRoute,
    ) -> control.Report:
        ref: int | None = None
        class_value = packet.first(a.CLASS)
        if class_value is not None:
            signed = read_class(self.class_key, class_value)
            if signed is not None and signed[0] == route.tenant.id and signed[1].isdigit():
                ref = int(signed[1])
        cause = a.integer(packet, a.ACCT_TERMINATE_CAUSE)
        return control.Report(
            status=status,
            acct_session_id=session_id,
            login=a.text(packet, a.USER_NAME) or "",
            event_time=when,
            seconds=a.integer(packet, a.ACCT_SESSION_TIME) or 0,
            octets_in=octets_total(a.integer(packet, a.ACCT_INPUT_OCTETS), a.integer(packet, a.ACCT_INPUT_GIGAWORDS)),
            octets_out=octets_total(
                a.integer(packet, a.ACCT_OUTPUT_OCTETS), a.integer(packet, a.ACCT_OUTPUT_GIGAWORDS)
            ),
            session_ref=ref,
            terminate_cause=a.TERMINATE_CAUSES.get(cause, str(cause)) if cause is not None else None,
            attributes=stored,
        )

    def _spawn(self, job: Any) -> None:
        task = asyncio.create_task(job)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _disconnect(self, request: _Request, session_id: int) -> None:
        """Ask the NAS to end a session whose funds are gone (RFC 5176)."""
        packet, route = request.packet, request.route
        identification = [
            (kind, value)
            for kind in (a.USER_NAME, a.ACCT_SESSION_ID, a.NAS_IP_ADDRESS, a.NAS_IDENTIFIER, a.NAS_IPV6_ADDRESS)
            if (value := packet.first(kind)) is not None
        ]
        answer = await self.disconnector.disconnect(
            request.source[0], route.client.coa_port, route.secret, identification
        )
        log.info("Disconnect-Request for session %s to %s: %s", session_id, request.source[0], answer)
        if answer == "nak:503":  # Session-Context-Not-Found: the NAS has no such session
            async with tenant_unit(self.engine, route.tenant, actor=f"radius:{route.client.name}") as conn:
                await control.close_session(
                    conn, session_id, state="closed", cause="Session-Context-Not-Found", when=self.clock()
                )


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, server: RadiusServer, kind: str) -> None:
        self.server = server
        self.kind = kind

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            self.server.received(self.kind, data, (addr[0], addr[1]))
        except Exception:  # one bad datagram must never stop the listener
            log.exception("dropping a datagram from %s", addr[0])
            self.server.stats.drop("error")

    def error_received(self, exc: Exception) -> None:
        log.debug("socket error on the %s listener: %s", self.kind, exc)
