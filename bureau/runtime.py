"""Where the database comes from: `BUREAU_DATABASE_URL`, or the embedded server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from bureau.platform.db.embedded import EmbeddedPostgres
from bureau.platform.settings import Settings


@contextmanager
def database_url(settings: Settings, *, exclusive: bool = False) -> Iterator[str]:
    """The URL to use; with no BUREAU_DATABASE_URL, the embedded server for its lifetime.

    `exclusive` (for `bureau up`) makes the process the owner of the data folder, so a
    second `bureau up` on it fails clearly; admin commands join the running server.
    """
    if settings.database_url:
        yield settings.database_url
        return
    with EmbeddedPostgres(settings.data_dir, exclusive=exclusive) as server:
        yield server.url
