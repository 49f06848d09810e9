"""`bureau plan radius` checks attribute names and values against the RADIUS dictionary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.platform.catalog.plans import create_category, create_plan
from bureau.tenants.routing import tenant_unit


async def test_plan_radius_sets_checked_attributes(
    engine: AsyncEngine, make_tenant: Any, database_url: str, run_bureau: Any, tmp_path: Path
) -> None:
    tenant = await make_tenant("prad")
    async with tenant_unit(engine, tenant.ref) as conn:
        await create_category(conn, "dsl", "DSL")
        await create_plan(conn, "dsl-10", "DSL 10", category="dsl", billing="postpaid")
    env = {"BUREAU_DATABASE_URL": database_url, "BUREAU_DATA_DIR": str(tmp_path)}
    base = ("plan", "radius", "dsl-10", "--tenant", tenant.slug)
    made = run_bureau(
        *base,
        "--attribute", "Mikrotik-Rate-Limit=10M/10M",
        "--attribute", "Framed-Pool=residential",
        "--attribute", "Idle-Timeout=900",
        "--max-sessions", "2",
        "--interim", "300",
        "--json",
        env=env,
        check=True,
    )  # fmt: skip
    assert json.loads(made.stdout) == {
        "plan": "dsl-10",
        "attributes": {"Mikrotik-Rate-Limit": "10M/10M", "Framed-Pool": "residential", "Idle-Timeout": 900},
        "max_sessions": 2,
        "interim_interval": 300,
    }
    unknown = run_bureau(*base, "--attribute", "Mikrotik-Rate-Limt=1M", env=env)
    assert unknown.returncode == 2 and "Mikrotik-Rate-Limt" in unknown.stderr
    not_a_number = run_bureau(*base, "--attribute", "Idle-Timeout=soon", env=env)
    assert not_a_number.returncode == 2 and "Idle-Timeout takes a number" in not_a_number.stderr
    own = run_bureau(*base, "--attribute", "Session-Timeout=60", env=env)
    assert own.returncode == 2 and "set by Bureau itself" in own.stderr
    shown = json.loads(run_bureau(*base, "--json", env=env, check=True).stdout)
    assert shown["attributes"]["Framed-Pool"] == "residential"
