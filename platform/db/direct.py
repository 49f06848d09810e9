"""Hot statements run straight on the driver, inside the unit of work's transaction.

`conn.execute` of a Core statement spends 0.2-0.3 ms of client CPU per call on
SQLAlchemy's execution path (cache key, compiled cache lookup, parameter processing,
result metadata and rows), whatever the statement does. For the few statements that run
many times a second (a RADIUS batch's, a journal posting's) that is more than the rest
of their Python. Here a statement built once at import is compiled once per dialect and
schema translate map into SQL text with positional parameters, and each execution hands
that text and a tuple of values to asyncpg, which prepares it once per connection.

What is kept: the transaction (the statement runs on the unit's own connection, after
its BEGIN, which is issued here if nothing ran yet), tenant scoping (the schema comes
only from the connection's own `schema_translate_map`, rendered by SQLAlchemy at compile
time, never formatted here), bind processors (JSONB serialization...) and error
classes (a driver error is raised as SQLAlchemy's, `IntegrityError` and so on). What is
given up: SQLAlchemy's execution events and its result objects; rows are asyncpg
`Record`s (by name: `row["id"]`, or by position). Statements must not use expanding IN
lists: bind arrays (`= ANY(:ids)`, `unnest`) instead. A connection without a translate
map, or a dialect other than asyncpg's, runs the statement through `conn.execute`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import exc
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.expression import Executable


class Counters:
    """Statements run here in this process (for `/metrics` and the benches: they bypass
    SQLAlchemy's events)."""

    statements = 0


counters = Counters()


@dataclass(frozen=True, slots=True)
class Compiled:
    sql: str
    names: tuple[str, ...]  # the positional parameters' names, in order
    defaults: Mapping[str, Any]  # values bound in the statement itself
    processors: Mapping[str, Callable[[Any], Any]]  # bind processors (JSONB serialization, ...)

    def params(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        out = []
        for name in self.names:
            value = values[name] if name in values else self.defaults[name]
            process = self.processors.get(name)
            out.append(value if process is None else process(value))
        return tuple(out)


@lru_cache(maxsize=1024)  # one entry per statement, engine and tenant in use
def compile_for(
    statement: Executable, dialect: Dialect, translate: frozenset[tuple[str | None, str | None]]
) -> Compiled:
    compiled = statement.compile(  # type: ignore[attr-defined]
        dialect=dialect, schema_translate_map=dict(translate), render_schema_translate=True
    )
    names = tuple(compiled.positiontup or ())
    if any(compiled.binds[name].expanding for name in names):
        raise ValueError("a direct statement cannot use an expanding IN list; bind an array")
    processors = {}
    for name in names:
        bind = compiled.binds[name]
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors[name] = process
    defaults = {name: compiled.binds[name].value for name in names if not compiled.binds[name].required}
    return Compiled(compiled.string, names, defaults, processors)


# What of SQLAlchemy's asyncpg adapter (2.1) is used: its lock around the driver
# connection, its lazily begun transaction, and the driver connection itself.
_ADAPTER_PARTS = ("_execute_mutex", "_transaction", "_start_transaction", "_connection", "_handle_exception")


def _translate(conn: AsyncConnection) -> Mapping[str | None, str | None] | None:
    sync = conn.sync_connection
    return sync.get_execution_options().get("schema_translate_map") if sync is not None else None


async def fetch(conn: AsyncConnection, statement: Executable, params: Mapping[str, Any]) -> Sequence[Any]:
    """Every row `statement` answers (by name or position)."""
    counters.statements += 1
    translate = _translate(conn)
    if not translate or conn.dialect.driver != "asyncpg" or not conn.dialect.positional:
        result = await conn.execute(statement, dict(params))
        if not result.returns_rows:
            return []
        keys = {key: index for index, key in enumerate(result.keys())}
        return [_Row(keys, row) for row in result]
    compiled = compile_for(statement, conn.dialect, frozenset(translate.items()))
    args = compiled.params(params)
    adapted = (await conn.get_raw_connection()).dbapi_connection
    if not all(hasattr(adapted, name) for name in _ADAPTER_PARTS):
        raise RuntimeError(
            "SQLAlchemy's asyncpg adapter no longer has "
            f"{', '.join(n for n in _ADAPTER_PARTS if not hasattr(adapted, n))}: db/direct.py needs updating "
            "(pyproject pins sqlalchemy 2.1.x for this)"
        )
    async with adapted._execute_mutex:  # type: ignore[union-attr]
        if adapted._transaction is None:  # type: ignore[union-attr]
            await adapted._start_transaction()  # type: ignore[union-attr]
        try:
            return await adapted._connection.fetch(compiled.sql, *args)  # type: ignore[union-attr,no-any-return]
        except Exception as error:
            raise _translated(conn, adapted, compiled.sql, args, error) from error


async def fetch_one(conn: AsyncConnection, statement: Executable, params: Mapping[str, Any]) -> Any:
    """The one row `statement` answers."""
    rows = await fetch(conn, statement, params)
    if len(rows) != 1:
        raise exc.NoResultFound("no row was found") if not rows else exc.MultipleResultsFound("several rows")
    return rows[0]


class _Row(tuple[Any, ...]):
    """A SQLAlchemy row that answers by name or position, as an asyncpg Record does."""

    keys: dict[str, int]

    def __new__(cls, keys: dict[str, int], values: Sequence[Any]) -> _Row:
        row = super().__new__(cls, values)
        row.keys = keys
        return row

    def __getitem__(self, key: Any) -> Any:
        return super().__getitem__(self.keys[key] if isinstance(key, str) else key)


def _translated(conn: AsyncConnection, adapted: Any, sql: str, args: tuple[Any, ...], error: Exception) -> Exception:
    """The driver's error as SQLAlchemy raises it (`IntegrityError`, `OperationalError`...)."""
    dbapi = conn.dialect.loaded_dbapi
    try:
        adapted._handle_exception(error)  # raises the DBAPI-level error the adapter maps it to
    except dbapi.Error as translated:
        return exc.DBAPIError.instance(sql, args, translated, dbapi.Error, dialect=conn.dialect)
    except Exception as other:  # not a driver error: as it is
        return other
    return error  # pragma: no cover - _handle_exception always raises
