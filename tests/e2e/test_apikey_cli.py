"""`bureau apikey` as an operator uses it: a key printed once, listed without its secret,
refused with the reason for a bad scope, revoked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bureau.tenants import apikeys
from bureau.tenants.apikeys import InvalidApiKey


async def test_create_list_revoke(
    engine: Any, make_tenant: Any, database_url: str, run_bureau: Any, tmp_path: Path
) -> None:
    tenant = await make_tenant("cli")
    env = {"BUREAU_DATABASE_URL": database_url, "BUREAU_DATA_DIR": str(tmp_path)}
    made = json.loads(
        run_bureau("apikey", "create", "--name", "crm", "--scope", "isp", "-t", tenant.slug, "--role", "care",
                   "--json", env=env, check=True).stdout
    )  # fmt: skip
    assert (made["scope"], made["role"], made["tenant"]) == ("isp", "care", tenant.slug)
    assert (await apikeys.authenticate(engine, made["token"])).key_id == made["key_id"]
    listed = run_bureau("apikey", "list", "-t", tenant.slug, "--json", env=env, check=True).stdout
    assert [k["key_id"] for k in json.loads(listed)] == [made["key_id"]] and made["token"] not in listed
    refused = run_bureau("apikey", "create", "--name", "x", "--scope", "isp", env=env)
    assert refused.returncode == 2 and "needs the tenant" in refused.stderr + refused.stdout
    run_bureau("apikey", "revoke", made["key_id"], env=env, check=True)
    with pytest.raises(InvalidApiKey):
        await apikeys.authenticate(engine, made["token"])
