"""The batcher: one running batch per tenant, batches that grow under load, and a failing
batch answered request by request."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from types import SimpleNamespace

import pytest

from bureau.radius_proxy.batching import Batcher


@dataclass(frozen=True)
class Request:
    tenant: int
    body: bytes

    @property
    def route(self) -> SimpleNamespace:
        return SimpleNamespace(tenant=SimpleNamespace(id=self.tenant))


async def test_requests_of_a_tenant_share_a_batch_and_batches_follow_each_other() -> None:
    """With one batch running at a time (max_running=1), what arrives meanwhile goes together."""
    seen: list[list[bytes]] = []
    running = 0

    async def run(batch: list[Request]) -> list[bytes]:
        nonlocal running
        running += 1
        assert running == 1  # never two batches of one tenant at once
        seen.append([r.body for r in batch])
        await asyncio.sleep(0.01)
        running -= 1
        return [r.body.upper() for r in batch]

    batcher = Batcher(run, window_s=0.001, max_size=100, max_running=1)
    first = asyncio.create_task(batcher.submit(Request(1, b"a")))
    await asyncio.sleep(0.003)  # the first batch ({a}) is running now
    later = [asyncio.create_task(batcher.submit(Request(1, body))) for body in (b"b", b"c", b"d")]
    assert await first == b"A"
    assert [await task for task in later] == [b"B", b"C", b"D"]
    assert seen == [[b"a"], [b"b", b"c", b"d"]]  # what arrived meanwhile went together


async def test_tenants_are_batched_apart() -> None:
    seen: list[set[int]] = []

    async def run(batch: list[Request]) -> list[bytes]:
        seen.append({r.tenant for r in batch})
        return [r.body for r in batch]

    batcher = Batcher(run, window_s=0.001, max_size=10)
    replies = await asyncio.gather(*(batcher.submit(Request(t, bytes([t]))) for t in (1, 2, 1, 2)))
    assert replies == [b"\x01", b"\x02", b"\x01", b"\x02"]
    assert sorted(map(sorted, seen)) == [[1], [2]]


async def test_a_failing_batch_is_answered_request_by_request() -> None:
    async def run(batch: list[Request]) -> list[bytes]:
        if any(r.body == b"bad" for r in batch):
            raise ValueError("boom")
        return [r.body for r in batch]

    batcher = Batcher(run, window_s=0.001, max_size=10)
    good, bad = await asyncio.gather(
        batcher.submit(Request(1, b"good")), batcher.submit(Request(1, b"bad")), return_exceptions=True
    )
    assert good == b"good"
    assert isinstance(bad, RuntimeError)
    with pytest.raises(RuntimeError):
        await batcher.submit(Request(1, b"bad"))


async def test_what_a_finished_batchs_clients_send_next_joins_the_following_batch() -> None:
    """When a batch ends, the next starts `gather_s` later: the request its client sends
    on receiving the reply (5 ms later, as over a network) joins the one that waited
    meanwhile, instead of waiting for a batch of its own after it."""

    async def scenario(gather_s: float) -> list[list[bytes]]:
        seen: list[list[bytes]] = []

        async def run(batch: list[Request]) -> list[bytes]:
            seen.append([r.body for r in batch])
            await asyncio.sleep(0.05)
            return [r.body for r in batch]

        batcher = Batcher(run, window_s=0.001, max_size=100, max_running=1, gather_s=gather_s)

        async def client() -> None:
            await batcher.submit(Request(1, b"a"))
            await asyncio.sleep(0.005)
            await batcher.submit(Request(1, b"a2"))

        first = asyncio.create_task(client())
        await asyncio.sleep(0.01)  # {a} is running
        await asyncio.gather(first, batcher.submit(Request(1, b"b")))  # "b" waits for {a}
        return seen

    assert await scenario(0.05) == [[b"a"], [b"b", b"a2"]]
    assert await scenario(0.0) == [[b"a"], [b"b"], [b"a2"]]  # without: a batch more
