"""Each account's key and placeholder values on a command target."""

from __future__ import annotations

import pytest

from bureau.platform.provisioning.command.options import CommandOptions
from bureau.platform.provisioning.command.values import desired_held
from bureau.platform.provisioning.formats.base import FormatError
from tests.conftest import MakeAccount

OPTIONS = CommandOptions(
    add=("p",), remove=("p",), kinds=("web", "disk_quota", "domain"), home_base="/srv/www/", gid=33
)


def test_users_are_keyed_by_unix_name_and_domains_by_domain(account: MakeAccount) -> None:
    accounts = [
        account("alice", kind="web", service_id=1, quota_mb=100),
        account("bob@Demo.Example", kind="disk_quota", service_id=2, suspended=True),
        account("Shop.Example", kind="domain", service_id=3),
        account("carol", kind="ftp", service_id=4),  # not one of the kinds
    ]

    held = desired_held(accounts, OPTIONS)

    assert list(held) == ["alice", "bob.demo.example", "shop.example"]
    assert dict(held["alice"].attributes) == {
        "login": "alice",
        "user": "alice",
        "uid": "10001",
        "gid": "33",
        "home": "/srv/www/alice",
        "quota_mb": "100",
        "state": "active",
        "kind": "web",
        "service_id": "1",
        "email": "alice@example.net",
    }
    assert held["bob.demo.example"].attributes["state"] == "suspended"
    assert held["bob.demo.example"].attributes["quota_mb"] == "0"  # no quota: setquota's "no limit"
    assert held["shop.example"].attributes["home"] == "/srv/www/shop.example"


def test_no_password_hash_is_kept(account: MakeAccount) -> None:
    held = desired_held([account("alice", kind="web")], OPTIONS)

    assert not any("$6$" in value for value in held["alice"].attributes.values())


def test_two_accounts_on_one_key_are_refused(account: MakeAccount) -> None:
    with pytest.raises(FormatError, match=r"services 1 \(web\) and 2 \(disk_quota\) both map to command target key"):
        desired_held(
            [account("alice", kind="web", service_id=1), account("alice", kind="disk_quota", service_id=2)], OPTIONS
        )


def test_a_name_unix_cannot_hold_is_refused(account: MakeAccount) -> None:
    with pytest.raises(FormatError, match="gives Unix user name"):
        desired_held([account("al ice", kind="web")], OPTIONS)
