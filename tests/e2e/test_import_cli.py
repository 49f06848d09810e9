"""`bureau import subscribers`: the command over a real database, all rows or none."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.platform.catalog.plans import create_category, create_plan
from bureau.platform.crypto.keys import KEY_ID
from bureau.platform.crypto.secretbox import SecretBox
from bureau.platform.subscribers.resellers import add_realm
from bureau.platform.subscribers.services import secret_context
from bureau.platform.subscribers.tables import customers, services
from bureau.tenants.routing import tenant_unit

Bureau = Any  # the run_bureau fixture of tests/e2e/conftest.py

HEADER = "code,name,email,country,login,password,plan"


def write_csv(folder: Path, name: str, *rows: str) -> Path:
    path = folder / name
    path.write_text("\n".join((HEADER, *rows)) + "\n", encoding="utf-8")
    return path


def realm_of(tenant: Any) -> str:
    """A realm of this tenant alone: the installation-wide registry gives a realm to one tenant."""
    return f"imp-{tenant.slug.rpartition('_')[2]}.example"


async def make_isp(make_tenant, engine: AsyncEngine) -> Any:
    tenant = await make_tenant("imp")
    async with tenant_unit(engine, tenant.ref, actor="test") as conn:
        await create_category(conn, "dsl", "DSL")
        await create_plan(conn, "dsl-10", "DSL 10", category="dsl", billing="postpaid")
        await add_realm(conn, realm_of(tenant))
    return tenant


async def count_customers(engine: AsyncEngine, tenant: Any) -> int:
    async with tenant_unit(engine, tenant.ref, actor="test") as conn:
        return int(await conn.scalar(select(func.count()).select_from(customers)) or 0)


async def test_a_good_file_is_imported_with_a_key_kept_private_in_the_data_folder(
    engine: AsyncEngine, database_url: str, make_tenant, run_bureau: Bureau, tmp_path: Path
) -> None:
    tenant = await make_isp(make_tenant, engine)
    R = realm_of(tenant)
    env = {"BUREAU_DATABASE_URL": database_url, "BUREAU_DATA_DIR": str(tmp_path / "data")}
    good = write_csv(
        tmp_path,
        "good.csv",
        f"alice,Alice,alice@example.com,US,alice@{R},pw-alice,dsl-10",
        f"bob,Bob,bob@example.com,DE,bob@{R},pw-bob,dsl-10",
    )

    dry = run_bureau("import", "subscribers", "--tenant", tenant.slug, str(good), "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert "dry run: 2 row(s), all 2 valid; nothing was written" in dry.stdout
    assert await count_customers(engine, tenant) == 0

    done = run_bureau("import", "subscribers", "--tenant", tenant.slug, str(good), env=env)
    assert done.returncode == 0, done.stderr
    assert "imported 2 customer(s)" in done.stdout
    assert await count_customers(engine, tenant) == 2

    key_file = tmp_path / "data" / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key_text = key_file.read_text().strip()
    assert key_text not in dry.stdout + dry.stderr + done.stdout + done.stderr
    async with tenant_unit(engine, tenant.ref, actor="test") as conn:
        sealed = await conn.scalar(select(services.c.password_secret).where(services.c.login == f"bob@{R}"))
    box = SecretBox(base64.b64decode(key_text), key_id=KEY_ID)
    assert box.decrypt(sealed, secret_context("radius_login", f"bob@{R}")) == b"pw-bob"


async def test_bad_rows_exit_1_with_errors_by_line_and_nothing_written(
    engine: AsyncEngine, database_url: str, make_tenant, run_bureau: Bureau, tmp_path: Path
) -> None:
    tenant = await make_isp(make_tenant, engine)
    R = realm_of(tenant)
    env = {"BUREAU_DATABASE_URL": database_url, "BUREAU_DATA_DIR": str(tmp_path)}
    bad = write_csv(
        tmp_path,
        "bad.csv",
        f"alice,Alice,alice@example.com,US,alice@{R},pw-alice,dsl-10",
        f"bob,Bob,bob@,US,bob@{R},pw-bob,dsl-10",
        f"carol,Carol,carol@example.com,US,carol@{R},pw-carol,gold-99",
    )
    result = run_bureau("import", "subscribers", "--tenant", tenant.slug, str(bad), env=env)
    assert result.returncode == 1
    assert "line 3, email: 'bob@' is not an address like 'alice@example.com'" in result.stdout
    assert "line 4, plan:" in result.stdout and "gold-99" in result.stdout
    assert "refused: 2 error(s) in 3 row(s); nothing was written" in result.stdout
    assert await count_customers(engine, tenant) == 0

    as_json = run_bureau("import", "subscribers", "--tenant", tenant.slug, str(bad), "--json", env=env)
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    assert (report["ok"], report["rows"], report["created"], report["errors_total"]) == (False, 3, 0, 2)
    assert [(e["line"], e["field"]) for e in report["errors"]] == [(3, "email"), (4, "plan")]


async def test_a_missing_file_unknown_tenant_or_bad_key_exit_2_with_a_message(
    engine: AsyncEngine, database_url: str, make_tenant, run_bureau: Bureau, tmp_path: Path
) -> None:
    tenant = await make_isp(make_tenant, engine)
    R = realm_of(tenant)
    env = {"BUREAU_DATABASE_URL": database_url, "BUREAU_DATA_DIR": str(tmp_path)}
    good = write_csv(tmp_path, "one.csv", f"alice,Alice,alice@example.com,US,alice@{R},pw,dsl-10")

    missing = run_bureau("import", "subscribers", "--tenant", tenant.slug, str(tmp_path / "nope.csv"), env=env)
    assert missing.returncode == 2 and "no such file" in missing.stderr

    unknown = run_bureau("import", "subscribers", "--tenant", "no_such_isp", str(good), env=env)
    assert unknown.returncode == 2 and "no_such_isp" in unknown.stderr

    wrong_key = "c2hvcnQta2V5"  # base64 of 9 bytes
    bad_key = run_bureau(
        "import", "subscribers", "--tenant", tenant.slug, str(good), env={**env, "BUREAU_SECRET_KEY": wrong_key}
    )
    assert bad_key.returncode == 2
    assert "BUREAU_SECRET_KEY" in bad_key.stderr and "not 32" in bad_key.stderr
    assert wrong_key not in bad_key.stderr + bad_key.stdout
    assert await count_customers(engine, tenant) == 0
