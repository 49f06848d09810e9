"""Synchronising a real FreeRADIUS PostgreSQL schema with a tenant's logins."""

from __future__ import annotations

from dataclasses import replace

from bureau.platform.provisioning.accounts import Account, AccountState
from bureau.platform.provisioning.formats.base import NO, YES, Held
from bureau.platform.provisioning.radius_sql.options import RadiusSqlOptions
from bureau.platform.provisioning.radius_sql.rows import desired_held
from bureau.platform.provisioning.radius_sql.sync import held, sync
from tests.conftest import MakeAccount

from .conftest import FreeradiusDb


def logins(account: MakeAccount) -> list[Account]:
    return [
        account("alice@isp.example", service_id=1, password="alice-pw"),
        account("dave@isp.example", service_id=2, password="dave-pw", suspended=True),
        account("nopass@isp.example", service_id=3, password_crypt=None),
        account("box@isp.example", service_id=4, password="box-pw", kind="mailbox"),  # not a RADIUS login
    ]


async def test_the_first_sync_writes_the_rows_freeradius_reads(
    freeradius_db: FreeradiusDb, options: RadiusSqlOptions, account: MakeAccount
) -> None:
    accounts = logins(account)

    result = await sync(options, None, accounts)

    alice, dave = accounts[0].password_crypt, accounts[1].password_crypt
    assert (result.added, result.modified, result.deleted, result.changed) == (3, 0, 0, True)
    assert await freeradius_db.rows("radcheck") == [
        ("alice@isp.example", "Crypt-Password", ":=", alice),
        ("dave@isp.example", "Crypt-Password", ":=", dave),
        ("dave@isp.example", "Auth-Type", ":=", "Reject"),
        ("nopass@isp.example", "Auth-Type", ":=", "Reject"),
    ]
    assert await freeradius_db.rows("radreply") == [
        ("alice@isp.example", "Service-Type", "=", "Framed-User"),
        ("alice@isp.example", "Framed-Protocol", "=", "PPP"),
        ("dave@isp.example", "Reply-Message", "=", "Account suspended"),
    ]
    assert await freeradius_db.rows("radusergroup") == [("alice@isp.example", "broadband", 1)]
    assert result.rows_inserted == 4 + 3 + 1 and result.rows_deleted == 0
    assert not any(alice in line or dave in line for line in result.lines if alice and dave)  # hashes not shown


async def test_a_second_sync_changes_nothing_and_keeps_every_row_id(
    freeradius_db: FreeradiusDb, options: RadiusSqlOptions, account: MakeAccount
) -> None:
    await sync(options, None, logins(account))
    before = await freeradius_db.ids()

    again = await sync(options, None, logins(account))

    assert (again.added, again.modified, again.deleted, again.changed, again.lines) == (0, 0, 0, False, ())
    assert await freeradius_db.ids() == before


async def test_suspending_locks_the_user_and_leaves_the_others_untouched(
    freeradius_db: FreeradiusDb, options: RadiusSqlOptions, account: MakeAccount
) -> None:
    accounts = logins(account)
    await sync(options, None, accounts)
    dave_ids = await freeradius_db.query("SELECT id FROM radcheck WHERE username = 'dave@isp.example' ORDER BY id")

    accounts[0] = replace(accounts[0], state=AccountState.SUSPENDED)
    result = await sync(options, None, accounts)

    assert (result.added, result.modified, result.deleted) == (0, 1, 0)
    assert await freeradius_db.query(
        "SELECT attribute, op, value FROM radcheck WHERE username = 'alice@isp.example' ORDER BY id"
    ) == [("Crypt-Password", ":=", accounts[0].password_crypt), ("Auth-Type", ":=", "Reject")]
    assert await freeradius_db.query(
        "SELECT attribute, op, value FROM radreply WHERE username = 'alice@isp.example' ORDER BY id"
    ) == [("Reply-Message", "=", "Account suspended")]
    assert await freeradius_db.rows("radusergroup") == []
    assert (
        await freeradius_db.query("SELECT id FROM radcheck WHERE username = 'dave@isp.example' ORDER BY id") == dave_ids
    )
    assert (await held(options, None))["alice@isp.example"].attributes["locked"] == YES


async def test_cancelling_removes_every_row_of_the_user(
    freeradius_db: FreeradiusDb, options: RadiusSqlOptions, account: MakeAccount
) -> None:
    accounts = logins(account)
    await sync(options, None, accounts)

    result = await sync(options, None, accounts[1:])  # alice's service was cancelled: no longer exported

    assert (result.added, result.modified, result.deleted) == (0, 0, 1)
    assert result.lines == ("- alice@isp.example (4 rows)",)
    for table in ("radcheck", "radreply", "radusergroup"):
        assert await freeradius_db.query(f"SELECT count(*) FROM {table} WHERE username = 'alice@isp.example'") == [(0,)]


async def test_a_hand_added_user_is_held_as_unbilled_and_removed_by_the_next_sync(
    freeradius_db: FreeradiusDb, options: RadiusSqlOptions, account: MakeAccount
) -> None:
    accounts = logins(account)
    await sync(options, None, accounts)
    await freeradius_db.execute(
        "INSERT INTO radcheck (username, attribute, op, value) VALUES ('mallory', 'Cleartext-Password', ':=', 'x')"
    )
    await freeradius_db.execute(
        "INSERT INTO radreply (username, attribute, op, value) VALUES ('ghost', 'Framed-IP-Address', '=', '10.0.0.9')"
    )

    holds = await held(options, None)

    assert holds.keys() - desired_held(accounts, options).keys() == {"mallory", "ghost"}
    assert holds["mallory"] == Held("mallory", {"crypt": "", "locked": NO, "reply": "", "groups": ""})
    assert holds["ghost"].attributes["reply"] == "Framed-IP-Address = 10.0.0.9"
    assert {key: holds[key] for key in desired_held(accounts, options)} == desired_held(accounts, options)

    result = await sync(options, None, accounts)

    assert (result.added, result.modified, result.deleted) == (0, 0, 2)
    assert (await held(options, None)).keys() == desired_held(accounts, options).keys()


async def test_a_hand_edited_row_is_put_back_on_the_next_sync(
    freeradius_db: FreeradiusDb, options: RadiusSqlOptions, account: MakeAccount
) -> None:
    accounts = logins(account)
    await sync(options, None, accounts)
    await freeradius_db.execute("DELETE FROM radcheck WHERE username = 'dave@isp.example' AND attribute = 'Auth-Type'")
    assert (await held(options, None))["dave@isp.example"].attributes["locked"] == NO

    result = await sync(options, None, accounts)

    assert (result.added, result.modified, result.deleted) == (0, 1, 0)
    assert result.lines == (
        "~ dave@isp.example: radcheck Crypt-Password := (hash) -> Crypt-Password := (hash), Auth-Type := Reject",
    )
    assert await held(options, None) == desired_held(accounts, options)


async def test_a_dry_run_reports_the_changes_and_writes_nothing(
    freeradius_db: FreeradiusDb, options: RadiusSqlOptions, account: MakeAccount
) -> None:
    accounts = logins(account)
    await sync(options, None, accounts[:1])
    before = {table: await freeradius_db.rows(table) for table in ("radcheck", "radreply", "radusergroup")}

    result = await sync(options, None, accounts[1:], dry_run=True)

    assert result.dry_run and (result.added, result.modified, result.deleted) == (2, 0, 1)
    assert result.lines == (
        "- alice@isp.example (4 rows)",
        "+ dave@isp.example (3 rows)",
        "+ nopass@isp.example (1 rows)",
    )
    assert (result.rows_deleted, result.rows_inserted) == (4, 4)
    assert {table: await freeradius_db.rows(table) for table in before} == before


async def test_the_tables_may_live_in_a_schema_of_their_own(freeradius_db: FreeradiusDb, account: MakeAccount) -> None:
    await freeradius_db.execute("CREATE SCHEMA bureau_radius")
    for table in ("radcheck", "radreply", "radusergroup"):
        await freeradius_db.execute(f"CREATE TABLE bureau_radius.{table} (LIKE public.{table} INCLUDING ALL)")
    options = RadiusSqlOptions(url=freeradius_db.url, schema="bureau_radius", timeout_s=5)

    await sync(options, None, logins(account)[:1])

    assert await freeradius_db.query("SELECT username, attribute FROM bureau_radius.radcheck") == [
        ("alice@isp.example", "Crypt-Password")
    ]
    assert await freeradius_db.rows("radcheck") == []
