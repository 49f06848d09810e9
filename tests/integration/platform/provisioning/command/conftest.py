"""An operator's commands folder with small scripts, for the command target tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Appends one line per run to the log named by its first argument: action, then the other arguments.
RECORD = """#!/bin/sh
log=$1
shift
printf '%s %s\\n' "$BUREAU_ACTION" "$*" >> "$log"
"""
# As RECORD, but refuses any user starting with "bob", as a quota tool would on a full disk.
FLAKY = """#!/bin/sh
case "$2" in
    bob*) echo "setquota: disk full on /srv" >&2; echo "second line" >&2; exit 3 ;;
esac
log=$1
shift
printf '%s %s\\n' "$BUREAU_ACTION" "$*" >> "$log"
"""
# Starts a child that outlives the timeout and records its pid, to see that it is killed too.
SLOW = """#!/bin/sh
sleep 60 &
echo $! > "$1"
wait
"""
# Writes its environment and working folder.
ENVIRONMENT = """#!/bin/sh
env > "$1"
pwd >> "$1"
"""


def install(folder: Path, name: str, text: str, mode: int = 0o755) -> Path:
    path = folder / name
    path.write_text(text)
    os.chmod(path, mode)
    return path


@pytest.fixture
def commands(tmp_path: Path) -> Path:
    """The operator's folder (BUREAU_PROVISIONING_COMMANDS) with record, flaky, slow and environment."""
    folder = tmp_path / "commands"
    folder.mkdir(mode=0o755)
    for name, text in (("record", RECORD), ("flaky", FLAKY), ("slow", SLOW), ("environment", ENVIRONMENT)):
        install(folder, name, text)
    return folder
