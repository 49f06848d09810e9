"""An LDAP export target of a tenant: exported from billing, reconciled, and a dead letter
when the directory cannot be reached."""

from __future__ import annotations

import pytest

from bureau.platform.provisioning import export, reconcile, targets
from bureau.platform.provisioning.ldap.sync import DirectoryError
from bureau.platform.provisioning.reconcile import Finding
from bureau.platform.subscribers.services import change_service_state

from ..conftest import PASSWORD
from .conftest import ROOT_DN, ROOT_PASSWORD


def ldap_options(slapd, base_dn: str, **extra) -> dict:
    return {"url": slapd.url, "base_dn": base_dn, "bind_dn": ROOT_DN, "timeout_s": 5, **extra}


async def test_a_tenant_s_services_are_synchronised_to_ldap_and_reconciled(isp, slapd, base_dn, tmp_path):
    alice, dave = f"alice.{isp.realm}", f"dave.{isp.realm}"
    options = ldap_options(slapd, base_dn, kinds=["radius_login", "domain"])
    async with isp.unit() as conn:
        await targets.add_target(conn, "directory", "ldap", options, secret=ROOT_PASSWORD, box=isp.box)
        first = await export.export_target(conn, isp.box, tmp_path, "directory")
        again = await export.export_target(conn, isp.box, tmp_path, "directory")
    assert first.counts is not None and first.counts["added"] >= 3
    assert again.counts == {"added": 0, "modified": 0, "deleted": 0} and again.outcome == "unchanged"
    accounts = f"ou=accounts,{base_dn}"
    assert slapd.binds(f"uid={alice},{accounts}", PASSWORD)
    assert not slapd.binds(f"uid={dave},{accounts}", PASSWORD), "dave is suspended"

    with slapd.connect() as ldap:  # an intruder's entry
        ldap.add(
            f"uid=mallory,{accounts}",
            ["top", "person", "organizationalPerson", "inetOrgPerson", "posixAccount"],
            {"cn": "m", "sn": "m", "uid": "mallory", "uidNumber": 0, "gidNumber": 0, "homeDirectory": "/root"},
        )
    async with isp.unit() as conn:
        (found,) = [r for r in await reconcile.reconcile_all(conn, isp.box, tmp_path) if r.subject == "directory"]
        assert [(f.finding, f.key) for f in found.findings] == [(Finding.UNBILLED, "mallory")]
        await reconcile.reconcile_all(conn, isp.box, tmp_path, fix=True)
        await change_service_state(conn, isp.ids[f"alice@{isp.realm}"], "suspended")
        locked = await export.export_target(conn, isp.box, tmp_path, "directory")
        (clean,) = [r for r in await reconcile.reconcile_all(conn, isp.box, tmp_path) if r.subject == "directory"]
    assert clean.clean
    assert locked.counts == {"added": 0, "modified": 1, "deleted": 0}
    assert not slapd.binds(f"uid={alice},{accounts}", PASSWORD)
    with slapd.connect() as ldap:
        assert not ldap.search(accounts, "(uid=mallory)")


async def test_a_directory_target_needs_its_secret_and_valid_options(isp, slapd, base_dn):
    async with isp.unit() as conn:
        with pytest.raises(targets.TargetError, match="needs a secret"):
            await targets.add_target(conn, "directory", "ldap", ldap_options(slapd, base_dn))
        with pytest.raises(targets.TargetError, match="options for format 'ldap'"):
            await targets.add_target(
                conn, "directory", "ldap", ldap_options(slapd, "not a dn"), secret="x", box=isp.box
            )


async def test_an_unreachable_directory_fails_the_export_with_a_clear_error(isp, tmp_path, base_dn):
    options = {"url": "ldap://127.0.0.1:9", "base_dn": base_dn, "bind_dn": ROOT_DN, "timeout_s": 2}
    options["kinds"] = ["radius_login"]
    async with isp.unit() as conn:
        await targets.add_target(conn, "directory", "ldap", options, secret="secret-pw", box=isp.box)
        with pytest.raises(DirectoryError, match=r"ldap://127\.0\.0\.1:9") as raised:
            await export.export_target(conn, isp.box, tmp_path, "directory")
    assert "secret-pw" not in str(raised.value)
