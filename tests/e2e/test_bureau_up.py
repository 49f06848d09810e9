"""`bureau up` on a fresh data folder: embedded database, demo, HTTP, one owner, clean stop."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from bureau.platform.radius import wire
from bureau.platform.radius.passwords import hide_password

Bureau = Any  # the run_bureau fixture of tests/e2e/conftest.py

START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 30


EXPORT_TIMEOUT_S = 15.0


def start_up(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bureau", "up", "--demo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_healthy(process: subprocess.Popen[str], port: int) -> dict[str, str]:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"bureau up exited early: {process.stdout.read() if process.stdout else ''}")
        try:
            response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            if response.status_code == 200:
                return dict(response.json())
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError("bureau up did not answer /healthz in time")


def graphql(port: int, key: str, query: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}"}
    answer = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": query}, headers=headers, timeout=10)
    body = answer.json()
    assert answer.status_code == 200 and "errors" not in body, body
    return dict(body["data"])


def radius_pap(port: int, login: str, password: str, secret: bytes = b"testing123") -> int:
    """Send a PAP Access-Request with Message-Authenticator from 127.0.0.1; the reply's code."""
    vector = os.urandom(16)
    attributes = [(80, bytes(16)), (1, login.encode()), (2, hide_password(password.encode(), secret, vector))]
    data = wire.build(1, 1, vector, wire.encode_attributes(attributes))
    data = data[:22] + wire.message_authenticator(data, secret) + data[38:]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.settimeout(10)
        client.sendto(data, ("127.0.0.1", port))
        reply = wire.parse(client.recv(4096))
    assert wire.response_ok(reply, vector, secret)
    return reply.code


def stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=STOP_TIMEOUT_S)
    return output


def test_bureau_up_serves_health_seeds_the_demo_and_owns_its_data_folder(
    tmp_path: Path, run_bureau: Bureau, port: Any, env_for: Any
) -> None:
    data_dir, http_port, auth_port = tmp_path / "data", port(), port()
    env = {"BUREAU_DATA_DIR": str(data_dir)}
    up_env = env_for(
        BUREAU_DATA_DIR=str(data_dir),
        BUREAU_HTTP_PORT=str(http_port),
        BUREAU_RADIUS_AUTH_PORT=str(auth_port),
        BUREAU_RADIUS_ACCT_PORT=str(port()),
    )
    process = start_up(up_env)
    try:
        assert wait_healthy(process, http_port) == {"status": "ok", "database": "ok", "version": "0.1.0"}

        second = run_bureau("up", "--port", str(port()), env=env)
        assert second.returncode == 2
        assert "already in use by Bureau" in second.stderr
        assert f"pid {process.pid}" in " ".join(second.stderr.split())

        shown = run_bureau("account", "show", "--tenant", "demo", "alice@demo.example", "--json", env=env, check=True)
        accounts = {a["code"]: a for a in json.loads(shown.stdout)["accounts"]}
        assert accounts["1000"]["balance_micros"] == 10_000_000
        assert accounts["1000"]["balance"] == "10.00 USD"
        bob = json.loads(
            run_bureau("account", "show", "-t", "demo", "bob@northnet.example", "--json", env=env, check=True).stdout
        )
        assert bob["entity"]["prepaid"] is False
        assert bob["entity"]["reseller_id"] is not None

        statement = json.loads(
            run_bureau(
                "account",
                "statement",
                "-t",
                "demo",
                "alice@demo.example",
                "--account",
                "1000",
                "--json",
                env=env,
                check=True,
            ).stdout
        )
        assert (statement["opening"], statement["closing"]) == (0, 10_000_000)
        assert [line["description"] for line in statement["lines"]] == ["Opening balance of alice@demo.example"]

        assert run_bureau("ledger", "check", env=env).returncode == 0
        verified = run_bureau("audit", "verify", env=env)
        assert verified.returncode == 0, verified.stderr
        assert "demo: ok" in verified.stdout

        # The in-process worker provisions the demo's file targets within seconds.
        exports = data_dir / "exports" / "demo"
        expected = {
            exports / "unix" / "passwd": "alice.demo.example:x:",
            exports / "unix" / "shadow": "alice.demo.example:$6$",
            exports / "radius" / "users": '"alice@demo.example"',
            exports / "mail" / "virtusertable": "alice@demo.example\talice.demo.example",
            exports / "dns" / "db.alice-shop.example": "192.0.2.10",
        }
        deadline = time.monotonic() + EXPORT_TIMEOUT_S
        while not all(path.exists() and text in path.read_text() for path, text in expected.items()):
            assert time.monotonic() < deadline, f"demo exports not written in {EXPORT_TIMEOUT_S} s: {expected}"
            time.sleep(0.2)
        assert '"bob@northnet.example"' in (exports / "radius" / "users").read_text()
        dry = run_bureau("provision", "--tenant", "demo", "--dry-run", env=env, check=True)
        assert dry.stdout.count("no change") == 4, dry.stdout

        # The scheduler's month-end job bills the demo's past month (bob's invoice).
        while "INV-000001" not in run_bureau("invoice", "list", "--tenant", "demo", env=env, check=True).stdout:
            assert time.monotonic() < deadline + EXPORT_TIMEOUT_S, "the month-end job did not bill the past month"
            time.sleep(0.5)
    finally:
        output = stop(process)
    assert process.returncode == 0, output
    assert "created tenant demo" in output
    assert not (data_dir / "pg" / "postmaster.pid").exists(), "embedded PostgreSQL still running after stop"
    keys = dict(re.findall(r"demo: API key, (ISP demo|reseller northnet|operator): (bureau_\S+)", output))
    assert set(keys) == {"ISP demo", "reseller northnet", "operator"}, output

    # A restart keeps the data and creates nothing new.
    process = start_up(up_env)
    try:
        wait_healthy(process, http_port)
        shown = run_bureau("account", "show", "-t", "demo", "alice@demo.example", "--json", env=env, check=True)
        assert {a["code"]: a for a in json.loads(shown.stdout)["accounts"]}["1000"]["balance_micros"] == 10_000_000
        # RADIUS runs inside `bureau up`: the demo NAS (127.0.0.1, testing123) and alice's login work.
        assert radius_pap(auth_port, "alice@demo.example", "wrong") == 3  # Access-Reject
        assert radius_pap(auth_port, "alice@demo.example", "alice-secret") == 2  # Access-Accept
        shown = run_bureau("account", "show", "-t", "demo", "alice@demo.example", "--json", env=env, check=True)
        balances = {a["code"]: a.get("balance_micros") for a in json.loads(shown.stdout)["accounts"]}
        assert (balances["1000"], balances["1010"]) == (8_000_000, 2_000_000)  # 2.00 reserved for the session
        metrics = httpx.get(f"http://127.0.0.1:{http_port}/metrics", timeout=5).text
        assert "bureau_radius_accepted_total 1" in metrics and "bureau_radius_rejected_total 1" in metrics
        # The keys printed at the first start open /graphql, each to its own scope.
        page = "{ customers(first: 20) { edges { node { name balance { formatted } services { login } } } } }"
        staff = ("ISP demo", "reseller northnet")
        seen = {label: graphql(http_port, keys[label], page)["customers"]["edges"] for label in staff}
        balances = {e["node"]["name"]: e["node"]["balance"]["formatted"] for e in seen["ISP demo"]}
        assert balances["Alice"] == "8.00 USD"  # 2.00 reserved for the session above
        assert [e["node"]["name"] for e in seen["reseller northnet"]] == ["Bob"]
        tenants = graphql(http_port, keys["operator"], "{ tenants { slug } }")["tenants"]
        assert [t["slug"] for t in tenants] == ["demo"]
    finally:
        output = stop(process)
    assert "demo: already in place" in output


def test_a_bad_setting_stops_start_up_naming_the_variable_and_what_is_allowed(
    tmp_path: Path, run_bureau: Bureau
) -> None:
    result = run_bureau("up", env={"BUREAU_DATA_DIR": str(tmp_path), "BUREAU_HTTP_PORT": "eighty"})
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    assert "BUREAU_HTTP_PORT='eighty'" in message
    assert "a port number from 1 to 65535" in message
    assert not (tmp_path / "pg").exists(), "nothing should start when settings are wrong"
