"""Running one program of a command target: an argument list, no shell, bounded in time and output.

The program gets a minimal environment (PATH, LANG and `BUREAU_ACTION`), no standard
input, the target's folder as working folder, and its own process group, so a timeout
kills it and anything it started. Of its output only the first `OUTPUT_BYTES_MAX` bytes
of each stream are kept; the first lines of standard error go into the error message.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_PATH = "/usr/bin:/bin"
OUTPUT_BYTES_MAX = 64 * 1024  # kept of stdout and of stderr each; the rest is read and dropped
ERROR_LINES_MAX = 5  # lines of stderr in an error message
ERROR_LINE_CHARS_MAX = 200
READ_CHUNK = 8 * 1024
KILL_WAIT_S = 5  # after SIGKILL, for the process to be reaped


class CommandFailed(Exception):
    """A program exited non-zero, timed out or could not be started; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Completed:
    stdout: bytes
    stderr: bytes


def environment(action: str) -> dict[str, str]:
    return {"PATH": ENV_PATH, "LANG": "C.UTF-8", "BUREAU_ACTION": action}


def first_lines(output: bytes) -> str:
    """The first lines of `output`, each cut short, for an error message ("" if none)."""
    lines = [line.strip() for line in output.decode("utf-8", "replace").splitlines() if line.strip()]
    shown = [line[:ERROR_LINE_CHARS_MAX] for line in lines[:ERROR_LINES_MAX]]
    if len(lines) > ERROR_LINES_MAX:
        shown.append(f"... ({len(lines) - ERROR_LINES_MAX} more lines)")
    return " | ".join(shown)


async def _drain(stream: asyncio.StreamReader | None) -> bytes:
    """Everything `stream` yields until it closes, keeping the first OUTPUT_BYTES_MAX bytes."""
    kept = bytearray()
    if stream is None:
        return b""
    while chunk := await stream.read(READ_CHUNK):
        kept += chunk[: max(0, OUTPUT_BYTES_MAX - len(kept))]
    return bytes(kept)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


async def _stop(process: asyncio.subprocess.Process, outputs: asyncio.Future[tuple[bytes, bytes]]) -> None:
    """Kill the program's process group and reap it; its pipes close with it."""
    _kill_group(process.pid)
    waiting = asyncio.ensure_future(process.wait())
    futures: set[asyncio.Future[Any]] = {outputs, waiting}
    _, pending = await asyncio.wait(futures, timeout=KILL_WAIT_S)
    for future in pending:
        future.cancel()
    if pending:
        await asyncio.wait(pending)
    if outputs.done() and not outputs.cancelled():
        outputs.exception()  # retrieved, so asyncio does not log it as never retrieved


async def run(argv: Sequence[str], *, action: str, cwd: Path, timeout_s: int, what: str) -> Completed:
    """Run `argv` (argv[0] an absolute path) to completion; CommandFailed unless it exits 0.

    `what` names the program and account in messages ("program 'x' for account 'alice'").
    """
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=environment(action),
            cwd=cwd,
            start_new_session=True,  # its own process group: a timeout kills what it started too
        )
    except OSError as error:
        raise CommandFailed(f"{what} ({action}) could not be started: {error}") from None
    outputs = asyncio.gather(_drain(process.stdout), _drain(process.stderr))
    try:
        async with asyncio.timeout(timeout_s):
            stdout, stderr = await outputs
            code = await process.wait()
    except TimeoutError:
        await _stop(process, outputs)
        raise CommandFailed(f"{what} ({action}) did not finish within {timeout_s} s and was killed") from None
    except BaseException:
        _kill_group(process.pid)  # cancelled: leave nothing running
        raise
    if code != 0:
        status = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
        detail = first_lines(stderr) or first_lines(stdout) or "no output"
        raise CommandFailed(f"{what} ({action}) {status}: {detail}")
    return Completed(stdout, stderr)
