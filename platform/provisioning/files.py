"""Writing a file target's folder: whole files, atomically, the previous version kept.

A target's files are always rendered whole from the current state and never appended
to, so a lost or repeated export job leaves the same files. Each changed file is written
to a temporary file in the same folder, flushed to disk (an fsync each, or one sync() when
many changed, a zone per domain) and only then renamed over the old one (a reader sees
the old file or the new one, never half of either, even after a power cut); the old one
is kept as `<name>.prev`. A file the target no longer renders (a BIND zone of a cancelled domain)
is moved to `<name>.prev`. Unchanged files are not touched, so their mtime tells when
they last changed. Files are readable by their owner and group only: a shadow file holds
password hashes, and the ISP's own sync job is what reads them.
"""

from __future__ import annotations

import difflib
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PREVIOUS_SUFFIX = ".prev"
TEMPORARY_SUFFIX = ".tmp"  # ".<name>.<pid>.tmp", renamed over <name> once whole
SYNC_EACH_UP_TO = 8  # more changed files than this are flushed by one sync() before the renames
FILE_MODE = 0o640
FOLDER_MODE = 0o750
MAX_FILE_BYTES = 512 * 1024 * 1024  # a rendered file above this is a bug, not an export


class UnsafeName(ValueError):
    """A rendered file name that could leave the target's folder."""


@dataclass(frozen=True, slots=True)
class Written:
    changed: tuple[str, ...]  # written anew
    removed: tuple[str, ...]  # no longer rendered: moved to .prev
    digests: Mapping[str, str]  # every current file's SHA-256, hex


def _check_name(name: str) -> str:
    if not name or name in (".", "..") or "/" in name or "\x00" in name or name.endswith(PREVIOUS_SUFFIX):
        raise UnsafeName(f"export file name {name!r} is not a plain file name")
    return name


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def current(folder: Path) -> dict[str, str]:
    """The files a folder holds now (not their previous versions), by name."""
    if not folder.is_dir():
        return {}
    return {
        path.name: path.read_text()
        for path in sorted(folder.iterdir())
        if path.is_file() and not path.name.endswith(PREVIOUS_SUFFIX) and not path.name.startswith(".")
    }


def write_whole(folder: Path, files: Mapping[str, str]) -> Written:
    """Make `folder` hold exactly `files` (name → text)."""
    for name, text in files.items():
        _check_name(name)
        if len(text) > MAX_FILE_BYTES:
            raise ValueError(f"export file {name!r} would be {len(text)} bytes; at most {MAX_FILE_BYTES}")
    folder.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)
    _remove_leftovers(folder)
    before = current(folder)
    changed = [name for name, text in sorted(files.items()) if before.get(name) != text]
    temporaries = {}
    try:
        for name in changed:
            temporaries[name] = _write_temporary(folder, name, files[name], sync=len(changed) <= SYNC_EACH_UP_TO)
        if len(changed) > SYNC_EACH_UP_TO:
            os.sync()  # one flush for many files (a zone per domain) instead of an fsync each
        for name in changed:
            _put_in_place(folder, name, temporaries.pop(name))
    finally:
        for temporary in temporaries.values():
            temporary.unlink(missing_ok=True)
    removed = sorted(set(before) - set(files))
    for name in removed:
        os.replace(folder / name, folder / (name + PREVIOUS_SUFFIX))
    if changed or removed:
        _sync_folder(folder)
    return Written(tuple(changed), tuple(removed), {name: digest(text) for name, text in files.items()})


def _write_temporary(folder: Path, name: str, text: str, *, sync: bool) -> Path:
    """The new version, whole and (with `sync`) on disk, beside the file it will replace."""
    temporary = folder / f".{name}.{os.getpid()}{TEMPORARY_SUFFIX}"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            if sync:
                os.fsync(handle.fileno())
        os.chmod(temporary, FILE_MODE)  # O_CREAT's mode is cut by the umask
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary


def _put_in_place(folder: Path, name: str, temporary: Path) -> None:
    target = folder / name
    if target.exists():
        previous = folder / (name + PREVIOUS_SUFFIX)
        previous.unlink(missing_ok=True)
        os.link(target, previous)  # a hard link: the old file stays whole as .prev
    os.replace(temporary, target)


def _remove_leftovers(folder: Path) -> None:
    """Temporary files of an export that was killed mid-write (never renamed into place)."""
    for path in folder.glob(".*" + TEMPORARY_SUFFIX):
        path.unlink(missing_ok=True)


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def diff(folder: Path, files: Mapping[str, str]) -> str:
    """What `write_whole(folder, files)` would change, as a unified diff ("" when nothing)."""
    for name in files:
        _check_name(name)
    before = current(folder)
    parts: list[str] = []
    for name in sorted(set(before) | set(files)):
        old, new = before.get(name), files.get(name)
        if old == new:
            continue
        parts.extend(
            difflib.unified_diff(
                (old or "").splitlines(keepends=True),
                (new or "").splitlines(keepends=True),
                fromfile=f"a/{name}" if old is not None else "/dev/null",
                tofile=f"b/{name}" if new is not None else "/dev/null",
            )
        )
    return "".join(parts)
