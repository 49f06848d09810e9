"""File targets are written whole and atomically, the previous version kept, on a real disk."""

from __future__ import annotations

import os
import stat

import pytest

from bureau.platform.provisioning import files


def test_files_are_written_whole_with_owner_and_group_access_only(tmp_path):
    folder = tmp_path / "acme" / "unix"
    written = files.write_whole(folder, {"passwd": "alice:x:10001:100::/home/alice:/sbin/nologin\n", "shadow": "s\n"})
    assert written.changed == ("passwd", "shadow") and written.removed == ()
    assert (folder / "passwd").read_text().startswith("alice:x:10001")
    assert stat.S_IMODE(os.stat(folder / "shadow").st_mode) == files.FILE_MODE
    assert written.digests["shadow"] == files.digest("s\n")


def test_an_unchanged_file_is_not_touched_and_a_changed_one_keeps_its_previous_version(tmp_path):
    files.write_whole(tmp_path, {"passwd": "one\n", "shadow": "s\n"})
    before = os.stat(tmp_path / "shadow")
    written = files.write_whole(tmp_path, {"passwd": "two\n", "shadow": "s\n"})
    assert written.changed == ("passwd",)
    assert (tmp_path / "passwd").read_text() == "two\n"
    assert (tmp_path / "passwd.prev").read_text() == "one\n"
    assert os.stat(tmp_path / "shadow").st_ino == before.st_ino and not (tmp_path / "shadow.prev").exists()


def test_a_file_no_longer_rendered_is_moved_aside(tmp_path):
    files.write_whole(tmp_path, {"db.a.example": "a\n", "db.b.example": "b\n"})
    written = files.write_whole(tmp_path, {"db.a.example": "a\n"})
    assert written.removed == ("db.b.example",)
    assert not (tmp_path / "db.b.example").exists() and (tmp_path / "db.b.example.prev").read_text() == "b\n"
    assert files.current(tmp_path) == {"db.a.example": "a\n"}


def test_no_temporary_file_is_left_behind(tmp_path):
    files.write_whole(tmp_path, {"passwd": "x\n" * 1000})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["passwd"]


@pytest.mark.parametrize("name", ["../passwd", "a/b", "", "..", "x.prev", "bad\x00name"])
def test_a_file_name_that_could_leave_the_folder_is_refused(tmp_path, name):
    with pytest.raises(files.UnsafeName, match="not a plain file name"):
        files.write_whole(tmp_path / "t", {name: "x\n"})
    assert not (tmp_path / "t").exists() or list((tmp_path / "t").iterdir()) == []


def test_a_dry_run_diff_shows_every_change_and_writes_nothing(tmp_path):
    files.write_whole(tmp_path, {"passwd": "alice\nbob\n", "old": "gone\n"})
    change = files.diff(tmp_path, {"passwd": "alice\ncarol\n", "new": "hi\n"})
    assert "-bob\n" in change and "+carol\n" in change
    assert "--- /dev/null\n+++ b/new\n" in change and "--- a/old\n+++ /dev/null\n" in change
    assert files.current(tmp_path) == {"passwd": "alice\nbob\n", "old": "gone\n"}
    assert files.diff(tmp_path, {"passwd": "alice\nbob\n", "old": "gone\n"}) == ""


def test_a_temporary_file_left_by_a_killed_export_is_removed_by_the_next(tmp_path):
    files.write_whole(tmp_path, {"passwd": "old\n"})
    (tmp_path / ".passwd.4242.tmp").write_text("half of a new pass")  # SIGKILL before the rename
    assert files.current(tmp_path) == {"passwd": "old\n"}, "a reader never sees the half-written file"
    files.write_whole(tmp_path, {"passwd": "new\n"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["passwd", "passwd.prev"]


def test_many_changed_files_are_flushed_together_and_all_put_in_place(tmp_path):
    zones = {f"db.d{n}.example": f"zone {n}\n" for n in range(files.SYNC_EACH_UP_TO * 3)}
    written = files.write_whole(tmp_path, zones)
    assert len(written.changed) == len(zones) and files.current(tmp_path) == zones
    assert not list(tmp_path.glob(".*"))
