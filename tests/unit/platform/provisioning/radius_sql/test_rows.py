"""The rows FreeRADIUS's SQL tables should hold: the same items the users file gives each login."""

from __future__ import annotations

import pytest

from bureau.platform.provisioning.formats import radius_users
from bureau.platform.provisioning.formats.base import NO, YES, FormatError, Held
from bureau.platform.provisioning.radius_sql.options import RadiusSqlOptions
from bureau.platform.provisioning.radius_sql.rows import Rows, desired_held, desired_rows, held
from tests.conftest import HASH
from tests.conftest import build_account as account

URL = "postgresql://bureau@radius-db.isp.example/radius"

OPTIONS = RadiusSqlOptions(url=URL)


def test_an_active_login_gets_its_hash_as_a_check_item_and_the_reply_items() -> None:
    rows = desired_rows([account("alice@isp.example")], OPTIONS)

    assert rows == Rows(
        radcheck=(("alice@isp.example", "Crypt-Password", ":=", HASH),),
        radreply=(
            ("alice@isp.example", "Service-Type", "=", "Framed-User"),
            ("alice@isp.example", "Framed-Protocol", "=", "PPP"),
        ),
    )


def test_an_active_login_joins_the_group_the_options_name_with_their_priority() -> None:
    options = RadiusSqlOptions(url=URL, group="broadband", priority=5, reply=())

    rows = desired_rows([account("alice@isp.example")], options)

    assert rows.radusergroup == (("alice@isp.example", "broadband", 5),)
    assert rows.radreply == ()


def test_a_suspended_login_keeps_its_hash_is_rejected_and_gets_only_the_message() -> None:
    options = RadiusSqlOptions(url=URL, group="broadband", suspended_message="Call us: 555-0100")

    rows = desired_rows([account("dave@isp.example", suspended=True)], options)

    assert rows == Rows(
        radcheck=(
            ("dave@isp.example", "Crypt-Password", ":=", HASH),
            ("dave@isp.example", "Auth-Type", ":=", "Reject"),
        ),
        radreply=(("dave@isp.example", "Reply-Message", "=", "Call us: 555-0100"),),
    )


def test_a_login_without_a_password_is_rejected_with_no_reply_and_no_group() -> None:
    options = RadiusSqlOptions(url=URL, group="broadband")

    rows = desired_rows([account("nopass@isp.example", password_crypt=None)], options)

    assert rows == Rows(radcheck=(("nopass@isp.example", "Auth-Type", ":=", "Reject"),))


def test_a_suspended_login_without_a_password_is_rejected_with_the_message() -> None:
    rows = desired_rows([account("x@isp.example", password_crypt=None, suspended=True)], OPTIONS)

    assert rows.radcheck == (("x@isp.example", "Auth-Type", ":=", "Reject"),)
    assert rows.radreply == (("x@isp.example", "Reply-Message", "=", "Account suspended"),)


def test_only_radius_logins_are_exported_sorted_by_login() -> None:
    accounts = [
        account("zed@isp.example", service_id=1),
        account("box@isp.example", service_id=2, kind="mailbox"),
        account("amy@isp.example", service_id=3),
    ]

    rows = desired_rows(accounts, OPTIONS)

    assert [row[0] for row in rows.radcheck] == ["amy@isp.example", "zed@isp.example"]


def test_two_services_with_one_login_are_refused_naming_both() -> None:
    accounts = [account("alice@isp.example", service_id=1), account("alice@isp.example", service_id=2)]

    with pytest.raises(FormatError, match=r"services 1 \(radius_login\) and 2 \(radius_login\)"):
        desired_rows(accounts, OPTIONS)


@pytest.mark.parametrize("login", ["", "alice\n@isp.example", '"alice"'])
def test_a_login_the_tables_cannot_hold_as_it_is_is_refused(login: str) -> None:
    with pytest.raises(FormatError, match="service 1: login"):
        desired_rows([account(login)], OPTIONS)


def test_the_held_values_read_like_the_users_files_with_the_groups_added() -> None:
    accounts = [
        account("alice@isp.example", service_id=1),
        account("dave@isp.example", service_id=2, suspended=True),
        account("nopass@isp.example", service_id=3, password_crypt=None),
    ]
    options = RadiusSqlOptions(url=URL, group="broadband")
    users_file = radius_users.render(accounts, options.users_options())

    sql = desired_held(accounts, options)
    from_file = radius_users.read(users_file, options.users_options())

    assert {
        key: {**entry.attributes, "groups": ""} for key, entry in from_file.items() if key != "alice@isp.example"
    } == {key: dict(entry.attributes) for key, entry in sql.items() if key != "alice@isp.example"}
    assert sql["alice@isp.example"] == Held(
        "alice@isp.example",
        {
            "crypt": HASH,
            "locked": NO,
            "reply": "Service-Type = Framed-User, Framed-Protocol = PPP",
            "groups": "broadband (1)",
        },
    )
    assert sql["dave@isp.example"].attributes["locked"] == YES


def test_held_keeps_every_user_name_of_any_table_in_row_order() -> None:
    rows = Rows(
        radcheck=(("bob", "Cleartext-Password", ":=", "x"),),
        radreply=(("ghost", "Framed-IP-Address", "=", "10.0.0.9"), ("ghost", "Session-Timeout", "=", "60")),
        radusergroup=(("carol", "staff", 0),),
    )

    found = held(rows)

    assert sorted(found) == ["bob", "carol", "ghost"]
    assert found["ghost"].attributes["reply"] == "Framed-IP-Address = 10.0.0.9, Session-Timeout = 60"
    assert found["carol"].attributes == {"crypt": "", "locked": NO, "reply": "", "groups": "staff (0)"}


def test_rows_of_users_and_users_of_rows_are_inverse() -> None:
    rows = desired_rows(
        [account("a@x.example", service_id=1), account("b@x.example", service_id=2, suspended=True)],
        RadiusSqlOptions(url=URL, group="g"),
    )

    assert Rows.of(rows.users().items()) == rows
