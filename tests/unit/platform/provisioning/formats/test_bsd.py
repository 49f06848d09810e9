"""FreeBSD master.passwd: ten fields, *LOCKED* for suspended accounts, reading back."""

from __future__ import annotations

import pytest

from bureau.platform.provisioning.formats.base import HEADER, FormatError
from bureau.platform.provisioning.formats.bsd import BsdOptions, read, render
from tests.conftest import MakeAccount

OPTIONS = BsdOptions(login_class="isp")


def test_each_user_has_ten_fields_with_class_and_no_expiry(account: MakeAccount) -> None:
    alice = account("alice@demo.example", kind="mailbox")
    text = render([alice], OPTIONS)["master.passwd"]
    assert text == (
        f"{HEADER}\nalice.demo.example:{alice.password_crypt}:10001:100:isp:0:0:Alice Example:"
        "/home/alice.demo.example:/sbin/nologin\n"
    )


def test_a_suspended_account_is_locked_the_way_pw_lock_does_it(account: MakeAccount) -> None:
    alice = account("alice", kind="ftp", suspended=True)
    line = render([alice, account("demo.example", kind="domain", service_id=2)], OPTIONS)["master.passwd"].splitlines()
    assert line[1].split(":")[1] == f"*LOCKED*{alice.password_crypt}"
    assert len(line) == 2  # the domain service is not a Unix user


def test_the_output_does_not_depend_on_the_order_of_the_accounts(account: MakeAccount) -> None:
    accounts = [account("bob", kind="web"), account("alice", kind="web", service_id=2)]
    assert render(accounts, OPTIONS) == render(accounts[::-1], OPTIONS)


def test_rendered_users_read_back_with_lock_state_and_a_hand_added_one_is_found(account: MakeAccount) -> None:
    files = render([account("alice", kind="web", suspended=True, name="A, B: C")], OPTIONS)
    files["master.passwd"] += "toor:*:0:0::0:0:Bourne-again Superuser:/root:\n"
    held = read(files, OPTIONS)
    assert held["alice"].attributes["locked"] == "yes"
    assert held["alice"].attributes["gecos"] == "A B C"
    assert held["toor"].attributes["crypt"] == "*"


def test_a_line_with_seven_fields_is_refused_with_file_and_line() -> None:
    with pytest.raises(FormatError, match=r"master.passwd line 2: expected 10"):
        read({"master.passwd": "# header\nalice:x:1:1:A:/h:/s\n"}, OPTIONS)


def test_a_login_class_that_would_break_the_line_is_refused() -> None:
    with pytest.raises(ValueError, match="login_class"):
        BsdOptions(login_class="a:b")
