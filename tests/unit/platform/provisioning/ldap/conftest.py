"""Accounts and options for the pure LDAP tests: one builder, so each test states only what matters."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bureau.platform.provisioning.accounts import Account, AccountState
from bureau.platform.provisioning.ldap.options import LdapOptions

MakeAccount = Callable[..., Account]
HASH = "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"
BASE = "dc=isp,dc=example"


def build_account(
    kind: str,
    login: str,
    *,
    service_id: int = 1,
    suspended: bool = False,
    name: str = "Alice Example",
    email: str = "alice@example.net",
    password_crypt: str | None = HASH,
) -> Account:
    return Account(
        service_id=service_id,
        customer_id=7,
        kind=kind,
        login=login,
        state=AccountState.SUSPENDED if suspended else AccountState.ACTIVE,
        uid=10_000 + service_id,
        name=name,
        email=email,
        plan="basic",
        password_crypt=password_crypt,
    )


@pytest.fixture(scope="session")
def account() -> MakeAccount:
    return build_account


@pytest.fixture(scope="session")
def options() -> LdapOptions:
    return LdapOptions(url="ldap://ldap.isp.example", base_dn=BASE, bind_dn=f"cn=bureau,{BASE}")
