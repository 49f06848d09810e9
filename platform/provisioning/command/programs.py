"""Finding a command target's program in the operator's commands folder, and nowhere else.

Staff configure targets through the API, so what they name must never become an
arbitrary program on the Bureau host. The operator installs the programs a target may
run in one folder and names it with the setting `BUREAU_PROVISIONING_COMMANDS`;
without it, command targets are refused. A program is named by its file name, and is
accepted only if, with every symbolic link resolved, it is a regular executable file
inside that folder, and neither it nor the folder may be written by everyone on the
host (anyone could then swap it).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..formats.base import OptionsError
from .templates import check_program_name

SETTING = "BUREAU_PROVISIONING_COMMANDS"


class ProgramRefused(OptionsError):
    """A command target whose program is not one the operator installed; says what to do."""


def program_path(commands_dir: Path | None, name: str) -> Path:
    """The resolved path of program `name` in `commands_dir`; ProgramRefused says why not."""
    if commands_dir is None:
        raise ProgramRefused(
            f"command targets are turned off on this Bureau: the operator has not set {SETTING} "
            "to a folder of approved programs"
        )
    check_program_name(name, "program")
    try:
        root = commands_dir.resolve(strict=True)
    except OSError as error:
        raise ProgramRefused(f"the commands folder {commands_dir} ({SETTING}) cannot be opened: {error}") from None
    if not root.is_dir() or root.stat().st_mode & stat.S_IWOTH:
        raise ProgramRefused(f"{SETTING} {commands_dir} must be a folder that not everyone may write")
    try:
        resolved = (root / name).resolve(strict=True)
    except OSError:
        raise ProgramRefused(
            f"there is no program {name!r} in the commands folder {root}; ask the operator to install it"
        ) from None
    if not resolved.is_relative_to(root):
        raise ProgramRefused(f"program {name!r} leads outside the commands folder {root}; it is not allowed")
    mode = resolved.stat().st_mode
    if not stat.S_ISREG(mode) or not os.access(resolved, os.X_OK):
        raise ProgramRefused(f"program {name!r} in {root} is not a regular executable file")
    if mode & stat.S_IWOTH:
        raise ProgramRefused(f"program {name!r} in {root} may be written by everyone; chmod o-w it")
    return resolved
