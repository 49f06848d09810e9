"""`bureau customer …` and `bureau service …` over a real database, as a subprocess (and on a
pseudo-terminal for the hidden password prompt)."""

from __future__ import annotations

import base64
import json
import os
import re
import select
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from subprocess import CompletedProcess

import pytest
from sqlalchemy import select as sql_select
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.platform.catalog import classes, plans
from bureau.platform.crypto import passwords
from bureau.platform.crypto.keys import KEY_ID
from bureau.platform.crypto.secretbox import SecretBox
from bureau.platform.subscribers import customers, resellers, services
from bureau.platform.subscribers.tables import services as services_table
from bureau.tenants import lifecycle
from bureau.tenants.routing import tenant_unit

Cli = Callable[..., CompletedProcess[str]]
# Realms are unique in the whole installation (the shared registry): one set per run.
TAG = uuid.uuid4().hex[:8]
ISP_REALM = f"isp-{TAG}.example"
NORTH_REALM = f"north-{TAG}.example"
KEY = SecretBox.generate_key()
TERMINAL_TIMEOUT_S = 60


@pytest.fixture(scope="module")
async def isp(engine: AsyncEngine) -> lifecycle.Tenant:
    """One tenant for the module: plans dsl-10 and gold, realm ISP_REALM, reseller
    northnet (realm NORTH_REALM, sells dsl-10), customers carol (ISP) and dave
    (northnet), each with a pending RADIUS login."""
    tenant = await lifecycle.create_tenant(
        engine, f"cus_{uuid.uuid4().hex[:8]}", name="Customer ISP", currency="USD", actor="test"
    )
    box = SecretBox(KEY, key_id=KEY_ID)
    async with tenant_unit(engine, tenant.ref, actor="test") as conn:
        await plans.create_category(conn, "dsl", "DSL")
        await plans.create_plan(conn, "dsl-10", "DSL 10", category="dsl", billing="postpaid")
        await plans.create_plan(conn, "gold", "Gold", category="dsl", billing="postpaid")
        await classes.create_subscriber_class(conn, "residential", "Residential")
        await resellers.add_realm(conn, ISP_REALM)
        await resellers.create_reseller(conn, code="northnet", name="NorthNet", realms=[NORTH_REALM])
        await resellers.allow_plan(conn, "northnet", "dsl-10")
        for code, seller, realm in (("carol", None, ISP_REALM), ("dave", "northnet", NORTH_REALM)):
            await customers.create_customer(
                conn, code=code, name=code.title(), email=f"{code}@example.com", address=customers.Address("US"),
                reseller=seller,
            )  # fmt: skip
            await services.add_service(
                conn, box, customer=code, kind="radius_login", login=f"{code}@{realm}", plan="dsl-10", password="old-pw"
            )
    return tenant


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture
def env(env_for: Callable[..., dict[str, str]], database_url: str, data_dir: Path) -> dict[str, str]:
    return env_for(
        BUREAU_DATABASE_URL=database_url,
        BUREAU_DATA_DIR=str(data_dir),
        BUREAU_SECRET_KEY=base64.b64encode(KEY).decode(),
    )


@pytest.fixture
def cli(isp: lifecycle.Tenant, env: dict[str, str]) -> Cli:
    """`bureau ARGS --tenant <the module's tenant>`, with `input` on stdin (else /dev/null)."""

    def run(*args: str, input: str | None = None) -> CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bureau", *args, "--tenant", isp.slug],
            env=env,
            input=input,
            stdin=subprocess.DEVNULL if input is None else None,
            capture_output=True,
            text=True,
            timeout=TERMINAL_TIMEOUT_S,
            cwd=Path(__file__).parent,
        )

    return run


def run_all(cli: Cli, *commands: tuple[str, ...], input: str | None = None) -> list[CompletedProcess[str]]:
    """Independent commands side by side (each is a process of its own)."""
    with ThreadPoolExecutor(max_workers=len(commands)) as pool:
        return list(pool.map(lambda args: cli(*args, input=input), commands))


def refused(result: CompletedProcess[str]) -> str:
    """The one-line error of a command that exited 2."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    message = result.stderr.strip()
    assert message.startswith("error: ") and "\n" not in message and "Traceback" not in message, message
    return message


def ok(result: CompletedProcess[str]) -> CompletedProcess[str]:
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result


def on_terminal(args: list[str], env: dict[str, str], answers: list[tuple[str, str]]) -> tuple[int, str]:
    """Run `bureau ARGS` on a pseudo-terminal of its own (no other controlling terminal),
    typing each answer once its prompt has appeared; returns exit status and all output."""
    master, slave = os.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bureau", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
        cwd=Path(__file__).parent,
    )
    os.close(slave)
    output, seen, pending = b"", 0, list(answers)
    deadline = time.monotonic() + TERMINAL_TIMEOUT_S
    try:
        while time.monotonic() < deadline:
            if pending and pending[0][0].encode() in output[seen:]:
                seen = len(output)
                os.write(master, pending.pop(0)[1].encode() + b"\n")
            if select.select([master], [], [], 0.1)[0]:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: the process has gone and closed its side
                    break
                if not chunk:
                    break
                output += chunk
        else:
            raise AssertionError(f"bureau {' '.join(args)} still running after {TERMINAL_TIMEOUT_S} s: {output!r}")
        return proc.wait(timeout=TERMINAL_TIMEOUT_S), output.decode(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


async def stored_password(engine: AsyncEngine, tenant: lifecycle.Tenant, login: str) -> tuple[str, bytes]:
    async with tenant_unit(engine, tenant.ref) as conn:
        row = (
            await conn.execute(
                sql_select(services_table.c.password_hash, services_table.c.password_secret).where(
                    services_table.c.login == login
                )
            )
        ).one()
    return row.password_hash, row.password_secret


async def test_a_customer_is_created_and_shown_by_number_or_login(cli: Cli) -> None:
    alice, bob, bad_country = run_all(
        cli,
        (
            "customer", "create", "alice", "--name", "Alice Smith", "--email", "alice@example.com", "--country", "US",
            "--state", "TX", "--city", "Austin", "--postal-code", "78701", "--address-line", "1 Main St",
            "--phone", "+1 555 0101", "--class", "residential", "--json",
        ),
        (
            "customer", "create", "bob", "--name", "Bob", "--email", "bob@example.com", "--country", "DE",
            "--reseller", "northnet", "--postpaid", "--credit-limit", "50.00", "--json",
        ),
        ("customer", "create", "zed", "--name", "Zed", "--email", "zed@example.com", "--country", "usa"),
    )  # fmt: skip
    made = json.loads(ok(alice).stdout)
    assert re.fullmatch(r"C[0-9]{6}", made["number"])
    assert made == {
        "id": made["id"],
        "entity_id": made["entity_id"],
        "number": made["number"],
        "code": "alice",
        "name": "Alice Smith",
        "email": "alice@example.com",
        "phone": "+1 555 0101",
        "address": {"country": "US", "state": "TX", "city": "Austin", "postal_code": "78701", "lines": ["1 Main St"]},
        "subscriber_class": "residential",
        "reseller": None,
        "prepaid": True,
        "credit_limit_micros": 0,
        "currency": "USD",
    }
    reseller_customer = json.loads(ok(bob).stdout)
    assert (reseller_customer["reseller"], reseller_customer["prepaid"]) == ("northnet", False)
    assert reseller_customer["credit_limit_micros"] == 50_000_000
    assert "country 'usa' must be an ISO 3166-1 alpha-2 code" in refused(bad_country)

    by_number, by_login = run_all(
        cli, ("customer", "show", made["number"]), ("customer", "show", f"dave@{NORTH_REALM}", "--json")
    )
    text = ok(by_number).stdout
    assert f"Alice Smith ({made['number']}, account alice)" in text
    assert "1 Main St, 78701, Austin, TX, US" in text and "sold by: the ISP" in text
    assert json.loads(ok(by_login).stdout)["code"] == "dave"


async def test_a_service_password_comes_from_stdin_is_sealed_and_never_echoed(
    cli: Cli, engine: AsyncEngine, isp: lifecycle.Tenant
) -> None:
    secret = "pw-Carol-2-xyzzy"
    added, no_terminal = run_all(
        cli,
        (
            "service",
            "add",
            "carol",
            "--login",
            f"carol2@{ISP_REALM.upper()}",
            "--plan",
            "dsl-10",
            "--password-stdin",
            "--json",
        ),
        ("service", "add", "carol", "--login", f"carol3@{ISP_REALM}", "--plan", "dsl-10"),
        input=f"{secret}\n",
    )
    service = json.loads(ok(added).stdout)
    assert service == {
        "id": service["id"],
        "customer": service["customer"],
        "kind": "radius_login",
        "login": f"carol2@{ISP_REALM}",
        "plan": "dsl-10",
        "state": "pending",
        "quota_mb": None,
    }
    assert secret not in added.stdout + added.stderr
    assert refused(no_terminal) == "error: no terminal to ask for the password on: pipe it in with --password-stdin"

    password_hash, sealed = await stored_password(engine, isp, f"carol2@{ISP_REALM}")
    assert passwords.verify_password(password_hash, secret)
    box = SecretBox(KEY, key_id=KEY_ID)
    assert box.decrypt(sealed, services.secret_context("radius_login", f"carol2@{ISP_REALM}")) == secret.encode()


async def test_a_password_typed_at_the_hidden_prompt_is_not_echoed(
    env: dict[str, str], engine: AsyncEngine, isp: lifecycle.Tenant
) -> None:
    secret = "typed-Secret-42"
    status, output = on_terminal(
        ["service", "password", f"carol@{ISP_REALM}", "--tenant", isp.slug],
        env,
        [("Password: ", secret), ("confirmation: ", secret)],
    )
    assert status == 0, output
    assert "Password:" in output and "password of service" in output and "changed" in output
    assert secret not in output
    password_hash, _ = await stored_password(engine, isp, f"carol@{ISP_REALM}")
    assert passwords.verify_password(password_hash, secret)


async def test_a_reseller_customer_cannot_get_a_plan_the_reseller_does_not_sell(cli: Cli) -> None:
    new_service, plan_change, wrong_realm = run_all(
        cli,
        ("service", "add", "dave", "--login", f"dave2@{NORTH_REALM}", "--plan", "gold", "--password-stdin"),
        ("service", "plan", f"dave@{NORTH_REALM}", "gold"),
        ("service", "add", "dave", "--login", f"dave2@{ISP_REALM}", "--plan", "dsl-10", "--password-stdin"),
        input="pw\n",
    )
    not_sold = "error: plan 'gold' is not sold by reseller 'northnet'; allowed: dsl-10"
    assert refused(new_service) == not_sold
    assert refused(plan_change) == not_sold
    assert f"realm '{ISP_REALM}' belongs to the ISP itself" in refused(wrong_realm)


async def test_a_service_moves_state_and_plan_as_the_state_machine_allows(cli: Cli) -> None:
    activated = json.loads(ok(cli("service", "state", f"carol@{ISP_REALM}", "active", "--json")).stdout)
    assert (activated["login"], activated["state"]) == (f"carol@{ISP_REALM}", "active")
    back, replanned = run_all(
        cli, ("service", "state", str(activated["id"]), "pending"), ("service", "plan", f"carol@{ISP_REALM}", "gold")
    )
    assert "cannot move from active to pending; allowed: suspended, cancelled" in refused(back)
    assert f"changed service {activated['id']}: radius_login carol@{ISP_REALM}" in ok(replanned).stdout
    assert "plan gold, active" in replanned.stdout
