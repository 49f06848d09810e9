"""`bureau dunning` as an operator uses it: set the steps, run on a date, see the cases and
the notices, and a payment recorded from the command line restores the customer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.platform.billing.period import parse_period
from bureau.platform.billing.run import bill_run
from bureau.platform.ledger.check import check_ledger
from bureau.platform.subscribers.services import find_service
from tests.integration.platform.billing.conftest import at, make_books


async def test_steps_run_cases_events_and_restoration_by_payment(
    engine: AsyncEngine, make_tenant: Any, database_url: str, run_bureau: Any, tmp_path: Path
) -> None:
    books = await make_books(engine, make_tenant, "dun")
    bob = await books.customer("bob", "dsl-10", "2026-09-01T00:00:00")
    await bill_run(books.unit, parse_period("2026-09"), now=at("2026-11-01T00:00:00"))  # 47.24 due 2026-10-15
    env = {"BUREAU_DATABASE_URL": database_url, "BUREAU_DATA_DIR": str(tmp_path)}
    t = ("--tenant", books.tenant.slug)

    refused = run_bureau("dunning", "steps", *t, "--set", "7:remind,7:suspend", env=env)
    assert refused.returncode == 2 and "two steps are set at 7 days" in refused.stderr + refused.stdout
    typo = run_bureau("dunning", "steps", *t, "--set", "7:warn", env=env)
    assert typo.returncode == 2 and "the action must be remind or suspend" in typo.stderr + typo.stdout
    set_ = run_bureau("dunning", "steps", *t, "--set", "5:remind, 10:suspend:20.00", "--json", env=env, check=True)
    assert json.loads(set_.stdout) == [
        {"days": 5, "action": "remind", "min_overdue_micros": 0},
        {"days": 10, "action": "suspend", "min_overdue_micros": 20_000_000},
    ]

    ran = run_bureau("dunning", "run", *t, "--date", "2026-10-25", "--json", env=env, check=True)
    assert json.loads(ran.stdout) == {
        "date": "2026-10-25",
        "reviewed": 1,
        "reminded": 1,
        "suspended": 1,
        "restored": 0,
    }
    cases = json.loads(run_bureau("dunning", "list", *t, "--json", env=env, check=True).stdout)
    assert [(c["customer"], c["level"], c["suspended"], c["overdue_micros"]) for c in cases] == [
        (bob.number, 10, True, 47_240_000)
    ]
    shown = run_bureau("dunning", "events", *t, "--customer", bob.number, env=env, check=True).stdout
    assert "remind" in shown and "suspend" in shown  # a table; the services are checked in --json below

    run_bureau(
        "payment", "record", *t, "--customer", bob.number, "--amount", "47.24", "--method", "cash", "--key", "r-1",
        env=env, check=True,
    )  # fmt: skip
    notices = json.loads(run_bureau("dunning", "events", *t, "--json", env=env, check=True).stdout)
    assert [n["action"] for n in notices] == ["restore", "suspend", "remind"]
    assert notices[0]["notice"]["services"] == [f"bob@{books.realm}"]
    async with books.unit() as conn:
        assert (await find_service(conn, "radius_login", f"bob@{books.realm}")).state.value == "active"
        report = await check_ledger(conn)
    assert report.ok, report.problems
    assert json.loads(run_bureau("dunning", "list", *t, "--json", env=env, check=True).stdout) == []
