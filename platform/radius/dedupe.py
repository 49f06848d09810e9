"""Duplicate detection for received requests (RFC 5080 §2.2.2).

A retransmission has the same receiving socket, source address and port, Identifier **and**
Request Authenticator: the cached reply is sent again instead of processing the request
twice, and a duplicate of a request still in progress is dropped (the client will retry).
The same key with a different authenticator is a new request that replaces the entry.

Only requests whose authenticators (and Message-Authenticator) verified may be passed in:
"packets with invalid Message-Authenticators MUST NOT affect the cache".

Sizing: the cache holds about packet rate * ttl entries, e.g. 2,000 requests/s with the
5 s FreeRADIUS `cleanup_delay` needs 10,000 entries (RFC 5080 suggests 5-30 s). When full,
the oldest entry is evicted; an evicted entry only costs a reprocessed retransmission,
which the accounting path tolerates because counters are written absolutely.

Used from one asyncio thread: no locks. Every operation is O(1) amortised.
"""

from __future__ import annotations

import enum
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

DEFAULT_TTL_SECONDS = 5.0  # FreeRADIUS cleanup_delay
DEFAULT_MAX_ENTRIES = 65_536


class Outcome(enum.Enum):
    NEW = "new"  # process it; the entry is now in progress
    IN_PROGRESS = "in_progress"  # a duplicate of a request being processed: drop it
    REPLAY = "replay"  # a duplicate of an answered request: resend `Verdict.reply`


class DuplicateKey(NamedTuple):
    """Who sent the request, to which socket, with which Identifier (a plain 4-tuple works too)."""

    socket: str
    source_ip: str
    source_port: int
    identifier: int


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Outcome
    reply: bytes | None = None  # the cached datagram when outcome is REPLAY


Key = tuple[str, str, int, int]  # (socket, source ip, source port, identifier); DuplicateKey is one

NEW = Verdict(Outcome.NEW)
IN_PROGRESS = Verdict(Outcome.IN_PROGRESS)


@dataclass(slots=True)
class _Entry:
    authenticator: bytes
    expires_at: float
    reply: bytes | None  # None while in progress


class DuplicateCache:
    """Bounded, expiring map from DuplicateKey to the request's authenticator and reply.

    An entry lives ttl_seconds from `begin`, and again from `finish`. A request still in
    progress after ttl_seconds is forgotten, so a late retransmission is processed again
    (the handlers are idempotent); this keeps a handler that never calls `finish` from
    pinning entries.
    """

    def __init__(
        self,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, got {max_entries}")
        if ttl_seconds <= 0:
            raise ValueError(f"ttl_seconds must be positive, got {ttl_seconds}")
        self._max_entries = max_entries
        self._ttl_seconds = ttl_seconds
        self._clock = clock
        # Insertion order is expiry order: every (re)insert moves the key to the end with
        # expires_at = now + ttl, and the clock is monotonic.
        self._entries: OrderedDict[Key, _Entry] = OrderedDict()
        self.hits = 0  # duplicates seen (replayed or dropped while in progress)
        self.evictions = 0  # entries pushed out because the cache was full

    def __len__(self) -> int:
        return len(self._entries)

    def begin(self, key: Key, authenticator: bytes) -> Verdict:
        """Classify a received, verified request; NEW marks it in progress."""
        now = self._clock()
        self._expire(now)
        entry = self._entries.get(key)
        if entry is not None and entry.authenticator == authenticator:
            self.hits += 1
            if entry.reply is None:
                return IN_PROGRESS
            return Verdict(Outcome.REPLAY, entry.reply)
        # New, or the same key with another authenticator: a new request replaces the entry.
        self._entries.pop(key, None)
        if len(self._entries) >= self._max_entries:
            self._entries.popitem(last=False)
            self.evictions += 1
        self._entries[key] = _Entry(authenticator, now + self._ttl_seconds, None)
        return NEW

    def finish(self, key: Key, authenticator: bytes, reply: bytes | None) -> None:
        """Record the reply sent for a request begun with `begin`; None (no reply was sent)
        forgets it so that a retransmission is processed again. A request whose entry was
        replaced by a newer one, expired or was evicted leaves the cache alone."""
        entry = self._entries.get(key)
        if entry is None or entry.authenticator != authenticator:
            return
        if reply is None:
            del self._entries[key]
            return
        entry.reply = reply
        # The ttl counts from the reply: that is when the client starts retransmitting it.
        entry.expires_at = self._clock() + self._ttl_seconds
        self._entries.move_to_end(key)

    def _expire(self, now: float) -> None:
        while self._entries:
            oldest = next(iter(self._entries.values()))
            if oldest.expires_at > now:
                return
            self._entries.popitem(last=False)
