"""Bill runs through /graphql: a closed month queued for a worker (the real one, on the
PostgreSQL broker) and followed until finished; an open month refused with the reason."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import dramatiq
import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.app import create_app
from bureau.platform.settings import load_settings
from bureau.tenants import apikeys
from bureau.workers import app as workers
from tests.integration.platform.billing.conftest import make_books

START = """mutation($p: String!) { startBillRun(period: $p) {
  __typename ... on BillRunQueued { period } ... on ValidationError { message fields { path } } } }"""
RUNS = "{ billRuns { period status invoices skipped } }"
FAST = workers.Limits(max_retries=0, min_backoff_ms=100, max_backoff_ms=200, pg_poll_interval_s=0.05, relay_sweep_s=0.3)


async def test_a_closed_month_is_billed_by_a_worker_and_an_open_one_refused(
    engine: AsyncEngine, make_tenant: Any, database_url: str, tmp_path: Any, assert_ledger_sound: Any
) -> None:
    books = await make_books(engine, make_tenant, "gqrun")
    await books.customer("bob", "dsl-10", "2026-09-01T00:00:00")
    admin = await apikeys.create_api_key(engine, name="a", scope="isp", tenant=books.tenant.slug, actor="test")
    care = await apikeys.create_api_key(engine, name="c", scope="isp", role="care", tenant=books.tenant.slug, actor="t")
    transport = httpx.ASGITransport(app=create_app(engine))
    async with httpx.AsyncClient(transport=transport, base_url="http://bureau.test") as client:

        async def ask(token: str, query: str, **variables: Any) -> dict[str, Any]:
            headers = {"Authorization": f"Bearer {token}"}
            return dict((await client.post("/graphql", json={"query": query, "variables": variables},
                                           headers=headers)).json())  # fmt: skip

        refused = await ask(care.token, START, p="2026-09")
        assert "admin or finance role" in refused["errors"][0]["message"]
        ahead = (await ask(admin.token, START, p="2099-01"))["data"]["startBillRun"]
        assert ahead["__typename"] == "ValidationError" and "still ahead" in ahead["message"]
        assert ahead["fields"] == [{"path": ["period"]}]
        queued = (await ask(admin.token, START, p="2026-09"))["data"]["startBillRun"]
        assert queued == {"__typename": "BillRunQueued", "period": "2026-09"}
        settings = load_settings(exports_dir=tmp_path, data_dir=tmp_path / "data")
        broker = workers.build(None, database_url, limits=FAST, settings=settings)
        worker = dramatiq.Worker(broker, worker_timeout=50, worker_threads=2)
        worker.start()
        try:
            deadline = time.monotonic() + 30
            while (runs := (await ask(admin.token, RUNS))["data"]["billRuns"]) != [
                {"period": "2026-09", "status": "finished", "invoices": 1, "skipped": 0}
            ]:
                assert time.monotonic() < deadline, f"the bill run did not finish: {runs}"
                await asyncio.sleep(0.2)
        finally:
            worker.stop(timeout=10_000)
            broker.close()
    await assert_ledger_sound(books.tenant)
