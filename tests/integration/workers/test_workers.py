"""The worker foundation against each real broker: delivery, tenant context, retries
with backoff into the dead letters, and fair sharing between tenants."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import dramatiq
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import Middleware
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.tenants.routing import TenantRef
from bureau.workers import actors, app
from bureau.workers.dead_letters import list_dead_letters
from bureau.workers.retries import PermanentFailure
from bureau.workers.tenancy import current_tenant, current_tenant_or_none, send_for_tenant

from .conftest import BrokerUnderTest

WAIT_S = 20.0
SLOW_S = 0.1  # one burst message: long enough that deferring the rest is cheap beside it
FAST = app.Limits(
    max_retries=2,
    min_backoff_ms=100,
    max_backoff_ms=400,
    tenant_slots=2,
    defer_min_ms=20,
    defer_max_ms=200,
    pg_poll_interval_s=0.05,
)


class Journal:
    """What the test actors saw, shared with the worker threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.processed: Counter[tuple[str, str]] = Counter()  # (actor, message id) -> runs
        self.tenants: list[tuple[str, Any]] = []
        self.runs: dict[str, list[float]] = defaultdict(list)
        self.finished: list[str] = []  # tenant labels of slow(), in completion order
        self.running: Counter[str] = Counter()
        self.most_running: Counter[str] = Counter()

    def clear(self) -> None:
        self.__init__()  # type: ignore[misc]


journal = Journal()
_declarations = StubBroker(middleware=[])


def _actor(fn: Callable[..., None]) -> dramatiq.Actor[..., None]:
    return dramatiq.Actor(
        fn, broker=_declarations, actor_name=fn.__name__, queue_name="default", priority=0, options={}
    )


@_actor
def record_tenant(label: str) -> None:
    with journal.lock:
        journal.tenants.append((label, current_tenant_or_none()))


@_actor
def flaky(n: int) -> None:
    with journal.lock:
        journal.runs["flaky"].append(time.monotonic())
    raise RuntimeError(f"upstream refused job {n}")


@_actor
def refused(n: int) -> None:
    with journal.lock:
        journal.runs["refused"].append(time.monotonic())
    raise PermanentFailure(f"account {n} does not exist")


@_actor
def slow(label: str) -> None:
    assert current_tenant().slug  # every slow() message is sent for a tenant
    with journal.lock:
        journal.running[label] += 1
        journal.most_running[label] = max(journal.most_running[label], journal.running[label])
    time.sleep(SLOW_S)
    with journal.lock:
        journal.running[label] -= 1
        journal.finished.append(label)


TEST_ACTORS = [record_tenant, flaky, refused, slow]


class Observed(Middleware):
    """Counts every message that finished processing, by actor and id."""

    def after_process_message(
        self, broker: dramatiq.Broker, message: Any, *, result: Any = None, exception: Any = None
    ) -> None:
        with journal.lock:
            journal.processed[(message.actor_name, message.message_id)] += 1


@contextmanager
def running_worker(under_test: BrokerUnderTest, database_url: str, *, threads: int = 8) -> Iterator[dramatiq.Broker]:
    journal.clear()
    broker = app.build(
        under_test.url, database_url, limits=FAST, namespace=under_test.namespace, extra_actors=TEST_ACTORS
    )
    broker.add_middleware(Observed())
    worker = dramatiq.Worker(broker, worker_timeout=50, worker_threads=threads)
    worker.start()
    try:
        yield broker
    finally:
        worker.stop(timeout=10_000)
        broker.close()


async def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.02)


async def test_ping_is_processed_once_and_the_tenant_reaches_the_actor(
    broker_under_test: BrokerUnderTest,
    database_url: str,
    two_tenants: tuple[TenantRef, TenantRef],
) -> None:
    tenant, _ = two_tenants
    # One thread, so the platform-wide message runs on the thread the tenant's message used.
    with running_worker(broker_under_test, database_url, threads=1):
        ping = actors.ping.send()
        for_tenant = send_for_tenant(record_tenant, tenant, "for tenant")
        after = record_tenant.send("platform-wide")
        await wait_until(lambda: len(journal.tenants) == 2 and journal.processed[("ping", ping.message_id)] == 1, "")
        await asyncio.sleep(0.3)  # long enough for a duplicate delivery to show

    assert journal.processed[("ping", ping.message_id)] == 1
    assert journal.processed[("record_tenant", for_tenant.message_id)] == 1
    assert journal.processed[("record_tenant", after.message_id)] == 1
    assert journal.tenants == [("for tenant", tenant), ("platform-wide", None)]


async def test_a_failing_actor_is_retried_with_backoff_then_dead_lettered(
    broker_under_test: BrokerUnderTest,
    database_url: str,
    engine: AsyncEngine,
    two_tenants: tuple[TenantRef, TenantRef],
) -> None:
    tenant, _ = two_tenants
    with running_worker(broker_under_test, database_url):
        message = send_for_tenant(flaky, tenant, 7)
        found: list[Any] = []

        async def dead_lettered() -> bool:
            letters = await list_dead_letters(engine, tenant_slug=tenant.slug, actor_name="flaky", limit=1000)
            found[:] = [x for x in letters if x.message_id == message.message_id]
            return bool(found)

        deadline = time.monotonic() + WAIT_S
        while not await dead_lettered():
            assert time.monotonic() < deadline, "the failing message never reached the dead letters"
            await asyncio.sleep(0.05)

    runs = journal.runs["flaky"]
    assert len(runs) == 1 + FAST.max_retries
    gaps = [later - earlier for earlier, later in itertools.pairwise(runs)]
    assert all(gap >= FAST.min_backoff_ms / 1000 for gap in gaps), gaps  # backoff, not an immediate retry
    (letter,) = found
    assert letter.attempts == 1 + FAST.max_retries
    assert letter.error == "RuntimeError: upstream refused job 7"
    assert "upstream refused job 7" in (letter.traceback or "")
    assert (letter.tenant_id, letter.tenant_slug) == (tenant.id, tenant.slug)
    assert (letter.actor_name, letter.queue_name, letter.args, letter.kwargs) == ("flaky", "default", [7], {})


async def test_a_permanent_failure_is_dead_lettered_without_retries(
    broker_under_test: BrokerUnderTest,
    database_url: str,
    engine: AsyncEngine,
    two_tenants: tuple[TenantRef, TenantRef],
) -> None:
    _, tenant = two_tenants
    with running_worker(broker_under_test, database_url):
        message = refused.send_with_options(args=(42,), **{"tenant_id": tenant.id, "tenant_slug": tenant.slug})
        deadline = time.monotonic() + WAIT_S
        while not (letters := await list_dead_letters(engine, actor_name="refused", limit=1000)) or not any(
            x.message_id == message.message_id for x in letters
        ):
            assert time.monotonic() < deadline, "the refused message never reached the dead letters"
            await asyncio.sleep(0.05)
        await asyncio.sleep(FAST.max_backoff_ms / 1000)  # a retry, if one were made, would show by now

    (letter,) = [x for x in letters if x.message_id == message.message_id]
    assert len(journal.runs["refused"]) == 1
    assert letter.attempts == 1
    assert letter.error == "PermanentFailure: account 42 does not exist"
    assert letter.tenant_slug == tenant.slug


async def test_one_tenants_burst_does_not_starve_another_tenant(
    broker_under_test: BrokerUnderTest,
    database_url: str,
    two_tenants: tuple[TenantRef, TenantRef],
) -> None:
    burst, other = two_tenants
    burst_size = 50
    with running_worker(broker_under_test, database_url, threads=8):
        for _ in range(burst_size):
            send_for_tenant(slow, burst, "burst")
        send_for_tenant(slow, other, "other")
        await wait_until(lambda: len(journal.finished) == burst_size + 1, "every message to finish")

    # FIFO alone would finish the other tenant's message after ~42 of the burst's (8
    # threads); with 2 slots per tenant it gets a thread as soon as the consumer reaches it
    # (seen here: after 4 to 9 of the burst's, the PostgreSQL broker being the slowest).
    position = journal.finished.index("other")
    assert position < burst_size // 3, journal.finished
    assert journal.finished.count("burst") == burst_size
    assert journal.most_running["burst"] == FAST.tenant_slots  # limited, yet using its slots
    assert sum(journal.processed.values()) == burst_size + 1  # deferrals are not runs
