"""Dunning through /graphql: steps set by an ISP admin, the cases and notices read back."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.app import create_app
from bureau.platform.billing.dunning import run_dunning
from bureau.platform.billing.period import parse_period
from bureau.platform.billing.run import bill_run
from bureau.tenants import apikeys
from tests.integration.platform.billing.conftest import at, make_books

SET = """mutation($steps: [DunningStepInput!]!) { setDunningSteps(steps: $steps) {
  __typename ... on DunningSteps { steps { days action minOverdueMicros } }
  ... on ValidationError { message fields { path } } } }"""


async def test_steps_cases_and_notices(engine: AsyncEngine, make_tenant: Any, assert_ledger_sound: Any) -> None:
    books = await make_books(engine, make_tenant, "gqdun")
    bob = await books.customer("bob", "dsl-10", "2026-09-01T00:00:00")
    await bill_run(books.unit, parse_period("2026-09"), now=at("2026-10-01T01:00:00"))  # 47.24 due 2026-10-15
    slug = books.tenant.slug
    admin = await apikeys.create_api_key(engine, name="a", scope="isp", tenant=slug, actor="test")
    reader = await apikeys.create_api_key(engine, name="r", scope="isp", role="read_only", tenant=slug, actor="test")
    transport = httpx.ASGITransport(app=create_app(engine))
    async with httpx.AsyncClient(transport=transport, base_url="http://bureau.test") as client:

        async def ask(token: str, query: str, **variables: Any) -> dict[str, Any]:
            headers = {"Authorization": f"Bearer {token}"}
            return dict((await client.post("/graphql", json={"query": query, "variables": variables},
                                           headers=headers)).json())  # fmt: skip

        steps = [{"days": 5, "action": "remind"}, {"days": 10, "action": "suspend", "minOverdueMicros": 20_000_000}]
        done = (await ask(admin.token, SET, steps=steps))["data"]["setDunningSteps"]
        assert done["steps"] == [
            {"days": 5, "action": "remind", "minOverdueMicros": 0},
            {"days": 10, "action": "suspend", "minOverdueMicros": 20_000_000},
        ]
        twice = (await ask(admin.token, SET, steps=[{"days": 5, "action": "remind"}] * 2))["data"]["setDunningSteps"]
        assert twice["__typename"] == "ValidationError" and "two steps are set at 5 days" in twice["message"]
        wrong = [{"days": 5, "action": "remind"}, {"days": 6, "action": "warn"}]
        typo = (await ask(admin.token, SET, steps=wrong))["data"]["setDunningSteps"]
        assert typo["message"] == "a step's action must be remind or suspend, got 'warn'"
        assert typo["fields"] == [{"path": ["steps", "1", "action"]}]
        assert "admin role" in (await ask(reader.token, SET, steps=[]))["errors"][0]["message"]
        await run_dunning(books.unit, date(2026, 10, 25))
        cases = (await ask(reader.token, "{ dunningCases { customer level suspended overdue { micros } } }"))["data"]
        assert cases["dunningCases"] == [
            {"customer": bob.number, "level": 10, "suspended": True, "overdue": {"micros": 47_240_000}}
        ]
        events = await ask(reader.token, "{ dunningEvents { action stepDays notice } }")
        actions = [(e["action"], e["stepDays"]) for e in events["data"]["dunningEvents"]]
        assert actions == [("suspend", 10), ("remind", 5)]
        assert events["data"]["dunningEvents"][0]["notice"]["services"] == [f"bob@{books.realm}"]
    await assert_ledger_sound(books.tenant)
