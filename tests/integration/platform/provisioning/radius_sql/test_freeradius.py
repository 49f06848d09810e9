"""FreeRADIUS itself reads the rows a sync writes: accepts, rejects and reply items over UDP.

Debian's freeradius (3.2, rlm_sql_postgresql) runs with the bench's minimal raddb
(bench/freeradius/: users from SQL, then PAP) against the test's FreeRADIUS database,
and radclient sends it PAP Access-Requests.
"""

from __future__ import annotations

import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bureau.platform.provisioning.radius_sql.options import RadiusSqlOptions
from bureau.platform.provisioning.radius_sql.sync import sync
from tests.conftest import MakeAccount

from .conftest import FreeradiusDb

TEMPLATES = Path(__file__).resolve().parents[5] / "bench" / "freeradius"
SYSTEM_RADDB = Path("/etc/freeradius/3.0")
INSTALLER = Path(__file__).resolve().parents[5] / "infra" / "install-freeradius.sh"  # when missing
FREERADIUS, RADCLIENT = "/usr/sbin/freeradius", "/usr/bin/radclient"
SECRET = "testing123"  # bench/freeradius/clients.conf's
START_TIMEOUT_S = 30


def free_udp_ports(count: int) -> list[int]:
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def build_raddb(folder: Path, url: str, ports: list[int]) -> None:
    """bench/freeradius/ with its @NAME@ placeholders filled in, as bench/radius.py does."""
    parsed = make_url(url)
    host = parsed.query.get("host") or parsed.host or "localhost"
    values = {
        "RADDB": str(folder),
        "SYSTEM_RADDB": str(SYSTEM_RADDB),
        "AUTH_PORT": str(ports[0]),
        "ACCT_PORT": str(ports[1]),
        "SECRET": SECRET,
        "THREADS": "2",
        "DB_HOST": str(host if isinstance(host, str) else host[0]),
        "DB_PORT": str(parsed.port or 5432),
        "DB_USER": parsed.username or "postgres",
        "DB_PASSWORD": "",
        "DB_NAME": parsed.database or "",
    }
    for template in sorted(TEMPLATES.rglob("*")):
        if template.is_file():
            body = template.read_text()
            for name, value in values.items():
                body = body.replace(f"@{name}@", value)
            assert not re.search(r"@[A-Z_]+@", body), f"{template}: a placeholder is left"
            target = folder / template.relative_to(TEMPLATES)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(body)


@pytest.fixture
def freeradius(freeradius_db: FreeradiusDb, tmp_path: Path) -> Iterator[int]:
    """A running FreeRADIUS reading the test's database; yields its auth port."""
    installed = subprocess.run(["bash", str(INSTALLER)], capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, f"{INSTALLER} could not install FreeRADIUS: {installed.stderr}"
    assert Path(FREERADIUS).exists() and Path(RADCLIENT).exists(), "install freeradius and freeradius-utils"
    ports = free_udp_ports(2)
    build_raddb(tmp_path, freeradius_db.url, ports)
    log = tmp_path / "radius.log"
    with (tmp_path / "output.log").open("wb") as out:
        process = subprocess.Popen([FREERADIUS, "-f", "-d", str(tmp_path)], stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while "Ready to process requests" not in (log.read_text(errors="replace") if log.exists() else ""):
            assert process.poll() is None, (tmp_path / "output.log").read_text() + (
                log.read_text() if log.exists() else ""
            )
            assert time.monotonic() < deadline, "FreeRADIUS did not start"
            time.sleep(0.1)
        yield ports[0]
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def authenticate(port: int, user: str, password: str) -> str:
    """radclient's output for one PAP Access-Request."""
    # The bench's client requires Message-Authenticator; radclient computes it when asked for one.
    request = f'User-Name = "{user}", User-Password = "{password}", Message-Authenticator = 0x00\n'
    done = subprocess.run(
        [RADCLIENT, "-x", "-r", "1", "-t", "3", f"127.0.0.1:{port}", "auth", SECRET],
        input=request,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return done.stdout + done.stderr


async def test_freeradius_accepts_active_logins_and_rejects_the_others_as_the_rows_say(
    freeradius: int, freeradius_db: FreeradiusDb, account: MakeAccount
) -> None:
    options = RadiusSqlOptions(url=freeradius_db.url, timeout_s=5)
    accounts = [
        account("alice@isp.example", service_id=1, password="alice-pw"),
        account("dave@isp.example", service_id=2, password="dave-pw", suspended=True),
        account("nopass@isp.example", service_id=3, password_crypt=None),
    ]
    await sync(options, None, accounts)

    alice = authenticate(freeradius, "alice@isp.example", "alice-pw")
    assert "Received Access-Accept" in alice
    assert "Service-Type = Framed-User" in alice and "Framed-Protocol = PPP" in alice
    assert "Received Access-Reject" in authenticate(freeradius, "alice@isp.example", "wrong")
    dave = authenticate(freeradius, "dave@isp.example", "dave-pw")
    assert "Received Access-Reject" in dave and 'Reply-Message = "Account suspended"' in dave
    assert "Received Access-Reject" in authenticate(freeradius, "nopass@isp.example", "")

    await sync(options, None, accounts[1:])  # alice cancelled

    assert "Received Access-Reject" in authenticate(freeradius, "alice@isp.example", "alice-pw")
