"""Synchronising a real slapd with a tenant's accounts: add, keep, lock, change, delete."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bureau.platform.provisioning.accounts import Account, AccountState
from bureau.platform.provisioning.ldap.entries import desired_entries
from bureau.platform.provisioning.ldap.options import LdapOptions
from bureau.platform.provisioning.ldap.read import held
from bureau.platform.provisioning.ldap.sync import DirectoryError, connect, current_entries, sync
from tests.conftest import MakeAccount

from .conftest import ROOT_PASSWORD, Slapd


def accounts(account: MakeAccount) -> list[Account]:
    return [
        account("alice@isp.example", kind="radius_login", service_id=1, password="alice-pw"),
        account("dave@isp.example", kind="radius_login", service_id=2, password="dave-pw", suspended=True),
        account("box@isp.example", kind="mailbox", service_id=3, password="box-pw"),
        account("alicesite", kind="web", service_id=4, password="site-pw"),
        account("Isp.Example", kind="domain", service_id=5, password_crypt=None),
    ]


def user_dn(name: str, options: LdapOptions) -> str:
    return f"uid={name},ou=accounts,{options.base_dn}"


def read(slapd: Slapd, dn: str) -> dict[str, list[str]] | None:
    """The entry's attributes (names lower-cased, values sorted) read as the root DN; None if absent."""
    with slapd.connect() as conn:
        conn.search(dn, "(objectClass=*)", "BASE", attributes=["*"])
        if not conn.response:
            return None
        raw = conn.response[0]["raw_attributes"]
        return {name.lower(): sorted(value.decode() for value in values) for name, values in raw.items()}


def below(slapd: Slapd, dn: str) -> list[str]:
    with slapd.connect() as conn:
        found = conn.search(dn, "(objectClass=*)", "SUBTREE", attributes=["1.1"])
        return sorted(entry["dn"] for entry in conn.response) if found else []


def test_the_first_sync_adds_a_posix_entry_per_account_and_an_entry_per_domain(
    slapd: Slapd, options: LdapOptions, account: MakeAccount
) -> None:
    result = sync(options, ROOT_PASSWORD, accounts(account))

    assert (result.added, result.modified, result.deleted) == (2 + 5, 0, 0)  # two containers, five services
    alice = read(slapd, user_dn("alice.isp.example", options))
    assert alice is not None
    password = alice.pop("userpassword")
    assert len(password) == 1 and password[0].startswith("{CRYPT}$6$salt1$")
    assert alice == {
        "objectclass": sorted(
            ["top", "person", "organizationalPerson", "inetOrgPerson", "posixAccount", "shadowAccount"]
        ),
        "uid": ["alice.isp.example"],
        "cn": ["Alice Example"],
        "sn": ["Alice Example"],
        "uidnumber": ["10001"],
        "gidnumber": ["100"],
        "homedirectory": ["/home/alice.isp.example"],
        "loginshell": ["/sbin/nologin"],
        "mail": ["alice@example.net"],
        "description": ["bureau service 1"],
    }
    box = read(slapd, user_dn("box.isp.example", options))
    assert box is not None and box["mail"] == ["box@isp.example"]
    site = read(slapd, user_dn("alicesite", options))
    assert site is not None and site["loginshell"] == ["/bin/false"]
    domain = read(slapd, f"associatedDomain=isp.example,ou=domains,{options.base_dn}")
    assert domain == {
        "objectclass": ["dNSDomain", "domainRelatedObject", "top"],
        "associateddomain": ["isp.example"],
        "dc": ["isp"],
        "description": ["bureau service 5"],
    }


def test_a_second_sync_with_the_same_accounts_changes_nothing(
    slapd: Slapd, options: LdapOptions, account: MakeAccount
) -> None:
    sync(options, ROOT_PASSWORD, accounts(account))
    before = {dn: read(slapd, dn) for dn in below(slapd, options.base_dn)}

    again = sync(options, ROOT_PASSWORD, accounts(account))

    assert not again.changed and again.lines == ()
    assert {dn: read(slapd, dn) for dn in below(slapd, options.base_dn)} == before


def test_an_active_account_binds_with_its_password_and_a_suspended_one_cannot(
    slapd: Slapd, options: LdapOptions, account: MakeAccount
) -> None:
    sync(options, ROOT_PASSWORD, accounts(account))

    assert slapd.binds(user_dn("alice.isp.example", options), "alice-pw")  # slapd checks {CRYPT} with crypt(3)
    assert not slapd.binds(user_dn("alice.isp.example", options), "wrong-pw")
    dave = read(slapd, user_dn("dave.isp.example", options))
    assert dave is not None
    assert dave["userpassword"][0].startswith("{CRYPT}!$6$")
    assert dave["shadowexpire"] == ["1"]
    assert dave["description"] == ["bureau service 2 (suspended)"]
    assert not slapd.binds(user_dn("dave.isp.example", options), "dave-pw")


def test_reactivating_a_suspended_account_unlocks_it_in_place(
    slapd: Slapd, options: LdapOptions, account: MakeAccount
) -> None:
    sync(options, ROOT_PASSWORD, accounts(account))
    active = [replace(a, state=AccountState.ACTIVE) if a.service_id == 2 else a for a in accounts(account)]

    result = sync(options, ROOT_PASSWORD, active)

    assert (result.added, result.modified, result.deleted) == (0, 1, 0)
    dave = read(slapd, user_dn("dave.isp.example", options))
    assert dave is not None and "shadowexpire" not in dave
    assert slapd.binds(user_dn("dave.isp.example", options), "dave-pw")


def test_the_entry_of_a_removed_account_is_deleted(slapd: Slapd, options: LdapOptions, account: MakeAccount) -> None:
    sync(options, ROOT_PASSWORD, accounts(account))

    result = sync(options, ROOT_PASSWORD, [a for a in accounts(account) if a.service_id != 3])

    assert (result.added, result.modified, result.deleted) == (0, 0, 1)
    assert result.lines == (f"- {user_dn('box.isp.example', options)}",)
    assert read(slapd, user_dn("box.isp.example", options)) is None


def test_attributes_a_person_changed_by_hand_are_put_back(
    slapd: Slapd, options: LdapOptions, account: MakeAccount
) -> None:
    sync(options, ROOT_PASSWORD, accounts(account))
    dn = user_dn("alice.isp.example", options)
    with slapd.connect() as conn:
        conn.modify(dn, {"loginShell": [("MODIFY_REPLACE", ["/bin/bash"])], "telephoneNumber": [("MODIFY_ADD", ["1"])]})

    result = sync(options, ROOT_PASSWORD, accounts(account))

    assert (result.added, result.modified, result.deleted) == (0, 1, 0)
    assert f"~ {dn}: loginShell '/bin/bash' -> '/sbin/nologin'" in result.lines
    alice = read(slapd, dn)
    assert alice is not None and alice["loginshell"] == ["/sbin/nologin"] and "telephonenumber" not in alice


def test_an_account_added_by_hand_is_held_and_deleted_by_the_next_sync(
    slapd: Slapd, options: LdapOptions, account: MakeAccount
) -> None:
    sync(options, ROOT_PASSWORD, accounts(account))
    mallory = user_dn("mallory", options)
    with slapd.connect() as conn:
        conn.add(
            mallory,
            ["top", "account", "posixAccount"],
            {"uid": "mallory", "cn": "Mallory", "uidNumber": "0", "gidNumber": "0", "homeDirectory": "/root"},
        )
    with connect(options, ROOT_PASSWORD) as conn:
        holds = held(current_entries(conn, options), options)
    should = held(desired_entries(accounts(account), options), options)

    assert holds.keys() - should.keys() == {"mallory"}
    assert holds["mallory"].attributes == {"uid": "0", "gid": "0", "home": "/root", "locked": "no"}
    assert {key: holds[key] for key in should} == should  # everything else reads back as it was written
    result = sync(options, ROOT_PASSWORD, accounts(account))
    assert (result.added, result.modified, result.deleted) == (0, 0, 1)
    assert read(slapd, mallory) is None


def test_a_dry_run_reports_the_changes_and_writes_nothing(
    slapd: Slapd, options: LdapOptions, account: MakeAccount
) -> None:
    first = sync(options, ROOT_PASSWORD, accounts(account), dry_run=True)

    assert first.dry_run and (first.added, first.modified, first.deleted) == (7, 0, 0)
    assert f"+ ou=accounts,{options.base_dn}" in first.lines
    assert f"+ {user_dn('alice.isp.example', options)}" in first.lines
    assert below(slapd, options.base_dn) == [options.base_dn]  # not even the containers

    sync(options, ROOT_PASSWORD, accounts(account))
    suspended = [replace(a, state=AccountState.SUSPENDED) if a.service_id == 1 else a for a in accounts(account)]
    before = read(slapd, user_dn("alice.isp.example", options))
    second = sync(options, ROOT_PASSWORD, suspended, dry_run=True)

    dn = user_dn("alice.isp.example", options)
    assert (second.added, second.modified, second.deleted) == (0, 1, 0)
    assert second.lines == (
        f"~ {dn}: description 'bureau service 1' -> 'bureau service 1 (suspended)'",
        f"~ {dn}: shadowExpire (none) -> '1'",
        f"~ {dn}: userPassword changed",  # hashes are not shown
    )
    assert read(slapd, dn) == before


def test_a_missing_base_dn_is_named_in_the_error(slapd: Slapd, options: LdapOptions, account: MakeAccount) -> None:
    missing = replace(options, base_dn=f"ou=nowhere,{options.base_dn}")

    with pytest.raises(DirectoryError, match=r"base_dn 'ou=nowhere,.*' does not exist"):
        sync(missing, ROOT_PASSWORD, accounts(account))
