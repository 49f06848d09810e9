"""Accounts and options for the pure webhook target tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bureau.platform.provisioning.accounts import Account, AccountState

MakeAccount = Callable[..., Account]


def build_account(
    kind: str,
    login: str,
    *,
    service_id: int = 1,
    suspended: bool = False,
    email: str = "alice@example.net",
    quota_mb: int | None = None,
) -> Account:
    return Account(
        service_id=service_id,
        customer_id=7,
        kind=kind,
        login=login,
        state=AccountState.SUSPENDED if suspended else AccountState.ACTIVE,
        uid=10_000 + service_id,
        name="Alice Example",
        email=email,
        plan="web-basic",
        password_crypt="$6$salt$hash",
        quota_mb=quota_mb,
    )


@pytest.fixture(scope="session")
def account() -> MakeAccount:
    return build_account
