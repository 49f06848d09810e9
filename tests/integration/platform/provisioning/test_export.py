"""Exporting a tenant's services to file targets, from billing's current state."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, update

from bureau.platform import outbox
from bureau.platform.crypto.unix_crypt import sha512_crypt
from bureau.platform.provisioning import export, files, jobs, listing, targets
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
    ("name", "format_name", "options", "folder", "message", "field"),
    [
        ("x", "ldif", {}, None, "unknown export format 'ldif'; known: bind, bsd", "format"),
        ("x", "unix", {"gid": "staff"}, None, "options for format 'unix'", "options"),
        ("x", "unix", {"colour": 1}, None, "colour", "options"),
        ("x", "unix", {}, "../etc", "target folder '../etc' must be a relative path", "folder"),
        ("x", "unix", {}, "/etc", "target folder '/etc' must be a relative path", "folder"),
        ("X Y", "ldif", {}, "/etc", "target name 'X Y' must be", "name"),
        ("x", "bind", {}, None, "options for format 'bind'", "options"),
        ("x", "webhook", {"url": "https://hooks.isp.example/b"}, None, "webhook target needs a secret", "secret"),
    ],
)
async def test_a_target_that_cannot_work_is_refused_when_configured_naming_the_value(
    isp, name, format_name, options, folder, message, field
):
    async with isp.unit() as conn:
        with pytest.raises(targets.TargetError, match=_escaped(message)) as refused:
            await targets.add_target(conn, name, format_name, options, folder=folder)
        assert refused.value.field == field
        assert await targets.list_targets(conn) == []


def _escaped(text: str) -> str:
    return re.escape(text)


async def test_two_targets_cannot_share_a_name_or_a_folder(isp):
    async with isp.unit() as conn:
        await targets.add_target(conn, "unix", "unix")
        with pytest.raises(targets.TargetError, match="a target named 'unix' already exists") as name:
            await targets.add_target(conn, "unix", "bsd")
        with pytest.raises(targets.TargetError, match="a target writing to folder 'unix' already exists") as folder:
            await targets.add_target(conn, "bsd", "bsd", folder="unix")
        assert (name.value.field, folder.value.field) == ("name", "folder")
        assert [t.format for t in await targets.list_targets(conn)] == ["unix"]


async def sent_export(isp, target: str | None = None) -> listing.Job:
    """An export job as the workers get it: queued (after the ones before it were sent), then sent."""
    async with isp.unit() as conn:
        await outbox.mark_sent(conn, await outbox.claim(conn))
        job = await jobs.queue_export(conn, target)
        await outbox.mark_sent(conn, await outbox.claim(conn))
    return job


async def job_of(isp, job: listing.Job) -> listing.Job:
    async with isp.unit() as conn:
        (found,) = [j for j in await listing.job_page(conn) if j.id == job.id]
    return found


async def test_an_export_of_one_target_exports_it_alone_and_records_its_job_done_with_it(configured, tmp_path):
    isp = configured
    job = await sent_export(isp, "radius")
    assert (job.target, job.args, job.state) == ("radius", {"target": "radius"}, listing.JobState.PENDING)
    results = await export.export_each(isp.unit, isp.box, tmp_path, only="radius", job=job.id)
    assert [(r.target, type(r)) for r in results] == [("radius", export.Exported)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["freeradius"], "the other targets were not touched"
    done = await job_of(isp, job)
    assert (done.state, done.error) == (listing.JobState.DONE, None)
    assert done.sent_at is not None and done.finished_at is not None and done.finished_at >= done.sent_at

    gone = await sent_export(isp, "unix")
    async with isp.unit() as conn:  # disabled after it was queued: nothing to export
        await targets.set_target_enabled(conn, "unix", False)
    assert await export.export_each(isp.unit, isp.box, tmp_path, only="unix", job=gone.id) == []
    assert (await job_of(isp, gone)).state is listing.JobState.DONE
    assert not (tmp_path / "unix").exists()


async def test_a_job_with_a_failed_target_is_not_done_until_a_run_exports_them_all(configured, tmp_path):
    isp = configured
    job = await sent_export(isp)
    (tmp_path / "mail").write_text("a file where the mail target's folder goes")
    results = await export.export_each(isp.unit, isp.box, tmp_path, job=job.id)
    assert [(r.target, isinstance(r, export.Failed)) for r in results] == [
        ("dns", False),
        ("mail", True),
        ("radius", False),
        ("unix", False),
    ]
    assert (await job_of(isp, job)).state is listing.JobState.SENT, "the last target's export did not make it done"
    async with isp.unit() as conn:  # what the actor does with the failure, in a transaction of its own
        await jobs.record_failure(conn, job.id, "mail: the folder is a file")
    failed = await job_of(isp, job)
    assert (failed.state, failed.error) == (listing.JobState.FAILED, "mail: the folder is a file")
    async with isp.unit() as conn:
        assert [j.id for j in await listing.job_page(conn, state=listing.JobState.FAILED)] == [job.id]
        assert job.id not in [j.id for j in await listing.job_page(conn, state=listing.JobState.SENT)]

    (tmp_path / "mail").unlink()  # a retry of the same message, once the cause is gone
    assert all(
        isinstance(r, export.Exported) for r in await export.export_each(isp.unit, isp.box, tmp_path, job=job.id)
    )
    again = await job_of(isp, job)
    assert (again.state, again.error) == (listing.JobState.DONE, None)
    assert again.finished_at is not None and failed.finished_at is not None and again.finished_at > failed.finished_at


async def test_an_export_is_queued_for_an_enabled_target_only(configured):
    isp = configured
    async with isp.unit() as conn:
        everything = await jobs.queue_export(conn)  # the one adding the targets queued stands for it
        assert await jobs.queue_export(conn, "unix") == everything, "an unsent export of every target stands for one"
        await outbox.mark_sent(conn, await outbox.claim(conn))
        one = await jobs.queue_export(conn, "unix")
        assert (one.id > everything.id, one.target) == (True, "unix")
        assert await jobs.queue_export(conn, "unix") == one
        with pytest.raises(targets.TargetNotFound, match="no export target named 'nope'"):
            await jobs.queue_export(conn, "nope")
        for name in ("dns", "mail", "radius", "unix"):
            await targets.set_target_enabled(conn, name, False)
        with pytest.raises(targets.TargetError, match="target 'unix' is disabled; enable it first") as disabled:
            await jobs.queue_export(conn, "unix")
        with pytest.raises(targets.TargetError, match="no export target is enabled") as none:
            await jobs.queue_export(conn)
    assert (disabled.value.field, none.value.field) == ("target", None)
