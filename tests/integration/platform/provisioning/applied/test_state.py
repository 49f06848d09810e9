"""The state file of a target that cannot be read back: atomic, private, validated and locked."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from bureau.platform.provisioning.applied.plan import Step
from bureau.platform.provisioning.applied.state import STATE_FILE, StateError, apply, locked, read_state, write_state
from bureau.platform.provisioning.formats.base import Held

DESIRED = {
    "alice": Held("alice", {"state": "active"}),
    "bob": Held("bob", {"state": "active"}),
    "carol": Held("carol", {"state": "active"}),
}


def test_a_missing_state_is_empty_and_a_written_one_reads_back_private(tmp_path: Path) -> None:
    folder = tmp_path / "target"
    assert read_state(folder) == {}

    write_state(folder, {"bob": Held("bob", {"uid": "2"}), "alice": Held("alice", {"uid": "1"})})

    assert read_state(folder) == {"alice": Held("alice", {"uid": "1"}), "bob": Held("bob", {"uid": "2"})}
    assert stat.S_IMODE((folder / STATE_FILE).stat().st_mode) == 0o640
    assert [path.name for path in folder.iterdir()] == [STATE_FILE]  # no temporary file left


@pytest.mark.parametrize("text", ["not json", "[]", '{"alice": "active"}', '{"alice": {"uid": 1}}'])
def test_a_state_file_bureau_did_not_write_is_refused_with_advice(tmp_path: Path, text: str) -> None:
    (tmp_path / STATE_FILE).write_text(text)

    with pytest.raises(StateError, match="delete it to apply every account again"):
        read_state(tmp_path)


async def test_a_failing_step_keeps_the_steps_before_it_and_notes_how_far_it_came(tmp_path: Path) -> None:
    ran: list[str] = []

    async def run(step: Step) -> None:
        if step.key == "bob":
            raise RuntimeError("bob refused")
        ran.append(step.key)

    with pytest.raises(RuntimeError, match="bob refused") as raised:
        await apply(tmp_path, DESIRED, run, dry_run=False)

    assert ran == ["alice"] and list(read_state(tmp_path)) == ["alice"]
    assert "1 of 3 changes were applied before 'bob'" in raised.value.__notes__[0]
    ran.clear()

    async def succeed(step: Step) -> None:
        ran.append(step.key)

    report = await apply(tmp_path, DESIRED, succeed, dry_run=False)

    assert ran == ["bob", "carol"] and report.added == 2 and list(read_state(tmp_path)) == ["alice", "bob", "carol"]
    assert json.loads((tmp_path / STATE_FILE).read_text())["carol"] == {"state": "active"}


async def test_a_second_sync_of_the_same_target_is_refused_while_one_runs(tmp_path: Path) -> None:
    async def run(step: Step) -> None:
        raise AssertionError("must not run")

    with locked(tmp_path), pytest.raises(StateError, match="another sync of the target"):
        await apply(tmp_path, DESIRED, run, dry_run=False)
