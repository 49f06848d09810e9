"""Options for the pure LDAP tests (their accounts come from the root conftest's builder)."""

from __future__ import annotations

import pytest

from bureau.platform.provisioning.ldap.options import LdapOptions

BASE = "dc=isp,dc=example"


@pytest.fixture(scope="session")
def options() -> LdapOptions:
    return LdapOptions(url="ldap://ldap.isp.example", base_dn=BASE, bind_dn=f"cn=bureau,{BASE}")
