"""Debian's FreeRADIUS `radclient` against `bureau up --demo`: PAP, CHAP and accounting.

The real client (freeradius-utils 3.2.1, installed by `.ci/run`) is the reference NAS. It
predates the BlastRADIUS fixes: it adds Message-Authenticator only when the input has
`Message-Authenticator = 0x00`, and Bureau drops Access-Requests without it.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

Bureau = Any  # the run_bureau fixture of tests/e2e/conftest.py

START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 30
SECRET = "testing123"  # the demo NAS 127.0.0.1
INSTALLER = Path(__file__).resolve().parents[2] / "infra" / "install-radclient.sh"


def find_radclient() -> str:
    """Debian's radclient, installed from the package registry if missing (never skipped)."""
    found = shutil.which("radclient")
    if found is None:
        done = subprocess.run(["bash", str(INSTALLER)], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"radclient is missing and {INSTALLER} could not install it: {done.stderr}"
        found = shutil.which("radclient")
    assert found is not None, "radclient is still not on PATH after installing freeradius-utils"
    return found


def start_up(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bureau", "up", "--demo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_healthy(process: subprocess.Popen[str], port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"bureau up exited early: {process.stdout.read() if process.stdout else ''}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError("bureau up did not answer /healthz in time")


def stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=STOP_TIMEOUT_S)
    return output


class Radclient:
    """The `radclient` binary pointed at one Bureau's auth and accounting ports."""

    def __init__(self, binary: str, auth_port: int, acct_port: int) -> None:
        self.binary, self.auth_port, self.acct_port = binary, auth_port, acct_port

    def run(self, command: str, *lines: str, options: tuple[str, ...] = ("-t", "5", "-r", "2")) -> str:
        """Send one packet made of LINES (`Attribute = value`); radclient's stdout and stderr."""
        port = self.auth_port if command == "auth" else self.acct_port
        result = subprocess.run(
            [self.binary, *options, f"127.0.0.1:{port}", command, SECRET],
            input="\n".join(lines) + "\n",
            capture_output=True,
            text=True,
            timeout=30,
        )
        return result.stdout + result.stderr

    def auth(self, *lines: str, debug: bool = False) -> str:
        # Debian's radclient 3.2.1 prints reply attributes only in debugging mode (-x).
        return self.run("auth", *lines, options=("-x", "-t", "5", "-r", "2") if debug else ("-t", "5", "-r", "2"))

    def acct(self, *lines: str) -> str:
        return self.run("acct", *lines)


def reply_attributes(output: str) -> list[tuple[str, str]]:
    """The attributes radclient -x printed under its `Received …` line, in order."""
    received = output.split("Received ", 1)[1]
    attributes = []
    for line in received.splitlines()[1:]:
        if not line.startswith("\t"):
            break
        name, _, value = line.strip().partition(" = ")
        attributes.append((name, value))
    return attributes


def test_debian_radclient_authenticates_with_pap_and_chap_and_accounts_a_session(
    tmp_path: Path, run_bureau: Bureau, port: Any, env_for: Any
) -> None:
    binary = find_radclient()
    data_dir, http_port, auth_port, acct_port = tmp_path / "data", port(), port(), port()
    env = {"BUREAU_DATA_DIR": str(data_dir)}
    process = start_up(
        env_for(
            BUREAU_DATA_DIR=str(data_dir),
            BUREAU_HTTP_PORT=str(http_port),
            BUREAU_RADIUS_AUTH_PORT=str(auth_port),
            BUREAU_RADIUS_ACCT_PORT=str(acct_port),
        )
    )
    try:
        wait_healthy(process, http_port)
        radclient = Radclient(binary, auth_port, acct_port)
        alice = 'User-Name = "alice@demo.example"'
        with_ma = "Message-Authenticator = 0x00"  # radclient 3.2.1 computes it only when asked

        # PAP, wrong password: Access-Reject.
        out = radclient.auth(alice, 'User-Password = "wrong"', with_ma)
        assert "Received Access-Reject" in out, out

        # No Message-Authenticator: silently dropped (BlastRADIUS), radclient counts it lost.
        out = radclient.run("auth", alice, 'User-Password = "alice-secret"', options=("-s", "-t", "1", "-r", "1"))
        assert "Received" not in out, out
        assert re.search(r"Lost\s*:\s*1\b", out), out

        # PAP, right password: Access-Accept, Message-Authenticator first, then the grant.
        out = radclient.auth(alice, 'User-Password = "alice-secret"', with_ma, debug=True)
        assert "Received Access-Accept" in out, out
        reply = reply_attributes(out)
        assert reply[0][0] == "Message-Authenticator", reply
        granted = dict(reply)
        assert 0 < int(granted["Session-Timeout"]) <= 6000, reply  # at most 2.00 reserved at 1.20 an hour
        klass = granted["Class"]
        assert re.fullmatch(r"0x[0-9a-f]+", klass), reply

        # CHAP: radclient turns CHAP-Password = "<cleartext>" into ident + MD5 over its own challenge.
        out = radclient.auth('User-Name = "carol@demo.example"', 'CHAP-Password = "carol-secret"', with_ma)
        assert "Received Access-Accept" in out, out

        # Accounting for alice's session, echoing the Class of the Accept.
        session = f'Acct-Session-Id = "radclient-{uuid.uuid4().hex[:16]}"'
        common = (alice, "NAS-IP-Address = 127.0.0.1", "NAS-Port = 1", session, f"Class = {klass}")
        for status in (
            ("Acct-Status-Type = Start",),
            ("Acct-Status-Type = Interim-Update", "Acct-Session-Time = 600"),
            ("Acct-Status-Type = Stop", "Acct-Session-Time = 900", "Acct-Terminate-Cause = User-Request"),
        ):
            out = radclient.acct(*common, *status)
            assert "Received Accounting-Response" in out, (status, out)

        shown = run_bureau("account", "show", "--tenant", "demo", "alice@demo.example", "--json", env=env, check=True)
        balances = {a["code"]: a.get("balance_micros") for a in json.loads(shown.stdout)["accounts"]}
        usage, tax = 300_000, 15_000  # 900 s at 1.20 an hour, plus the demo's 5 % US sales tax on top
        assert balances["9000"] == usage + tax, balances
        assert (balances["1000"], balances["1010"]) == (10_000_000 - usage - tax, 0), balances  # reserve settled
        checked = run_bureau("ledger", "check", env=env)
        assert checked.returncode == 0, checked.stdout + checked.stderr
    finally:
        output = stop(process)
    assert process.returncode == 0, output
