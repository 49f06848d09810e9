"""Synchronising a command target: run the operator's programs for what changed since the last sync.

`sync` finds the programs (`programs`; a dry run checks them too), compares the
accounts with the target's `state.json` (`applied`), renders every step's arguments
before running any (so a value a template refuses changes nothing) and then runs the
steps one account at a time in key order, recording each in the state once its
program exited 0. The first failure stops the sync with `CommandFailed`; what ran
before it stays recorded, and the next sync starts again at the failed account.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from ..accounts import Account
from ..applied.plan import Step, SyncResult
from ..applied.state import apply, read_state
from ..formats.base import Held
from .options import CommandOptions
from .programs import program_path
from .run import CommandFailed, run
from .templates import render
from .values import desired_held

__all__ = ["CommandFailed", "held", "sync"]


def _argv(options: CommandOptions, programs: dict[str, Path], step: Step) -> list[str]:
    command = options.command(step.action.value)
    return [str(programs[command[0]]), *render(command, step.attributes, step.key)[1:]]


async def sync(
    options: CommandOptions,
    secret: str | None,
    accounts: Sequence[Account],
    *,
    dry_run: bool = False,
    folder: Path,
    commands_dir: Path | None,
) -> SyncResult:
    """Run `add`, `change` or `remove` for each account that differs from the target's state.

    `secret` is not used (a command target has none); `folder` is the target's own
    folder, which holds `state.json` and is the programs' working folder;
    `commands_dir` is the operator's `BUREAU_PROVISIONING_COMMANDS` (None refuses).
    ProgramRefused or FormatError are raised before anything runs; CommandFailed names
    the program, the account and the failure.
    """
    del secret
    programs = {name: program_path(commands_dir, name) for name in options.programs()}
    desired = desired_held(accounts, options)

    def check(steps: list[Step]) -> None:
        for step in steps:
            _argv(options, programs, step)

    async def run_step(step: Step) -> None:
        argv = _argv(options, programs, step)
        what = f"program {Path(argv[0]).name!r} for account {step.key!r}"
        await run(argv, action=step.action.value, cwd=folder, timeout_s=options.timeout_s, what=what)

    return await apply(folder, desired, run_step, dry_run=dry_run, check=check)


async def held(
    options: CommandOptions, secret: str | None, *, folder: Path, commands_dir: Path | None = None
) -> dict[str, Held]:
    """What the target last applied (its state file), keyed as `values.desired_held` keys what it should hold.

    Reads only the state file: no program runs, so `secret` and `commands_dir` are not used.
    """
    del options, secret, commands_dir
    return await asyncio.to_thread(read_state, folder)
