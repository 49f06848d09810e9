"""A worker killed with SIGKILL in the middle of an export leaves no duplicate or missing
effect: the broker redelivers the job, the next worker finishes it, every account is
provisioned once (the program is idempotent, as Bureau requires) and nothing half-done
is recorded."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.platform.catalog.plans import create_category, create_plan
from bureau.platform.crypto.secretbox import SecretBox
from bureau.platform.provisioning import targets
from bureau.platform.provisioning.tables import export_runs
from bureau.platform.subscribers import customers, resellers, services
from bureau.tenants import lifecycle
from bureau.tenants.routing import tenant_unit

from .conftest import bureau_env

LOGINS = ("ann", "ben", "cat", "dan")
STEP_S = 1.0  # the program's work per account: long enough to be killed in the middle
WAIT_S = 60.0
PROGRAM = """#!/bin/sh
# BASE USER: make BASE/USER (idempotent), slowly, and log every run.
sleep {step}
mkdir -p "$1/$2"
echo "$BUREAU_ACTION $2" >> "$1/runs.log"
"""


def rabbitmqctl(*args: str) -> None:
    ctl = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    subprocess.run([ctl, "-q", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture
def vhost() -> Iterator[str]:
    name = f"bureau_kill_{uuid.uuid4().hex[:8]}"
    rabbitmqctl("add_vhost", name)
    try:
        rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        yield f"amqp://guest:guest@127.0.0.1:5672/{name}"
    finally:
        rabbitmqctl("delete_vhost", name)


@pytest.fixture
async def tenant(engine: AsyncEngine, tmp_path: Path) -> lifecycle.Tenant:
    made = await lifecycle.create_tenant(
        engine, f"kill_{uuid.uuid4().hex[:8]}", name="Killed ISP", currency="USD", actor="test"
    )
    realm = f"{made.slug.replace('_', '-')}.example"
    async with tenant_unit(engine, made.ref, actor="test") as conn:
        await create_category(conn, "dsl", "DSL")
        await create_plan(conn, "dsl-10", "DSL 10", category="dsl", billing="postpaid")
        await resellers.add_realm(conn, realm)
        box = SecretBox(SecretBox.generate_key())
        for login in LOGINS:
            await customers.create_customer(
                conn, code=login, name=login.title(), email=f"{login}@example.com", address=customers.Address("US")
            )
            service = await services.add_service(
                conn, box, customer=login, kind="radius_login", login=f"{login}@{realm}", plan="dsl-10",
                password="s3cret-Pass",
            )  # fmt: skip
            await services.change_service_state(conn, service.id, "active")
    return made


def start_worker(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bureau", "worker", "--processes", "1", "--threads", "2", "--no-scheduler"],
        env=bureau_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: SIGKILL reaches the worker processes too
    )


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {WAIT_S} s waiting for {what}"
        time.sleep(0.1)


def runs(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


async def test_a_worker_killed_mid_export_leaves_every_account_provisioned_once(
    engine: AsyncEngine, database_url: str, tenant: lifecycle.Tenant, vhost: str, tmp_path: Path
) -> None:
    commands, homes, exports = tmp_path / "commands", tmp_path / "homes", tmp_path / "exports"
    commands.mkdir(mode=0o755)
    homes.mkdir()
    program = commands / "slow-home.sh"
    program.write_text(PROGRAM.format(step=STEP_S))
    program.chmod(0o755)
    argv = ["slow-home.sh", str(homes), "{user}"]
    async with tenant_unit(engine, tenant.ref, actor="test") as conn:
        # Adding the target queues its first export (through the outbox).
        await targets.add_target(conn, "homes", "command", {"kinds": ["radius_login"], "add": argv, "remove": argv})
    env = {
        "BUREAU_DATABASE_URL": database_url,
        "BUREAU_BROKER_URL": vhost,
        "BUREAU_DATA_DIR": str(tmp_path / "data"),
        "BUREAU_EXPORTS_DIR": str(exports),
        "BUREAU_PROVISIONING_COMMANDS": str(commands),
    }
    log = homes / "runs.log"
    first = start_worker(env)
    try:
        wait_for(lambda: len(runs(log)) >= 1, "the export to start")
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.communicate(timeout=30)
    done_before = len(runs(log))
    assert done_before < len(LOGINS), "the job was killed in the middle"

    second = start_worker(env)
    try:
        wait_for(
            lambda: {line.split()[1] for line in runs(log)} >= {f"{n}.{realm(tenant)}" for n in LOGINS}, "the rest"
        )
        state = exports / tenant.slug / "homes" / "state.json"
        wait_for(lambda: state.exists() and len(json.loads(state.read_text())) == len(LOGINS), "the state file")
    finally:
        second.send_signal(signal.SIGTERM)
        output, _ = second.communicate(timeout=60)
    users = [line.split()[1] for line in runs(log)]
    assert sorted(set(users)) == sorted(f"{n}.{realm(tenant)}" for n in LOGINS)
    repeated = [user for user in set(users) if users.count(user) > 1]
    assert len(repeated) <= 1, f"only the account in progress at the kill may run twice: {users}"
    assert sorted(p.name for p in homes.iterdir() if p.is_dir()) == sorted(set(users))
    async with tenant_unit(engine, tenant.ref, actor="test") as conn:
        outcomes = (await conn.execute(select(export_runs.c.outcome))).scalars().all()
    assert outcomes == ["written"], "the killed export recorded nothing; the finished one once"
    assert "Traceback" not in output, output


def realm(tenant: lifecycle.Tenant) -> str:
    return f"{tenant.slug.replace('_', '-')}.example"
