"""Annex ERPCD acp_passwd and acp_dialup for dial-up logins."""

from __future__ import annotations

import pytest

from bureau.platform.provisioning.formats.base import HEADER, FormatError, options_from
from bureau.platform.provisioning.formats.erpcd import ErpcdOptions, read, render
from tests.conftest import MakeAccount

OPTIONS = ErpcdOptions(annex="1-16@annex01", remote_address="DHCP")


def test_dial_up_logins_get_a_passwd_line_and_active_ones_a_dialup_entry(account: MakeAccount) -> None:
    alice = account("alice@demo.example", kind="radius_login")
    bob = account("bob@demo.example", kind="radius_login", service_id=2, suspended=True)
    files = render([bob, alice, account("carol@demo.example", kind="mailbox", service_id=3)], OPTIONS)
    assert files["acp_passwd"] == (
        f"alice@demo.example:{alice.password_crypt}:10001:100:Alice Example:/nonexistent:/bin/false\n"
        f"bob@demo.example:!{bob.password_crypt}:10002:100:Alice Example:/nonexistent:/bin/false\n"
    )
    assert files["acp_dialup"] == f"{HEADER}\nalice@demo.example 1-16@annex01 DHCP\n"


def test_a_local_address_is_written_after_the_remote_one(account: MakeAccount) -> None:
    options = ErpcdOptions(remote_address="192.0.2.7", local_address="192.0.2.1")
    dialup = render([account("alice", kind="radius_login")], options)["acp_dialup"]
    assert dialup.splitlines()[1] == "alice * 192.0.2.7 192.0.2.1"


def test_the_same_accounts_give_the_same_bytes_in_any_order(account: MakeAccount) -> None:
    accounts = [account("b", kind="radius_login"), account("a", kind="radius_login", service_id=2)]
    assert render(accounts, OPTIONS) == render(accounts[::-1], OPTIONS)


def test_what_was_rendered_reads_back_and_a_hand_added_dialup_entry_is_found(account: MakeAccount) -> None:
    files = render([account("alice", kind="radius_login", suspended=True)], OPTIONS)
    files["acp_dialup"] += "carol * 10.0.0.9   # a fixed address, by hand\n"
    held = read(files, OPTIONS)
    assert held["alice"].attributes["locked"] == "yes"
    assert "annex" not in held["alice"].attributes  # suspended: no dial-up entry
    assert held["carol"].attributes == {"annex": "*", "remote_address": "10.0.0.9", "local_address": ""}


def test_a_dialup_line_without_a_remote_address_names_file_and_line() -> None:
    with pytest.raises(FormatError, match="acp_dialup line 2: expected 'user annex"):
        read({"acp_dialup": "# c\nalice annex01\n"}, OPTIONS)


@pytest.mark.parametrize("login", ["ali ce", "al:ice", "alice#1", "al\nice"])
def test_a_login_that_would_break_either_file_is_refused(account: MakeAccount, login: str) -> None:
    with pytest.raises(FormatError, match="service 1: login"):
        render([account(login, kind="radius_login")], OPTIONS)


def test_options_refuse_an_annex_or_address_that_erpcd_could_not_read() -> None:
    with pytest.raises(ValueError, match="annex"):
        options_from("erpcd", {"annex": "annex 01"})
    with pytest.raises(ValueError, match="remote_address"):
        options_from("erpcd", {"remote_address": "10.0.0.300"})
