"""`bureau serve --workers 2`: two processes answer /graphql on one port, and stop together."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.tenants import apikeys, lifecycle

START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 30


def http_processes(pid: int) -> set[int]:
    """The processes uvicorn's supervisor spawned (not multiprocessing's resource tracker)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            with contextlib.suppress(FileNotFoundError):
                if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                    found.add(int(child))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.fixture
async def token(engine: AsyncEngine) -> str:
    """An ISP key of a new tenant without customers."""
    tenant = await lifecycle.create_tenant(
        engine, f"wrk_{uuid.uuid4().hex[:8]}", name="Workers ISP", currency="USD", actor="test"
    )
    key = await apikeys.create_api_key(engine, name="workers", scope="isp", tenant=tenant.slug, actor="test")
    return key.token


def test_two_processes_serve_the_api_and_stop_on_sigterm(
    token: str,
    database_url: str,
    port: Callable[[], int],
    env_for: Callable[..., dict[str, str]],
    tmp_path: Path,
) -> None:
    http = port()
    env = env_for(BUREAU_DATABASE_URL=database_url, BUREAU_HTTP_PORT=str(http), BUREAU_DATA_DIR=str(tmp_path))
    server = subprocess.Popen(
        [sys.executable, "-m", "bureau", "serve", "--workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        workers: set[int] = set()
        while time.monotonic() < deadline:
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            workers = http_processes(server.pid)
            try:
                if len(workers) == 2 and httpx.get(f"http://127.0.0.1:{http}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        assert len(workers) == 2, f"expected two HTTP processes under bureau serve, found {workers}"

        url = f"http://127.0.0.1:{http}/graphql"
        query = {"query": "{ customers(first: 5) { edges { node { number } } } }"}
        headers = {"Authorization": f"Bearer {token}"}
        for _ in range(10):  # a new connection each, so either process may take it
            answer = httpx.post(url, json=query, headers=headers, timeout=10)
            assert answer.status_code == 200 and answer.json() == {"data": {"customers": {"edges": []}}}
        assert "needs an ISP or reseller key" in httpx.post(url, json=query, timeout=10).text
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=STOP_TIMEOUT_S)
    assert server.returncode == 0, output
    assert "2 HTTP processes" in output
    assert not any(alive(pid) for pid in workers), "an HTTP process outlived bureau serve"
