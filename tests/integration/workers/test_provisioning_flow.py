"""A service change reaches the export files through the outbox, the relay and a worker,
on the PostgreSQL broker and on RabbitMQ; each job's outcome is recorded under its outbox id."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Iterator
from contextlib import contextmanager

import dramatiq
import pytest
from sqlalchemy import select

from bureau.platform import outbox
from bureau.platform.catalog.plans import create_category, create_plan
from bureau.platform.crypto.secretbox import SecretBox
from bureau.platform.provisioning import jobs, targets
from bureau.platform.provisioning.changes import EXPORT_ACTOR
from bureau.platform.provisioning.listing import Job, JobState, job_page
from bureau.platform.settings import exports_root, load_settings
from bureau.platform.subscribers.customers import Address, create_customer
from bureau.platform.subscribers.resellers import add_realm
from bureau.platform.subscribers.services import add_service, change_service_state
from bureau.tenants.routing import tenant_unit
from bureau.workers import app
from bureau.workers.dead_letters import list_dead_letters
from bureau.workers.relay import relay_tenant

from .conftest import BrokerUnderTest

WAIT_S = 20.0
FAST = app.Limits(max_retries=1, min_backoff_ms=100, max_backoff_ms=200, pg_poll_interval_s=0.05, relay_sweep_s=0.5)


@pytest.fixture
async def subscriber(engine, make_tenant):
    """A tenant with a RADIUS users file target and one active login."""
    tenant = await make_tenant("flow")
    key = SecretBox.generate_key()
    realm = f"flow-{tenant.slug.rpartition('_')[2]}.example"
    async with tenant_unit(engine, tenant.ref, actor="test") as conn:
        await create_category(conn, "dsl", "DSL")
        await create_plan(conn, "dsl-10", "DSL 10", category="dsl", billing="postpaid")
        await add_realm(conn, realm)
        await create_customer(conn, code="alice", name="Alice", email="alice@example.com", address=Address("US"))
        service = await add_service(
            conn, SecretBox(key, key_id=1), customer="alice", kind="radius_login", login=f"alice@{realm}",
            plan="dsl-10", password="s3cret-Pass",
        )  # fmt: skip
        await change_service_state(conn, service.id, "active")
        await targets.add_target(conn, "radius", "radius_users")
    return tenant, key, service, realm


@contextmanager
def running_worker(under_test: BrokerUnderTest, database_url: str, tmp_path, key: bytes) -> Iterator[None]:
    settings = load_settings(
        exports_dir=tmp_path, data_dir=tmp_path / "data", secret_key=base64.b64encode(key).decode()
    )
    broker = app.build(under_test.url, database_url, limits=FAST, namespace=under_test.namespace, settings=settings)
    worker = dramatiq.Worker(broker, worker_timeout=50, worker_threads=2)
    worker.start()
    try:
        yield
    finally:
        worker.stop(timeout=10_000)
        broker.close()


async def eventually(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {WAIT_S} s waiting for {what}")
        await asyncio.sleep(0.05)


async def finished(engine, tenant, *ids: int) -> list[Job]:
    """The jobs with these ids (every provisioning job when none is given), once each is
    done or failed."""
    deadline = time.monotonic() + WAIT_S
    while True:
        async with tenant_unit(engine, tenant.ref, actor="test") as conn:
            found = [job for job in await job_page(conn) if not ids or job.id in ids]
        if found and all(job.state in (JobState.DONE, JobState.FAILED) for job in found):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {WAIT_S} s waiting for jobs to finish: {found}")
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("kind", ["postgres", "rabbitmq"])
async def test_a_suspension_is_exported_within_seconds_of_its_commit(
    kind, request, engine, database_url, subscriber, tmp_path
):
    tenant, key, service, realm = subscriber
    url = request.getfixturevalue("rabbitmq_url") if kind == "rabbitmq" else None
    users = exports_root(load_settings(exports_dir=tmp_path), tenant.slug) / "radius" / "users"
    with running_worker(BrokerUnderTest(kind, url), database_url, tmp_path, key):
        await eventually(lambda: users.exists() and f'"alice@{realm}"' in users.read_text(), "the first export")
        assert "Auth-Type := Reject" not in users.read_text()
        async with tenant_unit(engine, tenant.ref, actor="test") as conn:
            await change_service_state(conn, service.id, "suspended")
        await eventually(lambda: "Auth-Type := Reject" in users.read_text(), "the suspension's export")
        done = await finished(engine, tenant)
    assert len(done) == 2 and all(job.state is JobState.DONE and job.error is None for job in done), done
    async with tenant_unit(engine, tenant.ref, actor="test") as conn:
        assert await outbox.pending(conn) == 0
        sent = (await conn.execute(select(outbox.outbox.c.actor).where(outbox.outbox.c.sent_at.is_not(None)))).all()
    assert {row.actor for row in sent} == {EXPORT_ACTOR}


async def test_a_relay_that_dies_before_marking_its_messages_sent_sends_them_again(engine, subscriber):
    tenant = subscriber[0]
    sent: list[str] = []

    def dies_after_sending(message: outbox.Message, to) -> None:
        sent.append(message.actor)
        raise ConnectionResetError("relay lost its database connection after sending")

    with pytest.raises(ConnectionResetError):
        await relay_tenant(engine, tenant.ref, dies_after_sending)
    assert await relay_tenant(engine, tenant.ref, lambda message, to: sent.append(message.actor)) == 1
    assert sent == [EXPORT_ACTOR, EXPORT_ACTOR], "sent twice (actors are idempotent), never lost"
    assert await relay_tenant(engine, tenant.ref, lambda message, to: sent.append(message.actor)) == 0


async def test_a_target_that_stays_down_is_retried_then_dead_lettered_while_the_others_export(
    engine, database_url, subscriber, tmp_path
):
    tenant, key, _, realm = subscriber
    down = {"url": "ldap://127.0.0.1:9", "base_dn": "dc=isp,dc=example", "bind_dn": "cn=admin,dc=isp,dc=example"}
    async with tenant_unit(engine, tenant.ref, actor="test") as conn:
        await targets.add_target(
            conn, "directory", "ldap", {**down, "timeout_s": 1}, secret="bind-pw", box=SecretBox(key, key_id=1)
        )
    users = exports_root(load_settings(exports_dir=tmp_path), tenant.slug) / "radius" / "users"
    letters: list = []
    with running_worker(BrokerUnderTest("postgres", None), database_url, tmp_path, key):
        deadline = time.monotonic() + WAIT_S
        while not letters:
            assert time.monotonic() < deadline, f"no dead letter for {EXPORT_ACTOR} after {WAIT_S} s"
            letters.extend(await list_dead_letters(engine, tenant_slug=tenant.slug, actor_name=EXPORT_ACTOR))
            await asyncio.sleep(0.1)
        (failed,) = await finished(engine, tenant)
        # While it is up: an export of the file target alone, then a reconciliation without the directory.
        async with tenant_unit(engine, tenant.ref, actor="test") as conn:
            one = await jobs.queue_export(conn, "radius")
        (radius,) = await finished(engine, tenant, one.id)
        async with tenant_unit(engine, tenant.ref, actor="test") as conn:
            await targets.set_target_enabled(conn, "directory", False)
            night = await jobs.queue_reconciliation(conn)
        (reconciled,) = await finished(engine, tenant, night.id)
    (letter,) = letters
    assert letter.attempts == FAST.max_retries + 1
    assert "directory" in letter.error and "ldap://127.0.0.1:9" in letter.error and "bind-pw" not in letter.error
    assert f'"alice@{realm}"' in users.read_text(), "the file target was exported all the same"
    assert failed.state is JobState.FAILED and failed.finished_at is not None
    assert failed.error is not None and failed.error.startswith("directory: ") and "ldap://127.0.0.1:9" in failed.error
    assert "bind-pw" not in failed.error and tenant.slug not in failed.error
    assert (radius.state, radius.target, radius.error) == (JobState.DONE, "radius", None), "the directory was left out"
    assert (reconciled.state, reconciled.error) == (JobState.DONE, None)
