"""Small in-process caches for the session control hot path.

Only what cannot change under a running session is cached without a time limit: the
ISP entity of a tenant, and the plan version in effect at an instant already past (plan
versions are append-only and a new one may not start in the past, so the version of a
past instant never changes). Tax rates may be added at any time; they are kept for a
short while only. Every cache is bounded and keyed by tenant, so tenants never share an
entry.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Cache(Generic[K, V]):
    """A bounded map with an optional time to live; the oldest entry goes first."""

    def __init__(self, max_entries: int, ttl_seconds: float | None = None) -> None:
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        now = time.monotonic()
        found = self._entries.get(key)
        if found is not None and (self.ttl_seconds is None or found[0] > now):
            self.hits += 1
            return found[1]
        self.misses += 1
        value = await load()
        expires = now + self.ttl_seconds if self.ttl_seconds is not None else 0.0
        self._entries[key] = (expires, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return value

    def peek(self, key: K) -> V | None:
        """The value if cached and fresh, without loading it."""
        found = self._entries.get(key)
        if found is None or (self.ttl_seconds is not None and found[0] <= time.monotonic()):
            return None
        self.hits += 1
        return found[1]

    def put(self, key: K, value: V) -> None:
        expires = time.monotonic() + self.ttl_seconds if self.ttl_seconds is not None else 0.0
        self._entries[key] = (expires, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()
