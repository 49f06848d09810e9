"""The state file of a target that cannot be read back, and applying steps against it.

`state.json` in the target's folder holds {key: {attribute: value}} of the accounts as
last applied. It is replaced atomically after every step that succeeded (a temporary
file, flushed to disk, renamed over the old one, mode 0640), so it never holds half a
write and never claims a step that did not finish. While a sync runs it holds an
exclusive lock on `.state.lock`, so two syncs of one target never interleave.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
from collections.abc import Awaitable, Callable, Iterator, Mapping
from pathlib import Path

from ..formats.base import Held
from .plan import Action, Step, SyncResult, plan, result

STATE_FILE = "state.json"
LOCK_FILE = ".state.lock"
TEMPORARY_SUFFIX = ".tmp"
FILE_MODE = 0o640
FOLDER_MODE = 0o750
STATE_BYTES_MAX = 256 * 1024 * 1024  # a state file above this is not one Bureau wrote


class StateError(Exception):
    """The state file cannot be read, or another sync of the target holds it."""


def read_state(folder: Path) -> dict[str, Held]:
    """What the target last applied; an absent file is an empty state (a first sync)."""
    path = folder / STATE_FILE
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return {}
    advice = "restore it from a backup, or delete it to apply every account again"
    if size > STATE_BYTES_MAX:
        raise StateError(f"{path} is {size} bytes, more than {STATE_BYTES_MAX}; {advice}")
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise StateError(f"{path} cannot be read ({error}); {advice}") from None
    if not isinstance(loaded, dict) or not all(
        isinstance(attributes, dict) and all(isinstance(v, str) for v in attributes.values())
        for attributes in loaded.values()
    ):
        raise StateError(f"{path} is not an object of key -> {{attribute: text}}; {advice}")
    return {key: Held(key, attributes) for key, attributes in sorted(loaded.items())}


def write_state(folder: Path, state: Mapping[str, Held]) -> None:
    """Replace the state file with `state`, atomically and durably."""
    folder.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)
    body = json.dumps(
        {key: dict(sorted(held.attributes.items())) for key, held in sorted(state.items())},
        indent=1,
        ensure_ascii=False,
    )
    target = folder / STATE_FILE
    temporary = folder / f".{STATE_FILE}.{os.getpid()}{TEMPORARY_SUFFIX}"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(body + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, FILE_MODE)  # O_CREAT's mode is cut by the umask
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    folder_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(folder_fd)  # the rename itself survives a power cut
    finally:
        os.close(folder_fd)


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold the target's lock, or StateError at once if another sync holds it."""
    folder.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)
    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StateError(f"another sync of the target in {folder} is running; try again when it ends") from None
        yield
    finally:
        os.close(fd)  # closing releases the lock


def after(state: dict[str, Held], step: Step) -> None:
    """`state` with `step` applied."""
    if step.action is Action.REMOVE:
        state.pop(step.key, None)
    else:
        state[step.key] = Held(step.key, dict(step.attributes))


async def apply(
    folder: Path,
    desired: Mapping[str, Held],
    run: Callable[[Step], Awaitable[None]],
    *,
    dry_run: bool,
    check: Callable[[list[Step]], None] | None = None,
) -> SyncResult:
    """Run `run` for each step from the state to `desired`, recording each one that succeeded.

    `check` sees every step before the first runs, so a problem found without running
    anything (a value a template refuses) changes nothing. The first step that raises
    stops the sync; the state keeps the steps before it, and the error gets a note of
    how far the sync came.
    """
    if dry_run:
        steps = plan(desired, await asyncio.to_thread(read_state, folder))
        if check is not None:
            check(steps)
        return result(steps, dry_run=True)
    with locked(folder):
        current = await asyncio.to_thread(read_state, folder)
        steps = plan(desired, current)
        if check is not None:
            check(steps)
        state = dict(current)
        for done, step in enumerate(steps):
            try:
                await run(step)
            except Exception as error:
                error.add_note(
                    f"{done} of {len(steps)} changes were applied before {step.key!r} and are kept in "
                    f"{folder / STATE_FILE}; the next sync continues from there"
                )
                raise
            after(state, step)
            await asyncio.to_thread(write_state, folder, dict(state))
    return result(steps, dry_run=False)
