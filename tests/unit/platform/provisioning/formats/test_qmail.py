"""qmail virtualdomains, rcpthosts and recipients."""

from __future__ import annotations

import pytest

from bureau.platform.provisioning.accounts import Account
from bureau.platform.provisioning.formats.base import HEADER, FormatError, options_from
from bureau.platform.provisioning.formats.qmail import QmailOptions, read, render
from tests.conftest import MakeAccount

OPTIONS = QmailOptions()


def mail_accounts(account: MakeAccount) -> list[Account]:
    return [
        account("bob@demo.example", kind="mailbox", service_id=1),
        account("alice@demo.example", kind="mailbox", service_id=2, suspended=True),
        account("Alice-Shop.example", kind="domain", service_id=3),
    ]


def test_domains_map_to_themselves_and_only_active_mailboxes_are_recipients(account: MakeAccount) -> None:
    files = render(mail_accounts(account), OPTIONS)
    assert files["virtualdomains"] == f"{HEADER}\nalice-shop.example:alice-shop.example\ndemo.example:demo.example\n"
    assert files["rcpthosts"] == f"{HEADER}\nalice-shop.example\ndemo.example\n"
    assert files["recipients"] == "bob@demo.example\n"


def test_the_recipients_file_can_be_left_out_for_a_plain_qmail(account: MakeAccount) -> None:
    options = options_from("qmail", {"recipients": False})
    assert sorted(render(mail_accounts(account), options)) == ["rcpthosts", "virtualdomains"]
    with pytest.raises(ValueError, match="must be true or false"):
        options_from("qmail", {"recipients": "no"})


def test_the_same_accounts_give_the_same_bytes_in_any_order(account: MakeAccount) -> None:
    accounts = mail_accounts(account)
    assert render(accounts, OPTIONS) == render(accounts[::-1], OPTIONS)


def test_what_was_rendered_reads_back_with_hand_added_domains(account: MakeAccount) -> None:
    files = render(mail_accounts(account), OPTIONS)
    files["virtualdomains"] += "lists.example:alias-lists\n"
    files["rcpthosts"] += "relay.example\n"
    held = read(files, OPTIONS)
    assert held["demo.example"].attributes == {"type": "domain", "prefix": "demo.example", "rcpthost": "yes"}
    assert held["lists.example"].attributes["rcpthost"] == "no"
    assert held["relay.example"].attributes == {"type": "domain", "prefix": "", "rcpthost": "yes"}
    assert held["bob@demo.example"].attributes == {"type": "address"}
    assert "alice@demo.example" not in held


@pytest.mark.parametrize(
    ("files", "where"),
    [
        ({"virtualdomains": "# c\ndemo.example\n"}, "virtualdomains line 2: expected domain:prefix"),
        ({"virtualdomains": "a.example:a\na.example:b\n"}, "virtualdomains line 2: 'a.example' is listed twice"),
        ({"rcpthosts": "a.example b.example\n"}, "rcpthosts line 1: expected one name"),
    ],
)
def test_a_malformed_line_names_its_file_and_line(files: dict[str, str], where: str) -> None:
    with pytest.raises(FormatError, match=where):
        read(files, OPTIONS)


def test_a_domain_service_with_an_invalid_name_is_refused(account: MakeAccount) -> None:
    with pytest.raises(FormatError, match=r"service 1: domain 'bad_domain.example'"):
        render([account("bad_domain.example", kind="domain")], OPTIONS)
