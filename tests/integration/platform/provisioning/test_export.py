"""Exporting a tenant's services to file targets, from billing's current state."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, update

from bureau.platform.crypto.unix_crypt import sha512_crypt
from bureau.platform.provisioning import export, files, targets
from bureau.platform.provisioning.formats.base import FORMATS, options_from
from bureau.platform.provisioning.tables import export_runs
from bureau.platform.subscribers.services import change_service_state
from bureau.platform.subscribers.tables import services

from .conftest import PASSWORD

ZONE = {"primary_ns": "ns1.isp.example", "hostmaster": "hostmaster@isp.example", "address": "192.0.2.10"}


@pytest.fixture
async def configured(isp):
    async with isp.unit() as conn:
        await targets.add_target(conn, "unix", "unix", {"kinds": ["radius_login"]})
        await targets.add_target(conn, "radius", "radius_users", folder="freeradius")
        await targets.add_target(conn, "mail", "sendmail")
        await targets.add_target(conn, "dns", "bind", ZONE)
    return isp


def unix_name(login: str) -> str:
    return login.replace("@", ".")


TARGETS = {"unix": ("unix", "unix"), "radius": ("radius_users", "freeradius"), "mail": ("sendmail", "mail")}
TARGETS["dns"] = ("bind", "dns")


def read(isp, root, target: str, options=None):
    """What the target's folder holds, read back by its format."""
    format_name, folder = TARGETS[target]
    return FORMATS[format_name].read(files.current(root / folder), options_from(format_name, options or {}))


async def test_every_target_holds_the_active_and_suspended_accounts_only(configured, tmp_path):
    isp = configured
    async with isp.unit() as conn:
        results = await export.export_all(conn, isp.box, tmp_path)
    assert [r.target for r in results] == ["dns", "mail", "radius", "unix"]
    alice, dave = f"alice@{isp.realm}", f"dave@{isp.realm}"
    unix = read(isp, tmp_path, "unix", {"kinds": ["radius_login"]})
    assert sorted(unix) == sorted([unix_name(alice), unix_name(dave)]), "erin is cancelled, frank pending"
    assert unix[unix_name(alice)].attributes["uid"] == str(10_000 + isp.ids[alice])
    assert unix[unix_name(alice)].attributes["locked"] == "no"
    assert unix[unix_name(dave)].attributes["locked"] == "yes"
    shadow = {
        line.split(":")[0]: line.split(":")[1] for line in (tmp_path / "unix" / "shadow").read_text().splitlines()
    }
    salt = shadow[unix_name(alice)].split("$")[2]
    assert shadow[unix_name(alice)] == sha512_crypt(PASSWORD, salt), "the shadow hash verifies the password"
    assert shadow[unix_name(dave)].startswith("!$6$")
    gecos = _gecos(tmp_path, unix_name(dave))  # the customer is "Dave: Jones"
    assert "Dave" in gecos and "Jones" in gecos and ":" not in gecos
    radius = read(isp, tmp_path, "radius")
    assert sorted(radius) == sorted([alice, dave])
    assert "Auth-Type := Reject" in _entry(tmp_path / "freeradius" / "users", dave)
    assert "Auth-Type" not in _entry(tmp_path / "freeradius" / "users", alice)
    assert sorted(read(isp, tmp_path, "mail")) == sorted([alice, isp.realm, f"alice-shop-{isp.tenant.id}.example"])
    assert sorted(p.name for p in (tmp_path / "dns").iterdir()) == [f"db.alice-shop-{isp.tenant.id}.example"]


def _gecos(root, name: str) -> str:
    for line in (root / "unix" / "passwd").read_text().splitlines():
        if line.startswith(name + ":"):
            return line.split(":")[4]
    raise AssertionError(f"{name} not in passwd")


def _entry(path, login: str) -> str:
    text = path.read_text()
    start = text.index(f'"{login}"')
    end = text.find('\n"', start + 1)
    return text[start : end if end != -1 else len(text)]


async def test_a_second_export_changes_nothing_and_a_suspension_changes_the_files_keeping_the_old(configured, tmp_path):
    isp = configured
    async with isp.unit() as conn:
        await export.export_all(conn, isp.box, tmp_path)
    shadow_before = (tmp_path / "unix" / "shadow").read_text()
    async with isp.unit() as conn:
        again = await export.export_all(conn, isp.box, tmp_path)
    assert all(r.changed == () and r.removed == () and r.outcome == "unchanged" for r in again)
    alice = f"alice@{isp.realm}"
    async with isp.unit() as conn:
        await change_service_state(conn, isp.ids[alice], "suspended")
        (unix,) = [await export.export_target(conn, isp.box, tmp_path, "unix")]
        (radius,) = [await export.export_target(conn, isp.box, tmp_path, "radius")]
    assert unix.changed == ("shadow",), "passwd has no lock: only shadow changes"
    assert radius.changed == ("users",)
    assert (tmp_path / "unix" / "shadow.prev").read_text() == shadow_before
    assert f"{unix_name(alice)}:!$6$" in (tmp_path / "unix" / "shadow").read_text()
    async with isp.unit() as conn:
        outcomes = (await conn.execute(select(export_runs.c.outcome).order_by(export_runs.c.id))).scalars().all()
    assert outcomes.count("written") == 4 + 2 and outcomes.count("unchanged") == 4


async def test_a_cancelled_domain_loses_its_zone_and_a_changed_zone_gets_a_higher_serial(configured, tmp_path):
    isp = configured
    domain = f"alice-shop-{isp.tenant.id}.example"
    zone = tmp_path / "dns" / f"db.{domain}"
    async with isp.unit() as conn:
        await export.export_target(conn, isp.box, tmp_path, "dns")
        first = read(isp, tmp_path, "dns", ZONE)[domain].attributes["serial"]
        await change_service_state(conn, isp.ids[f"domain:{domain}"], "suspended")
        await export.export_target(conn, isp.box, tmp_path, "dns")
        second = read(isp, tmp_path, "dns", ZONE)[domain].attributes["serial"]
        assert int(second) > int(first)
        await change_service_state(conn, isp.ids[f"domain:{domain}"], "cancelled")
        done = await export.export_target(conn, isp.box, tmp_path, "dns")
    assert done.removed == (zone.name,) and not zone.exists() and zone.with_name(zone.name + ".prev").exists()


async def test_a_dry_run_shows_the_diff_and_writes_nothing(configured, tmp_path):
    isp = configured
    async with isp.unit() as conn:
        await export.export_target(conn, isp.box, tmp_path, "radius")
        before = (tmp_path / "freeradius" / "users").read_text()
        await change_service_state(conn, isp.ids[f"dave@{isp.realm}"], "cancelled")
        dry = await export.export_target(conn, isp.box, tmp_path, "radius", dry_run=True)
        runs = (await conn.execute(select(export_runs.c.id))).all()
    assert dry.diff is not None and f'-"dave@{isp.realm}"' in dry.diff
    assert (tmp_path / "freeradius" / "users").read_text() == before
    assert len(runs) == 1, "a dry run is not recorded as a run"


async def test_a_password_set_before_hashes_were_kept_is_hashed_at_the_next_export(configured, tmp_path):
    isp = configured
    alice = f"alice@{isp.realm}"
    async with isp.unit() as conn:
        await conn.execute(update(services).where(services.c.id == isp.ids[alice]).values(password_crypt=None))
        await export.export_target(conn, isp.box, tmp_path, "radius")
        stored = (await conn.execute(select(services.c.password_crypt).where(services.c.id == isp.ids[alice]))).scalar()
    assert stored is not None and stored == sha512_crypt(PASSWORD, stored.split("$")[2])
    assert stored in (tmp_path / "freeradius" / "users").read_text()


@pytest.mark.parametrize(
    ("name", "format_name", "options", "folder", "message"),
    [
        ("x", "ldif", {}, None, "unknown export format 'ldif'; known: bind, bsd"),
        ("x", "unix", {"gid": "staff"}, None, "options for format 'unix'"),
        ("x", "unix", {"colour": 1}, None, "colour"),
        ("x", "unix", {}, "../etc", "target folder '../etc' must be a relative path"),
        ("x", "unix", {}, "/etc", "target folder '/etc' must be a relative path"),
        ("X Y", "unix", {}, None, "target name 'X Y' must be"),
        ("x", "bind", {}, None, "options for format 'bind'"),
    ],
)
async def test_a_target_that_cannot_work_is_refused_when_configured(isp, name, format_name, options, folder, message):
    async with isp.unit() as conn:
        with pytest.raises(targets.TargetError, match=_escaped(message)):
            await targets.add_target(conn, name, format_name, options, folder=folder)
        assert await targets.list_targets(conn) == []


def _escaped(text: str) -> str:
    return re.escape(text)


async def test_two_targets_cannot_share_a_name_or_a_folder(isp):
    async with isp.unit() as conn:
        await targets.add_target(conn, "unix", "unix")
        with pytest.raises(targets.TargetError, match="a target named 'unix' already exists"):
            await targets.add_target(conn, "unix", "bsd")
        with pytest.raises(targets.TargetError, match="a target writing to folder 'unix' already exists"):
            await targets.add_target(conn, "bsd", "bsd", folder="unix")
        assert [t.format for t in await targets.list_targets(conn)] == ["unix"]
