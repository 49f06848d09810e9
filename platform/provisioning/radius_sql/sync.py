"""Synchronising an ISP's FreeRADIUS SQL tables with a tenant's logins: the only module that talks to them.

`sync` builds the desired rows (`rows`), reads what radcheck, radreply and radusergroup
hold, plans the difference per user name (`plan`) and applies it in one transaction:
the rows of changed and removed users are deleted and the new rows inserted, while
users whose rows are already right are not touched (their row ids stay). FreeRADIUS
reading the tables meanwhile sees the old rows or the new ones, never half of them.
A second run with the same accounts changes nothing; a dry run reads but never writes.

Which user names are Bureau's? All of them: every user name in any of the three tables
is compared with the billed logins, and one Bureau does not bill ("unbilled": added by
hand, or left from a cancelled service) has its rows deleted by the next sync, as
reconciliation removes extra entries from a file target. So the tables must be
Bureau's alone; an ISP that also keeps users of its own gives Bureau a schema of its
own (`schema`) and points a second rlm_sql instance, or its queries, at it.

While it writes, a sync holds an EXCLUSIVE lock on the three tables: FreeRADIUS's
reads go on, and a second sync (or a person's edit) waits for it, up to the options'
`timeout_s`, which also bounds connecting and every statement. The database user needs
SELECT, INSERT and DELETE on the three tables and USAGE on their id sequences. Every
failure becomes one `SqlTargetError` naming the database (user, host, database) and
the step that failed, never the password.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import Column, Integer, MetaData, String, Table, Text, delete, insert, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from ...db.engine import async_url
from ..accounts import Account
from ..formats.base import Held
from . import rows as rows_module
from .options import RadiusSqlOptions
from .plan import Changes, plan
from .rows import Rows, desired_users

__all__ = ["Changes", "SqlTargetError", "SyncResult", "apply", "connect", "current_rows", "held", "plan", "sync"]

ROWS_MAX = 1_000_000  # per table; more means the url names the wrong database
BATCH = 1_000  # user names per DELETE, rows per INSERT
APPLICATION_NAME = "bureau-export"  # in the ISP's pg_stat_activity

# What a failure's SQLSTATE means for the person configuring the target.
SQLSTATE_HINTS = {
    "28P01": "the password was refused; correct the target's secret",
    "28000": "the server refused this user; check the url's user and the server's pg_hba.conf",
    "3D000": "the database does not exist; correct the url",
    "3F000": "the schema does not exist; correct the schema option",
    "42P01": "a table is missing; load FreeRADIUS's schema.sql (mods-config/sql/main/postgresql) into the schema",
    "42501": "permission denied; grant the user SELECT, INSERT and DELETE on radcheck, radreply and radusergroup",
    "57014": "a statement took longer than timeout_s",
    "55P03": "the tables stayed locked longer than timeout_s (another sync, or a person's edit)",
}


class SqlTargetError(Exception):
    """The FreeRADIUS database refused or could not be reached; the message says where and what."""


@dataclass(frozen=True, slots=True)
class SyncResult:
    added: int  # users
    modified: int
    deleted: int
    lines: tuple[str, ...]  # what changed (or would change, in a dry run), as a diff
    dry_run: bool = False
    rows_deleted: int = 0  # (would be, in a dry run)
    rows_inserted: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.modified or self.deleted)


@dataclass(frozen=True, slots=True)
class Tables:
    radcheck: Table
    radreply: Table
    radusergroup: Table

    @property
    def all(self) -> tuple[Table, Table, Table]:
        return self.radcheck, self.radreply, self.radusergroup


def tables(schema: str) -> Tables:
    """The three tables as FreeRADIUS's schema.sql makes them (only the columns used here)."""
    metadata = MetaData(schema=schema)

    def attributes(name: str) -> Table:
        return Table(
            name,
            metadata,
            Column("id", Integer, primary_key=True),
            Column("username", Text, nullable=False),
            Column("attribute", Text, nullable=False),
            Column("op", String(2), nullable=False),
            Column("value", Text, nullable=False),
        )

    groups = Table(
        "radusergroup",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("username", Text, nullable=False),
        Column("groupname", Text, nullable=False),
        Column("priority", Integer, nullable=False),
    )
    return Tables(attributes("radcheck"), attributes("radreply"), groups)


def _detail(error: BaseException, password: str | None) -> str:
    if isinstance(error, DBAPIError):
        hint = SQLSTATE_HINTS.get(str(getattr(error.orig, "sqlstate", None)))
        message = str(error.orig).strip() or type(error.orig).__name__
        detail = f"{message} ({hint})" if hint else message
    else:
        detail = str(error).strip() or type(error).__name__
    if password:  # a server's message may echo what it was sent
        detail = detail.replace(password, "***")
    return " ".join(detail.split())


def _failed(options: RadiusSqlOptions, what: str, error: BaseException, password: str | None) -> SqlTargetError:
    return SqlTargetError(f"FreeRADIUS database {options.where()}: {what} failed: {_detail(error, password)}")


def _engine_url(options: RadiusSqlOptions, password: str | None) -> URL:
    parsed = make_url(async_url(options.url))
    return parsed.set(password=password or None)  # an empty "user:@" is no password either


@asynccontextmanager
async def connect(options: RadiusSqlOptions, password: str | None) -> AsyncIterator[AsyncConnection]:
    """A connection to the ISP's database with connecting and every statement bounded by `timeout_s`.

    `password` None connects without one (a Unix socket with peer or trust auth).
    """
    timeout_ms = str(options.timeout_s * 1000)
    engine = create_async_engine(
        _engine_url(options, password),
        poolclass=NullPool,  # one connection per sync; the ISP's server is not ours to keep busy
        connect_args={
            "timeout": options.timeout_s,
            "command_timeout": options.timeout_s * 2,  # if the server itself stops answering
            "server_settings": {
                "statement_timeout": timeout_ms,
                "lock_timeout": timeout_ms,
                "idle_in_transaction_session_timeout": timeout_ms,
                "application_name": APPLICATION_NAME,
            },
        },
    )
    try:
        try:
            conn = await engine.connect()
        except (SQLAlchemyError, OSError, TimeoutError) as error:
            raise _failed(options, "connecting", error, password) from None
        try:
            yield conn
        finally:
            await conn.close()
    finally:
        await engine.dispose()


async def current_rows(conn: AsyncConnection, options: RadiusSqlOptions) -> Rows:
    """Every row of radcheck, radreply and radusergroup, each table in id order."""
    found = tables(options.schema)
    read: list[list[tuple[object, ...]]] = []
    for table in found.all:
        columns = [column for column in table.c if column.name != "id"]
        result = await conn.execute(select(*columns).order_by(table.c.id).limit(ROWS_MAX + 1))
        table_rows = [tuple(row) for row in result]
        if len(table_rows) > ROWS_MAX:
            raise SqlTargetError(
                f"FreeRADIUS database {options.where()}: {table.name} holds more than {ROWS_MAX} rows; "
                "is the url the database Bureau should manage?"
            )
        read.append(table_rows)
    check, reply, groups = read
    return Rows(
        radcheck=tuple((str(n), str(a), str(o), str(v)) for n, a, o, v in check),
        radreply=tuple((str(n), str(a), str(o), str(v)) for n, a, o, v in reply),
        radusergroup=tuple((str(n), str(g), int(str(p))) for n, g, p in groups),
    )


async def apply(conn: AsyncConnection, options: RadiusSqlOptions, changes: Changes) -> None:
    """Delete the rows of rewritten and deleted users, insert those of added and rewritten ones.

    Runs in the caller's transaction, which should hold the tables locked (`sync` does).
    """
    found = tables(options.schema)
    cleared = changes.cleared
    for table in found.all:
        for start in range(0, len(cleared), BATCH):
            await conn.execute(delete(table).where(table.c.username.in_(cleared[start : start + BATCH])))
    written = Rows.of(changes.written.items())
    batches: list[tuple[Table, list[dict[str, object]]]] = [
        (
            found.radcheck,
            [dict(zip(("username", "attribute", "op", "value"), r, strict=True)) for r in written.radcheck],
        ),
        (
            found.radreply,
            [dict(zip(("username", "attribute", "op", "value"), r, strict=True)) for r in written.radreply],
        ),
        (
            found.radusergroup,
            [dict(zip(("username", "groupname", "priority"), r, strict=True)) for r in written.radusergroup],
        ),
    ]
    for table, values in batches:
        for start in range(0, len(values), BATCH):
            await conn.execute(insert(table), values[start : start + BATCH])


async def _lock(conn: AsyncConnection, options: RadiusSqlOptions) -> None:
    # EXCLUSIVE: FreeRADIUS's SELECTs go on; other writers (a second sync) wait.
    preparer = conn.dialect.identifier_preparer
    names = ", ".join(preparer.format_table(table) for table in tables(options.schema).all)
    await conn.execute(text(f"LOCK TABLE {names} IN EXCLUSIVE MODE"))


async def sync(
    options: RadiusSqlOptions, password: str | None, accounts: Sequence[Account], *, dry_run: bool = False
) -> SyncResult:
    """Make radcheck, radreply and radusergroup hold exactly `accounts`' logins (active and suspended).

    FormatError (two services with one login, a value the tables cannot hold) is raised
    before connecting; SqlTargetError for anything the server or network refuses.
    """
    desired = desired_users(accounts, options)
    async with connect(options, password) as conn:
        step = "reading the tables"
        try:
            async with conn.begin():
                if dry_run:
                    await conn.execute(text("SET TRANSACTION READ ONLY"))
                else:
                    step = "locking the tables"
                    await _lock(conn, options)
                step = "reading the tables"
                changes = plan(desired, (await current_rows(conn, options)).users())
                if not dry_run and not changes.empty:
                    step = "writing the changes"
                    await apply(conn, options, changes)
        except (SQLAlchemyError, OSError, TimeoutError) as error:
            raise _failed(options, step, error, password) from None
    return SyncResult(
        added=len(changes.add),
        modified=len(changes.replace),
        deleted=len(changes.delete),
        lines=tuple(changes.lines()),
        dry_run=dry_run,
        rows_deleted=changes.rows_cleared,
        rows_inserted=changes.rows_written,
    )


async def held(options: RadiusSqlOptions, password: str | None) -> dict[str, Held]:
    """What the tables hold, keyed by user name as `rows.desired_held` keys what they should."""
    async with connect(options, password) as conn:
        try:
            async with conn.begin():
                await conn.execute(text("SET TRANSACTION READ ONLY"))
                current = await current_rows(conn, options)
        except (SQLAlchemyError, OSError, TimeoutError) as error:
            raise _failed(options, "reading the tables", error, password) from None
    return rows_module.held(current)
