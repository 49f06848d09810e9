"""What every CLI command shares: settings, a database, known errors, output."""

from __future__ import annotations

import asyncio
import getpass
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.platform.db.embedded import DataDirInUse
from bureau.platform.db.engine import create_engine
from bureau.platform.db.schema import SHARED
from bureau.platform.ledger.errors import LedgerError
from bureau.platform.money import MoneyError
from bureau.platform.settings import SettingsError, load_settings
from bureau.runtime import database_url
from bureau.tenants.lifecycle import TenantError

T = TypeVar("T")
EXPECTED = (SettingsError, DataDirInUse, TenantError, LedgerError, MoneyError)

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def actor() -> str:
    return f"cli:{getpass.getuser()}"


class NotMigrated(RuntimeError):
    pass


def with_engine(job: Callable[[AsyncEngine], Awaitable[T]], *, migrated: bool = True) -> T:
    """Run `job` against Bureau's database; expected errors become a clear message.

    With `migrated`, a database without Bureau's shared schema is refused up front.
    """
    try:
        settings = load_settings()
        with database_url(settings) as url:
            return asyncio.run(_run(url, job, migrated))
    except (*EXPECTED, NotMigrated) as exc:
        fail(str(exc))


async def _run(url: str, job: Callable[[AsyncEngine], Awaitable[T]], migrated: bool) -> T:
    engine = create_engine(url, pool_size=2)
    try:
        if migrated:
            async with engine.connect() as conn:
                found = await conn.scalar(text(f"SELECT to_regclass('{SHARED}.tenants')"))
            if found is None:
                raise NotMigrated("this database has no Bureau schema yet: run `bureau migrate` (or `bureau up`)")
        return await job(engine)
    finally:
        await engine.dispose()


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")
