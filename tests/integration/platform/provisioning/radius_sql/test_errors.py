"""What a person sees when the FreeRADIUS database cannot be used: where, what, never the password."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bureau.platform.db.embedded import EmbeddedPostgres
from bureau.platform.db.engine import create_engine
from bureau.platform.provisioning.formats.base import OptionsError
from bureau.platform.provisioning.radius_sql.options import RadiusSqlOptions, options_from
from bureau.platform.provisioning.radius_sql.sync import SqlTargetError, held, sync
from tests.conftest import MakeAccount

from .conftest import FreeradiusDb, run_script, schema_sql

WRITER, WRITER_PASSWORD = "radius_writer", "writer-secret-7c1e"


def check_passwords_of(hba: Path, role: str) -> None:
    """Make the server ask `role` (only) for its password over the Unix socket."""
    hba.write_text(f"local all {role} scram-sha-256\n" + hba.read_text())


@pytest.fixture(scope="module")
async def password_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """URL (without password) of a FreeRADIUS database on a server of its own that checks
    passwords (scram-sha-256) for WRITER: the run's shared server trusts everyone."""
    folder: Path = tmp_path_factory.mktemp("pg_scram")
    with EmbeddedPostgres(folder) as server:
        admin = create_engine(server.admin_url, pool_size=1)
        async with admin.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f"CREATE ROLE {WRITER} LOGIN PASSWORD '{WRITER_PASSWORD}'"))
            await conn.execute(text(f"CREATE DATABASE radius OWNER {WRITER}"))
            check_passwords_of(Path((await conn.execute(text("SHOW hba_file"))).scalar_one()), WRITER)
            await conn.execute(text("SELECT pg_reload_conf()"))
        await admin.dispose()
        url = make_url(server.admin_url).set(database="radius", username=WRITER, password=None)
        engine = create_engine(url.set(password=WRITER_PASSWORD).render_as_string(hide_password=False), pool_size=1)
        await run_script(engine, schema_sql())
        await engine.dispose()
        yield url.render_as_string(hide_password=False)


async def test_the_right_password_is_given_separately_and_works(password_server: str, account: MakeAccount) -> None:
    options = RadiusSqlOptions(url=password_server, timeout_s=5)

    result = await sync(options, WRITER_PASSWORD, [account("alice@isp.example", service_id=1, password="pw")])

    assert result.added == 1
    assert list(await held(options, WRITER_PASSWORD)) == ["alice@isp.example"]


async def test_a_wrong_password_says_which_database_and_that_the_password_was_refused(
    password_server: str, account: MakeAccount
) -> None:
    options = RadiusSqlOptions(url=password_server, timeout_s=5)

    with pytest.raises(SqlTargetError) as raised:
        await sync(options, "not-the-password-3b9d", [account("alice@isp.example", service_id=1, password="pw")])

    message = str(raised.value)
    assert message.startswith(f"FreeRADIUS database {WRITER}@")
    assert "/radius: connecting failed:" in message
    assert "password was refused; correct the target's secret" in message
    assert "not-the-password-3b9d" not in message


async def test_an_unreachable_port_says_where_and_that_connecting_failed(account: MakeAccount) -> None:
    options = RadiusSqlOptions(url="postgresql://bureau@127.0.0.1:1/radius", timeout_s=2)

    with pytest.raises(SqlTargetError) as raised:
        await held(options, "secret-never-shown-51a0")

    message = str(raised.value)
    assert message.startswith("FreeRADIUS database bureau@127.0.0.1:1/radius: connecting failed: ")
    assert "secret-never-shown-51a0" not in message


async def test_missing_tables_are_named_with_what_to_load(freeradius_db: FreeradiusDb, account: MakeAccount) -> None:
    options = RadiusSqlOptions(url=freeradius_db.url, schema="nowhere", timeout_s=5)

    with pytest.raises(SqlTargetError) as raised:
        await sync(options, None, [account("alice@isp.example", service_id=1, password="pw")])

    message = str(raised.value)
    assert "locking the tables failed" in message
    assert "load FreeRADIUS's schema.sql" in message or "the schema does not exist" in message


async def test_a_missing_database_is_named(freeradius_db: FreeradiusDb) -> None:
    url = make_url(freeradius_db.url).set(database=f"missing_{uuid.uuid4().hex[:8]}")
    options = RadiusSqlOptions(url=url.render_as_string(hide_password=False), timeout_s=5)

    with pytest.raises(SqlTargetError, match="the database does not exist; correct the url"):
        await held(options, None)


def test_a_password_in_the_url_is_refused_without_echoing_it() -> None:
    with pytest.raises(OptionsError) as raised:
        options_from({"url": "postgresql://bureau:hunter2-9x@db.isp.example/radius"})

    message = str(raised.value)
    assert "give it as the target's secret" in message
    assert "hunter2-9x" not in message
