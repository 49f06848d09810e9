"""Sendmail virtusertable and sendmail.cw: addresses to users, disabled mailboxes, domains."""

from __future__ import annotations

import pytest

from bureau.platform.provisioning.accounts import Account
from bureau.platform.provisioning.formats.base import HEADER, FormatError
from bureau.platform.provisioning.formats.sendmail import SendmailOptions, read, render
from tests.conftest import MakeAccount

OPTIONS = SendmailOptions()


def mail_accounts(account: MakeAccount) -> list[Account]:
    return [
        account("bob@Demo.Example", kind="mailbox", service_id=1),
        account("alice@demo.example", kind="mailbox", service_id=2, suspended=True),
        account("alice-shop.example", kind="domain", service_id=3),
        account("carol@dial.example", kind="radius_login", service_id=4),
    ]


def test_mailboxes_map_to_unix_users_and_suspended_ones_to_a_permanent_error(account: MakeAccount) -> None:
    files = render(mail_accounts(account), OPTIONS)
    assert files["virtusertable"] == (
        f"{HEADER}\nalice@demo.example\terror:5.2.1:550 Mailbox disabled\nbob@demo.example\tbob.demo.example\n"
    )
    assert files["sendmail.cw"] == f"{HEADER}\nalice-shop.example\ndemo.example\n"


def test_the_local_part_alone_can_name_the_user(account: MakeAccount) -> None:
    files = render([account("bob@demo.example", kind="mailbox")], SendmailOptions(user_from="local"))
    assert files["virtusertable"].endswith("bob@demo.example\tbob\n")


def test_the_same_accounts_give_the_same_bytes_in_any_order(account: MakeAccount) -> None:
    accounts = mail_accounts(account)
    assert render(accounts, OPTIONS) == render(accounts[::-1], OPTIONS)


def test_what_was_rendered_reads_back_and_a_hand_added_catch_all_is_found(account: MakeAccount) -> None:
    files = render(mail_accounts(account), OPTIONS)
    files["virtusertable"] += "@demo.example   postmaster\n"
    files["sendmail.cw"] += "# legacy\nold.example\n"
    held = read(files, OPTIONS)
    assert held["alice@demo.example"].attributes["locked"] == "yes"
    assert held["bob@demo.example"].attributes == {"type": "address", "target": "bob.demo.example", "locked": "no"}
    assert held["@demo.example"].attributes["target"] == "postmaster"
    assert {key for key, h in held.items() if h.attributes["type"] == "domain"} == {
        "alice-shop.example",
        "demo.example",
        "old.example",
    }


def test_an_address_without_a_target_names_file_and_line() -> None:
    with pytest.raises(FormatError, match="virtusertable line 2: expected an address"):
        read({"virtusertable": "# c\nalice@demo.example\n"}, OPTIONS)
    with pytest.raises(FormatError, match=r"sendmail.cw line 1: expected one domain"):
        read({"sendmail.cw": "a.example b.example\n"}, OPTIONS)


@pytest.mark.parametrize("login", ["bob smith@demo.example", "bob@demo..example", "#bob@demo.example", "bob"])
def test_an_address_that_would_break_the_table_is_refused(account: MakeAccount, login: str) -> None:
    with pytest.raises(FormatError, match=r"service 1: .*mail address"):
        render([account(login, kind="mailbox")], OPTIONS)
