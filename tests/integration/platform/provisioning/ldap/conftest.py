"""A real OpenLDAP slapd for the LDAP export tests, started once per run.

Debian's slapd (installed by infra/install-slapd.sh when missing, never skipped) runs in
the foreground on 127.0.0.1 and a free port, from a slapd.conf written into a temporary
folder: an mdb database there, the schemas Debian ships (core, cosine, inetorgperson,
nis), and a root DN whose password is stored as {SSHA}. Each test gets a base DN of its
own below the suffix, so tests never see each other's entries.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from bench._slapd import Slapd, admin_dn, free_port, running_slapd
from bureau.platform.provisioning.ldap.options import LdapOptions

__all__ = ["ROOT_DN", "ROOT_PASSWORD", "SUFFIX", "Slapd", "free_port"]

SUFFIX = "dc=isp,dc=example"
ROOT_DN = admin_dn(SUFFIX)
ROOT_PASSWORD = "root-secret-9f3a"


@pytest.fixture(scope="session")
def slapd() -> Iterator[Slapd]:
    """One slapd for the run (bench/_slapd.py's runner: the bench and the tests set it up alike)."""
    with running_slapd(SUFFIX, ROOT_PASSWORD) as server:
        yield server


@pytest.fixture
def base_dn(slapd: Slapd) -> str:
    """An empty organizationalUnit of this test's own below the suffix."""
    name = f"t{uuid.uuid4().hex[:10]}"
    dn = f"ou={name},{SUFFIX}"
    with slapd.connect() as conn:
        conn.add(dn, ["top", "organizationalUnit"], {"ou": name})
    return dn


@pytest.fixture
def options(slapd: Slapd, base_dn: str) -> LdapOptions:
    return LdapOptions(url=slapd.url, base_dn=base_dn, bind_dn=ROOT_DN, timeout_s=5)
