"""The CLI's tenant, ledger and audit commands against a real database."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.tenants import routing

Bureau = Any  # the run_bureau fixture of tests/e2e/conftest.py


async def test_commands_on_an_unmigrated_database_say_to_migrate(server_url: str, run_bureau: Bureau) -> None:
    result = run_bureau("tenant", "list", env={"BUREAU_DATABASE_URL": server_url})
    assert result.returncode == 2
    assert "run `bureau migrate`" in result.stderr


async def test_tenant_commands_validate_slugs_and_report_duplicates(
    engine: AsyncEngine, database_url: str, run_bureau: Bureau
) -> None:
    env = {"BUREAU_DATABASE_URL": database_url}
    slug = f"cli_{uuid.uuid4().hex[:8]}"
    bad = run_bureau("tenant", "create", "Acme-ISP", "--name", "Acme", env=env)
    assert bad.returncode == 2
    assert "may only hold lower-case letters" in " ".join(bad.stderr.split())

    made = run_bureau("tenant", "create", slug, "--name", "CLI ISP", "--currency", "EUR", "--json", env=env, check=True)
    assert json.loads(made.stdout)["schema"] == f"tenant_{slug}"
    again = run_bureau("tenant", "create", slug, "--name", "CLI ISP", env=env)
    assert again.returncode == 2
    assert "already exists" in again.stderr

    run_bureau("tenant", "suspend", slug, env=env, check=True)
    shown = json.loads(run_bureau("tenant", "show", slug, "--json", env=env, check=True).stdout)
    assert shown["status"] == "suspended"
    assert shown["revision"] == shown["head"]
    run_bureau("tenant", "resume", slug, env=env, check=True)
    listed = json.loads(run_bureau("tenant", "list", "--json", env=env, check=True).stdout)
    assert {t["slug"]: t["status"] for t in listed}[slug] == "active"


async def test_ledger_check_and_audit_verify_exit_nonzero_on_tampered_rows(
    engine: AsyncEngine, database_url: str, run_bureau: Bureau
) -> None:
    env = {"BUREAU_DATABASE_URL": database_url}
    slug = f"tamper_{uuid.uuid4().hex[:8]}"
    run_bureau("tenant", "create", slug, "--name", "Tamper ISP", env=env, check=True)
    assert run_bureau("ledger", "check", "--tenant", slug, env=env).returncode == 0
    assert run_bureau("audit", "verify", "--tenant", slug, env=env).returncode == 0

    schema = routing.schema_name(slug)
    async with engine.begin() as conn:
        await conn.execute(text("SET LOCAL session_replication_role = replica"))  # an attacker bypassing triggers
        await conn.execute(
            text(
                f'UPDATE "{schema}".account_balances SET balance = balance + 1 WHERE shard = 0 '
                f'AND account_id = (SELECT min(id) FROM "{schema}".accounts)'
            )
        )
        await conn.execute(
            text(
                f"UPDATE \"{schema}\".audit_log SET actor = 'someone-else' "
                f'WHERE id = (SELECT min(id) FROM "{schema}".audit_log)'
            )
        )

    checked = run_bureau("ledger", "check", "--tenant", slug, env=env)
    assert checked.returncode == 1
    assert "postings sum to 0" in " ".join(checked.stderr.split())
    verified = run_bureau("audit", "verify", "--tenant", slug, env=env)
    assert verified.returncode == 1
    assert "was changed" in " ".join(verified.stderr.split())
