"""The entries an LDAP directory should hold: layout, locking, naming and refusals."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bureau.platform.provisioning.formats.base import FormatError
from bureau.platform.provisioning.ldap.entries import containers, desired_entries, dn_key
from bureau.platform.provisioning.ldap.options import LdapOptions
from tests.conftest import HASH, MakeAccount

from .conftest import BASE

ACCOUNTS = f"ou=accounts,{BASE}"


def test_an_active_login_is_an_inet_org_person_and_posix_account_under_ou_accounts(
    account: MakeAccount, options: LdapOptions
) -> None:
    entries = desired_entries([account("alice@Demo.Example", kind="radius_login", service_id=12)], options)

    assert entries == {
        f"uid=alice.demo.example,{ACCOUNTS}": {
            "objectClass": ["top", "person", "organizationalPerson", "inetOrgPerson", "posixAccount", "shadowAccount"],
            "uid": ["alice.demo.example"],
            "cn": ["Alice Example"],
            "sn": ["Alice Example"],
            "uidNumber": ["10012"],
            "gidNumber": ["100"],
            "homeDirectory": ["/home/alice.demo.example"],
            "loginShell": ["/sbin/nologin"],
            "description": ["bureau service 12"],
            "mail": ["alice@example.net"],
            "userPassword": ["{CRYPT}" + HASH],
        }
    }


def test_a_suspended_account_is_locked_by_its_hash_and_by_shadow_expire(
    account: MakeAccount, options: LdapOptions
) -> None:
    [attributes] = desired_entries([account("alice", kind="ftp", suspended=True)], options).values()

    assert attributes["userPassword"] == ["{CRYPT}!" + HASH]
    assert attributes["shadowExpire"] == ["1"]
    assert attributes["description"] == ["bureau service 1 (suspended)"]


def test_an_account_without_a_password_has_no_user_password(account: MakeAccount, options: LdapOptions) -> None:
    [active, suspended] = desired_entries(
        [
            account("alice", kind="web", service_id=1, password_crypt=None),
            account("bob", kind="web", service_id=2, password_crypt=None, suspended=True),
        ],
        options,
    ).values()

    assert "userPassword" not in active and "shadowExpire" not in active
    assert "userPassword" not in suspended and suspended["shadowExpire"] == ["1"]


def test_a_mailbox_carries_its_address_and_other_accounts_the_customers(
    account: MakeAccount, options: LdapOptions
) -> None:
    entries = desired_entries(
        [account("Info@ISP.Example", kind="mailbox", service_id=1), account("alice", kind="web", service_id=2)], options
    )

    assert entries[f"uid=Info.isp.example,{ACCOUNTS}"]["mail"] == ["Info@isp.example"]
    assert entries[f"uid=alice,{ACCOUNTS}"]["mail"] == ["alice@example.net"]


def test_a_customer_without_an_address_or_a_name_still_gets_a_valid_entry(
    account: MakeAccount, options: LdapOptions
) -> None:
    [attributes] = desired_entries([account("alice", kind="web", email="", name="  ")], options).values()

    assert "mail" not in attributes
    assert attributes["cn"] == attributes["sn"] == ["alice"]


def test_a_customer_address_ldap_cannot_hold_is_refused_naming_the_service(
    account: MakeAccount, options: LdapOptions
) -> None:
    with pytest.raises(FormatError, match=r"service 4: the customer's address 'jörg@example\.net'"):
        desired_entries([account("joerg", kind="web", service_id=4, email="jörg@example.net")], options)


def test_a_domain_is_a_dns_domain_named_by_its_associated_domain(account: MakeAccount, options: LdapOptions) -> None:
    entries = desired_entries([account("Shop.ISP.Example", kind="domain", service_id=5, suspended=True)], options)

    assert entries == {
        f"associatedDomain=shop.isp.example,ou=domains,{BASE}": {
            "objectClass": ["top", "dNSDomain", "domainRelatedObject"],
            "dc": ["shop"],
            "associatedDomain": ["shop.isp.example"],
            "description": ["bureau service 5 (suspended)"],
        }
    }


def test_an_invalid_domain_is_refused(account: MakeAccount, options: LdapOptions) -> None:
    with pytest.raises(FormatError, match=r"service 5: domain 'bad_domain\.example' is not a valid domain name"):
        desired_entries([account("bad_domain.example", kind="domain", service_id=5)], options)


def test_two_accounts_with_one_user_name_are_refused_naming_both(account: MakeAccount, options: LdapOptions) -> None:
    with pytest.raises(FormatError, match=r"services 1 \(radius_login\) and 2 \(mailbox\) both map to Unix user"):
        desired_entries(
            [
                account("alice@isp.example", kind="radius_login", service_id=1),
                account("alice@isp.example", kind="mailbox", service_id=2),
            ],
            options,
        )


def test_the_naming_options_of_the_passwd_formats_apply(account: MakeAccount, options: LdapOptions) -> None:
    local = replace(options, user_from="local", home_base="/srv/users", shells={"radius_login": "/bin/false"})

    [(dn, attributes)] = desired_entries([account("alice@isp.example", kind="radius_login")], local).items()

    assert dn == f"uid=alice,{ACCOUNTS}"
    assert attributes["homeDirectory"] == ["/srv/users/alice"]
    assert attributes["loginShell"] == ["/bin/false"]


def test_kinds_left_out_of_the_options_are_not_exported(account: MakeAccount, options: LdapOptions) -> None:
    domains_only = replace(options, kinds=("domain",))
    accounts = [
        account("alice", kind="web", service_id=1),
        account("isp.example", kind="domain", service_id=2),
        account("alice", kind="disk_quota", service_id=3),
    ]

    assert list(desired_entries(accounts, domains_only)) == [f"associatedDomain=isp.example,ou=domains,{BASE}"]
    assert list(containers(domains_only)) == [f"ou=domains,{BASE}"]
    assert list(containers(options)) == [f"ou=accounts,{BASE}", f"ou=domains,{BASE}"]


def test_dns_compare_whatever_their_spacing_and_case() -> None:
    assert dn_key("uid=Alice, ou=Accounts, DC=isp,dc=example") == dn_key("UID=alice,ou=accounts,dc=ISP,dc=example")
    assert dn_key("uid=alice,dc=example") != dn_key("uid=alicia,dc=example")
