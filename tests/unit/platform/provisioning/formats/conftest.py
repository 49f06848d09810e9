"""Accounts for the format tests: one builder, so each test states only what matters."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bureau.platform.provisioning.accounts import Account, AccountState

MakeAccount = Callable[..., Account]
HASH = "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"


def build_account(
    kind: str,
    login: str,
    *,
    service_id: int = 1,
    suspended: bool = False,
    name: str = "Alice Example",
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
        email="alice@example.net",
        plan="basic",
        password_crypt=password_crypt,
    )


@pytest.fixture(scope="session")  # stateless, so hypothesis tests may use it too
def account() -> MakeAccount:
    return build_account
