"""Running the real `bureau` command as a subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

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
