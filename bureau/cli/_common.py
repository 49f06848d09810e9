"""What every CLI command shares: settings, a database, known errors, output."""

from __future__ import annotations

import asyncio
import getpass
import json
import re
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bureau.platform.billing.errors import BillingError
from bureau.platform.catalog.errors import CatalogError
from bureau.platform.crypto.passwords import InvalidPassword
from bureau.platform.db.embedded import DataDirInUse
from bureau.platform.db.engine import create_engine
from bureau.platform.db.schema import SHARED
from bureau.platform.ledger.errors import LedgerError
from bureau.platform.money import MoneyError, parse_decimal_micros
from bureau.platform.nas.downstream import DownstreamError
from bureau.platform.nas.registry import NasError
from bureau.platform.provisioning.formats.base import FormatError
from bureau.platform.provisioning.targets import TargetError
from bureau.platform.rating.errors import RatingError
from bureau.platform.settings import SettingsError, load_settings
from bureau.platform.subscribers.errors import SubscriberError
from bureau.platform.vouchers.errors import VoucherError
from bureau.radius_proxy.codec import DictionaryError
from bureau.runtime import database_url
from bureau.tenants.apikeys import ApiKeyError
from bureau.tenants.lifecycle import TenantError, get_tenant
from bureau.tenants.routing import tenant_unit

T = TypeVar("T")
EXPECTED = (
    SettingsError,
    DataDirInUse,
    TenantError,
    ApiKeyError,
    LedgerError,
    MoneyError,
    CatalogError,
    RatingError,
    SubscriberError,
    VoucherError,
    InvalidPassword,
    BillingError,
    NasError,
    DictionaryError,
    DownstreamError,
    TargetError,
    FormatError,
)

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def actor() -> str:
    return f"cli:{getpass.getuser()}"


class NotMigrated(RuntimeError):
    pass


def with_engine(
    job: Callable[[AsyncEngine], Awaitable[T]],
    *,
    migrated: bool = True,
    own: tuple[type[Exception], ...] = (),
) -> T:
    """Run `job` against Bureau's database; expected errors become a clear message.

    With `migrated`, a database without Bureau's shared schema is refused up front.
    Errors of the types in `own` are left for the command to report in its own way.
    """
    try:
        settings = load_settings()
        with database_url(settings) as url:
            return asyncio.run(_run(url, job, migrated))
    except (*EXPECTED, NotMigrated) as exc:
        if isinstance(exc, own):
            raise
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


# Options that take money, percentages and instants (tiny pure parsers: the platform takes
# integers and aware datetimes, people type "29.99", "8.25" and "2026-01-01").

_AMOUNT = re.compile(r"[0-9]+(?:\.[0-9]+)?", re.ASCII)
_PERCENT = re.compile(r"(?P<whole>[0-9]{1,3})(?:\.(?P<frac>[0-9]{1,2}))?", re.ASCII)


def amount_micros(text: str, option: str) -> int:
    """Exact micro-units of an amount such as "29.99": digits and a decimal point only
    (no sign, exponent or thousands separator), at most six decimals."""
    if not _AMOUNT.fullmatch(text.strip()):
        fail(f"{option}: {text!r} is not an amount such as 29.99 (digits and a decimal point, no sign or exponent)")
    try:
        return parse_decimal_micros(text)
    except MoneyError as exc:
        fail(f"{option}: {exc}")


def percent_bp(text: str, option: str) -> int:
    """Basis points of a percentage such as "8.25" (825), exactly: at most two decimals, at most 100."""
    match = _PERCENT.fullmatch(text.strip())
    if match is None:
        fail(f"{option}: {text!r} is not a percentage such as 8.25 (0 to 100, at most two decimals)")
    bp = int(match["whole"]) * 100 + int((match["frac"] or "").ljust(2, "0"))
    if bp > 10_000:
        fail(f"{option}: {text!r} is more than 100 percent")
    return bp


def instant(text: str, option: str) -> datetime:
    """A date ("2026-01-01": midnight UTC) or an ISO 8601 date and time; without an offset, UTC."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        fail(f"{option}: {text!r} is not a date such as 2026-01-01 or a time such as 2026-01-01T08:00:00+02:00")
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def with_tenant(slug: str, job: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """Run `job` in one unit of work of tenant `slug`, as the CLI's actor: committed when
    it returns, rolled back when it raises (expected errors become a clear message)."""

    async def run(engine: AsyncEngine) -> T:
        found = await get_tenant(engine, slug)
        async with tenant_unit(engine, found.ref, actor=actor()) as conn:
            return await job(conn)

    return with_engine(run)
