"""Postfix virtual: alias-domain lines, address lines, suspended mailboxes left out."""

from __future__ import annotations

import pytest

from bureau.platform.provisioning.accounts import Account
from bureau.platform.provisioning.formats.base import HEADER, FormatError, options_from
from bureau.platform.provisioning.formats.postfix import PostfixOptions, read, render
from tests.conftest import MakeAccount

OPTIONS = PostfixOptions()


def mail_accounts(account: MakeAccount) -> list[Account]:
    return [
        account("bob@demo.example", kind="mailbox", service_id=1),
        account("alice@demo.example", kind="mailbox", service_id=2, suspended=True),
        account("alice-shop.example", kind="domain", service_id=3),
    ]


def test_domains_come_first_as_alias_domains_then_active_mailboxes(account: MakeAccount) -> None:
    assert render(mail_accounts(account), OPTIONS)["virtual"] == (
        f"{HEADER}\nalice-shop.example\tanything\ndemo.example\tanything\nbob@demo.example\tbob.demo.example\n"
    )


def test_a_local_domain_option_makes_targets_full_addresses(account: MakeAccount) -> None:
    options = options_from("postfix", {"local_domain": "localhost", "realm_separator": "_"})
    assert render(mail_accounts(account), options)["virtual"].endswith("bob@demo.example\tbob_demo.example@localhost\n")
    with pytest.raises(ValueError, match="local_domain"):
        options_from("postfix", {"local_domain": "local host"})


def test_the_same_accounts_give_the_same_bytes_in_any_order(account: MakeAccount) -> None:
    accounts = mail_accounts(account)
    assert render(accounts, OPTIONS) == render(accounts[::-1], OPTIONS)


def test_what_was_rendered_reads_back_and_hand_lines_with_continuations_are_joined(account: MakeAccount) -> None:
    files = render(mail_accounts(account), OPTIONS)
    files["virtual"] += "# team\nteam@demo.example   bob.demo.example,\n    carol@elsewhere.example\n"
    held = read(files, OPTIONS)
    assert held["bob@demo.example"].attributes == {"type": "address", "target": "bob.demo.example"}
    assert held["team@demo.example"].attributes["target"] == "bob.demo.example, carol@elsewhere.example"
    assert held["demo.example"].attributes == {"type": "domain"}
    assert "alice@demo.example" not in held


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("  orphan@demo.example x\n", "virtual line 1: a continuation line"),
        ("# c\nbob@demo.example\n", "virtual line 2: expected a key"),
        ("a.example x\na.example y\n", "virtual line 2: 'a.example' is defined twice"),
    ],
)
def test_a_malformed_line_names_its_file_and_line(text: str, where: str) -> None:
    with pytest.raises(FormatError, match=where):
        read({"virtual": text}, OPTIONS)


def test_an_address_with_whitespace_is_refused(account: MakeAccount) -> None:
    with pytest.raises(FormatError, match="service 1: mail address"):
        render([account("bob\t@demo.example", kind="mailbox")], OPTIONS)
