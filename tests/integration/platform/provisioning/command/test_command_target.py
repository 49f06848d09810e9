"""A command target of a tenant: home folders made and removed by the operator's program."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest

from bureau.platform.provisioning import export, reconcile, targets
from bureau.platform.provisioning.formats.base import OptionsError
from bureau.platform.subscribers.services import change_service_state

SCRIPT = Path(__file__).parents[5] / "infra" / "provisioning" / "homedir-quota.sh"


@pytest.fixture
def commands(tmp_path) -> Path:
    """The operator's commands folder with the example home-folder program in it."""
    folder = tmp_path / "commands"
    folder.mkdir(mode=0o755)
    shutil.copy(SCRIPT, folder / SCRIPT.name)
    (folder / SCRIPT.name).chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    return folder


async def test_home_folders_follow_the_services_through_the_operator_s_program(isp, commands, tmp_path):
    www = tmp_path / "www"
    www.mkdir()
    argv = [SCRIPT.name, str(www), "{user}", "{uid}", "{gid}", "{quota_mb}"]
    options = {"kinds": ["radius_login"], "add": argv, "remove": argv}
    alice, dave = f"alice.{isp.realm}", f"dave.{isp.realm}"
    root = tmp_path / "exports"
    async with isp.unit() as conn:
        await targets.add_target(conn, "homes", "command", options)
        first = await export.export_target(conn, isp.box, root, "homes", commands_dir=commands)
        again = await export.export_target(conn, isp.box, root, "homes", commands_dir=commands)
    assert first.counts == {"added": 2, "modified": 0, "deleted": 0}
    assert again.outcome == "unchanged"
    assert sorted(p.name for p in www.iterdir()) == sorted([alice, dave])
    if shutil.which("setquota") is None:  # the program records the quota it could not set
        assert (www / alice / ".quota").read_text() == "0\n"

    async with isp.unit() as conn:
        await change_service_state(conn, isp.ids[f"alice@{isp.realm}"], "cancelled")
        gone = await export.export_target(conn, isp.box, root, "homes", commands_dir=commands)
        (checked,) = [
            r for r in await reconcile.reconcile_all(conn, isp.box, root, commands_dir=commands) if r.subject == "homes"
        ]
    assert gone.counts == {"added": 0, "modified": 0, "deleted": 1}
    assert [p.name for p in www.iterdir()] == [dave]
    assert checked.clean


async def test_a_command_target_runs_nothing_without_the_operator_s_folder(isp, tmp_path):
    argv = ["homedir-quota.sh", "/srv/www", "{user}", "{uid}", "{gid}", "{quota_mb}"]
    async with isp.unit() as conn:
        await targets.add_target(conn, "homes", "command", {"kinds": ["radius_login"], "add": argv, "remove": argv})
        with pytest.raises(OptionsError, match="BUREAU_PROVISIONING_COMMANDS"):
            await export.export_target(conn, isp.box, tmp_path, "homes")
