"""FreeRADIUS users file: entries over several lines, quoting, locks and reading back."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bureau.platform.provisioning.formats.base import HEADER, FormatError, options_from
from bureau.platform.provisioning.formats.radius_users import RadiusUsersOptions, read, render
from tests.conftest import MakeAccount

OPTIONS = RadiusUsersOptions()


def test_an_active_login_gets_its_hash_and_the_default_reply_items(account: MakeAccount) -> None:
    alice = account("alice@demo.example", kind="radius_login")
    assert render([alice, account("x@demo.example", kind="mailbox", service_id=2)], OPTIONS)["users"] == (
        f"{HEADER}\n"
        f'"alice@demo.example"\tCrypt-Password := "{alice.password_crypt}"\n'
        "\tService-Type = Framed-User,\n"
        "\tFramed-Protocol = PPP\n"
        "\n"
    )


def test_a_suspended_login_is_rejected_with_a_message_and_no_password_is_rejected_quietly(
    account: MakeAccount,
) -> None:
    alice = account("alice", kind="radius_login", suspended=True)
    text = render([alice, account("bob", kind="radius_login", service_id=2, password_crypt=None)], OPTIONS)["users"]
    assert f'"alice"\tCrypt-Password := "{alice.password_crypt}", Auth-Type := Reject\n' in text
    assert '\tReply-Message = "Account suspended"\n' in text
    assert '"bob"\tAuth-Type := Reject\n\n' in text


def test_reply_items_come_from_the_options_and_text_is_quoted_and_escaped(account: MakeAccount) -> None:
    options = options_from("radius_users", {"reply": {"Framed-IP-Address": "192.0.2.1", "Filter-Id": 'std "web"'}})
    text = render([account('o"brien\\x', kind="radius_login")], options)["users"]
    assert text.splitlines()[1].startswith('"o\\"brien\\\\x"\t')
    assert "\tFramed-IP-Address = 192.0.2.1,\n" in text
    assert '\tFilter-Id = "std \\"web\\""\n' in text
    assert read({"users": text}, options)['o"brien\\x'].attributes["reply"] == (
        'Framed-IP-Address = 192.0.2.1, Filter-Id = "std \\"web\\""'
    )


def test_the_same_accounts_give_the_same_bytes_in_any_order(account: MakeAccount) -> None:
    accounts = [account("zed", kind="radius_login"), account("amy", kind="radius_login", service_id=2)]
    assert render(accounts, OPTIONS) == render(accounts[::-1], OPTIONS)


def test_hand_written_entries_are_read_with_comments_and_defaults_skipped() -> None:
    text = (
        "# local additions\n"
        "DEFAULT\tAuth-Type := Reject\n"
        "\n"
        'bob   Crypt-Password := "$6$a$b"   # by hand\n'
        "    Service-Type = Login-User,   # comment\n"
        "\n"
        "    Session-Timeout := 60\n"
        "carol\n"
    )
    held = read({"users": text}, OPTIONS)
    assert sorted(held) == ["bob", "carol"]
    assert held["bob"].attributes == {
        "crypt": "$6$a$b",
        "locked": "no",
        "reply": "Service-Type = Login-User, Session-Timeout := 60",
    }


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("\tService-Type = Framed-User\n", "users line 1: indented"),
        ('"a" Crypt-Password := "x"\n\tA = 1\n\tB = 2\n', "users line 3: indented"),
        ('"a" Crypt-Password := "x",\n', "users line 1: check items must end"),
        ('"a" Crypt-Password := "x"\n\tA = 1,\n"b"\n', "users line 3: the previous line ends with ','"),
        ('"a"\n"a"\n', "users line 2: 'a' is defined twice"),
        ('"a" Crypt-Password "x"\n', "users line 1: cannot read an attribute"),
        ('"a" Crypt-Password := "unterminated\n', "users line 1: cannot read an attribute"),
    ],
)
def test_a_malformed_entry_names_the_file_and_line(text: str, where: str) -> None:
    with pytest.raises(FormatError, match=where):
        read({"users": text}, OPTIONS)


@pytest.mark.parametrize("login", ["", "ali\nce", "tab\there"])
def test_a_login_with_control_characters_is_refused(account: MakeAccount, login: str) -> None:
    with pytest.raises(FormatError, match="service 1: login"):
        render([account(login, kind="radius_login")], OPTIONS)


def test_options_refuse_a_reply_attribute_that_is_not_a_name() -> None:
    with pytest.raises(ValueError, match="reply attribute name"):
        options_from("radius_users", {"reply": [["Service Type", "x"]]})


LOGINS = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF, exclude_characters="\x7f"), min_size=1)


@given(
    items=st.lists(
        st.tuples(LOGINS, st.booleans(), st.one_of(st.none(), st.sampled_from(["$6$a$b", '$6$rounds=9$x"y\\z']))),
        max_size=6,
        unique_by=lambda item: item[0],
    )
)
def test_reading_what_was_rendered_gives_every_login_its_hash_and_lock(
    account: MakeAccount, items: list[tuple[str, bool, str | None]]
) -> None:
    accounts = [
        account(login, kind="radius_login", service_id=i, suspended=suspended, password_crypt=crypt)
        for i, (login, suspended, crypt) in enumerate(items, start=1)
    ]
    held = read(render(accounts, OPTIONS), OPTIONS)
    assert sorted(held) == sorted(a.login for a in accounts if a.login != "DEFAULT")
    for a in accounts:
        if a.login != "DEFAULT":
            attributes = held[a.login].attributes
            assert attributes["crypt"] == (a.password_crypt or "")
            assert attributes["locked"] == ("yes" if a.locked or a.password_crypt is None else "no")
