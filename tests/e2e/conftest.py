"""Running the real `bureau` command as a subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

Bureau = Callable[..., subprocess.CompletedProcess[str]]
COMMAND_TIMEOUT_S = 120


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bureau_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUREAU_")}
    env.update(extra)
    return env


@pytest.fixture
def port() -> Callable[[], int]:
    """A function returning a free TCP port on loopback."""
    return free_port


@pytest.fixture
def env_for() -> Callable[..., dict[str, str]]:
    """The test process's environment without BUREAU_*, plus the given variables."""
    return bureau_env


@pytest.fixture
def run_bureau() -> Bureau:
    """Run `python -m bureau ARGS` with the given BUREAU_* variables; returns the result."""

    def run(*args: str, env: dict[str, str], check: bool = False) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "bureau", *args],
            env=bureau_env(**env),
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
            cwd=Path(__file__).parent,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"bureau {' '.join(args)} failed: {result.stdout}\n{result.stderr}")
        return result

    return run


# --- CLI tests that share one tenant per module ---------------------------------------------
# A module defines an `isp` fixture (its tenant); `cli` runs `bureau ARGS --tenant <it>`.

Cli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture
def cli(run_bureau: Bureau, isp: Any, database_url: str, data_dir: Path) -> Cli:
    """`bureau ARGS --tenant <the module's tenant>`."""
    env = {"BUREAU_DATABASE_URL": database_url, "BUREAU_DATA_DIR": str(data_dir)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return run_bureau(*args, "--tenant", isp.slug, env=env)

    return run


def run_all(cli: Cli, *commands: tuple[str, ...]) -> list[subprocess.CompletedProcess[str]]:
    """Independent commands side by side (each is a process of its own)."""
    with ThreadPoolExecutor(max_workers=len(commands)) as pool:
        return list(pool.map(lambda args: cli(*args), commands))


def refused(result: subprocess.CompletedProcess[str]) -> str:
    """The one-line error of a command that exited 2."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    message = result.stderr.strip()
    assert message.startswith("error: ") and "\n" not in message and "Traceback" not in message, message
    return message


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result
