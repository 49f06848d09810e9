"""Real brokers for the worker tests, each isolated to this test run.

- RabbitMQ: a virtual host of its own (made with rabbitmqctl, removed afterwards);
- Redis: a key namespace of its own (its keys deleted afterwards);
- PostgreSQL: the run's own test database, migrated (shared revision s0005).
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
import redis
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.tenants.routing import TenantRef
from bureau.tenants.tables import tenants

RABBITMQ = "amqp://guest:guest@127.0.0.1:5672"
REDIS = "redis://127.0.0.1:6379/0"
RUN = uuid.uuid4().hex[:10]


@dataclass(frozen=True)
class BrokerUnderTest:
    kind: str
    url: str | None  # BUREAU_BROKER_URL; None selects PostgreSQL
    namespace: str | None = None


def _rabbitmqctl(*args: str) -> None:
    ctl = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    subprocess.run([ctl, "-q", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def rabbitmq_url() -> Iterator[str]:
    vhost = f"bureau_test_{RUN}"
    _rabbitmqctl("add_vhost", vhost)
    try:
        _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield f"{RABBITMQ}/{vhost}"
    finally:
        _rabbitmqctl("delete_vhost", vhost)


@pytest.fixture(scope="session")
def redis_namespace() -> Iterator[str]:
    namespace = f"bureau_test_{RUN}"
    yield namespace
    client = redis.Redis.from_url(REDIS)
    try:
        keys = list(client.scan_iter(match=f"{namespace}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(params=["rabbitmq", "redis", "postgres"])
def broker_under_test(request: pytest.FixtureRequest, engine: AsyncEngine) -> BrokerUnderTest:
    kind: str = request.param
    if kind == "rabbitmq":
        return BrokerUnderTest(kind, request.getfixturevalue("rabbitmq_url"))
    if kind == "redis":
        return BrokerUnderTest(kind, REDIS, request.getfixturevalue("redis_namespace"))
    return BrokerUnderTest(kind, None)


@pytest.fixture(scope="module")
async def two_tenants(engine: AsyncEngine) -> AsyncIterator[tuple[TenantRef, TenantRef]]:
    """Two tenants of the registry. Registry rows only: nothing in the worker foundation
    opens a tenant's schema, so the tests do not pay for creating and migrating one."""
    made = []
    async with engine.begin() as conn:
        for prefix in ("wa", "wb"):
            slug = f"{prefix}_{uuid.uuid4().hex[:8]}"
            row = await conn.execute(
                sa.insert(tenants).values(slug=slug, name=f"Worker {slug}", currency="USD").returning(tenants.c.id)
            )
            made.append(TenantRef(row.scalar_one(), slug))
    yield made[0], made[1]
