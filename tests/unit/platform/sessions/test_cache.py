"""The hot-path cache: loads once, stays bounded, expires when told to."""

from __future__ import annotations

from typing import Any

import pytest

from bureau.platform.sessions import cache as module
from bureau.platform.sessions.cache import Cache


async def test_a_value_is_loaded_once_and_the_oldest_goes_first() -> None:
    loads: list[str] = []

    def loader(key: str) -> Any:
        async def load() -> str:
            loads.append(key)
            return key.upper()

        return load

    found = Cache[str, str](2)
    assert [await found.get(k, loader(k)) for k in ("a", "a", "b", "c", "a")] == ["A", "A", "B", "C", "A"]
    assert loads == ["a", "b", "c", "a"]  # "a" was evicted by "c", then loaded again
    assert (found.hits, found.misses) == (1, 4)


async def test_an_entry_with_a_ttl_is_loaded_again_once_it_expired(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(module.time, "monotonic", lambda: now[0])
    count = [0]

    async def load() -> int:
        count[0] += 1
        return count[0]

    found = Cache[str, int](10, ttl_seconds=60)
    assert await found.get("k", load) == 1
    now[0] += 59
    assert await found.get("k", load) == 1
    now[0] += 2
    assert await found.get("k", load) == 2
