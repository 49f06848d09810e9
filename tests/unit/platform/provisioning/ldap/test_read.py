"""Reading entries back as Held values for reconciliation: keys, lock state, hand-made entries."""

from __future__ import annotations

import pytest

from bureau.platform.provisioning.formats.base import FormatError, Held
from bureau.platform.provisioning.ldap.entries import desired_entries
from bureau.platform.provisioning.ldap.options import LdapOptions
from bureau.platform.provisioning.ldap.read import held
from tests.conftest import MakeAccount

from .conftest import BASE


def test_accounts_are_keyed_by_unix_name_and_domains_by_domain_name(account: MakeAccount, options: LdapOptions) -> None:
    entries = desired_entries(
        [
            account("alice@isp.example", kind="radius_login", service_id=1),
            account("bob", kind="web", service_id=2, suspended=True),
            account("isp.example", kind="domain", service_id=3, suspended=True),
        ],
        options,
    )

    assert held(entries, options) == {
        "alice.isp.example": Held(
            "alice.isp.example",
            {"uid": "10001", "gid": "100", "home": "/home/alice.isp.example", "shell": "/sbin/nologin", "locked": "no"},
        ),
        "bob": Held("bob", {"uid": "10002", "gid": "100", "home": "/home/bob", "shell": "/bin/false", "locked": "yes"}),
        "isp.example": Held("isp.example", {"locked": "yes"}),
    }


def test_an_entry_made_by_hand_is_found_whatever_its_attributes(options: LdapOptions) -> None:
    entries = {
        f"cn=Mallory,ou=accounts,{BASE}": {"objectClass": ["person"], "cn": ["Mallory"], "sn": ["M"]},
        f"uid=eve,ou=accounts,{BASE}": {"uid": ["eve"], "userPassword": ["{crypt}!x"]},
        f"dc=shop,ou=domains,{BASE}": {"objectClass": ["domain"], "dc": ["shop"]},
        f"uid=outside,{BASE}": {"uid": ["outside"]},  # not below a managed container
    }

    assert held(entries, options) == {
        "Mallory": Held("Mallory", {"locked": "no"}),
        "eve": Held("eve", {"locked": "yes"}),
        "shop": Held("shop", {"locked": "no"}),
    }


def test_any_shadow_expire_reads_as_locked(options: LdapOptions) -> None:
    entries = {f"uid=eve,ou=accounts,{BASE}": {"uid": ["eve"], "shadowExpire": ["25000"]}}

    assert held(entries, options)["eve"].attributes["locked"] == "yes"


def test_two_entries_with_one_key_are_refused_naming_both(options: LdapOptions) -> None:
    entries = {
        f"uid=eve,ou=accounts,{BASE}": {"uid": ["eve"]},
        f"cn=Eve,ou=accounts,{BASE}": {"uid": ["eve"]},
    }

    with pytest.raises(FormatError, match=r"'cn=Eve,ou=accounts,.*' and 'uid=eve,ou=accounts,.*' both read as 'eve'"):
        held(entries, options)
