"""Reconciliation finds what a target holds that billing does not, and what it lacks."""

from __future__ import annotations

from sqlalchemy import select

from bureau.platform.provisioning import export, reconcile, targets
from bureau.platform.provisioning.reconcile import Finding
from bureau.platform.provisioning.tables import reconciliations


async def setup_targets(isp, root, *, on_unbilled="remove"):
    async with isp.unit() as conn:
        await targets.add_target(conn, "unix", "unix", {"kinds": ["radius_login"]}, on_unbilled=on_unbilled)
        await targets.add_target(conn, "radius", "radius_users")
        await export.export_all(conn, isp.box, root)


def tamper(root) -> None:
    """An intruder adds a login to passwd and shadow, and alice's lines are lost."""
    for name, extra in (("passwd", "mallory:x:0:0::/root:/bin/sh\n"), ("shadow", "mallory:$6$x$y:::::::\n")):
        path = root / "unix" / name
        lines = [line for line in path.read_text().splitlines(keepends=True) if not line.startswith("alice.")]
        path.write_text("".join(lines) + extra)


async def test_a_clean_target_has_no_findings(isp, tmp_path):
    await setup_targets(isp, tmp_path)
    async with isp.unit() as conn:
        results = await reconcile.reconcile_all(conn, isp.box, tmp_path)
    assert [(r.subject, r.clean) for r in results] == [("radius", True), ("unix", True), ("radius-sessions", True)]


async def test_a_hand_added_account_and_a_missing_one_are_found_and_fixed(isp, tmp_path):
    await setup_targets(isp, tmp_path)
    tamper(tmp_path)
    alice = f"alice.{isp.realm}"
    async with isp.unit() as conn:
        (unix,) = [r for r in await reconcile.reconcile_all(conn, isp.box, tmp_path) if r.subject == "unix"]
    assert {(f.finding, f.key) for f in unix.findings} == {(Finding.MISSING, alice), (Finding.UNBILLED, "mallory")}
    assert not unix.fixed
    assert "mallory" in (tmp_path / "unix" / "passwd").read_text(), "reporting changes nothing"

    async with isp.unit() as conn:
        (fixed,) = [r for r in await reconcile.reconcile_all(conn, isp.box, tmp_path, fix=True) if r.subject == "unix"]
        assert fixed.fixed and len(fixed.findings) == 2
        (after,) = [r for r in await reconcile.reconcile_all(conn, isp.box, tmp_path) if r.subject == "unix"]
        stored = (await conn.execute(select(reconciliations).order_by(reconciliations.c.id))).all()
    assert after.clean
    passwd = (tmp_path / "unix" / "passwd").read_text()
    assert [line.split(":")[0] for line in passwd.splitlines()] == [alice, f"dave.{isp.realm}"]
    unix_runs = [row for row in stored if row.subject == "unix"]
    assert [(r.missing, r.unbilled, r.fixed) for r in unix_runs] == [(1, 1, False), (1, 1, True), (0, 0, False)]
    assert {f["key"] for f in unix_runs[0].findings} == {alice, "mallory"}


async def test_a_flag_policy_reports_an_unbilled_account_and_leaves_the_files(isp, tmp_path):
    await setup_targets(isp, tmp_path, on_unbilled="flag")
    tamper(tmp_path)
    async with isp.unit() as conn:
        (unix,) = [r for r in await reconcile.reconcile_all(conn, isp.box, tmp_path, fix=True) if r.subject == "unix"]
    assert not unix.fixed and unix.note is not None and "flag" in unix.note
    assert "mallory" in (tmp_path / "unix" / "passwd").read_text()


async def test_differing_attributes_are_reported_field_by_field(isp, tmp_path):
    await setup_targets(isp, tmp_path)
    path = tmp_path / "radius" / "users"
    dave = f"dave@{isp.realm}"
    # Someone unlocks dave by hand: the Reject goes.
    path.write_text(path.read_text().replace("Auth-Type := Reject", "Auth-Type := Accept", 1))
    async with isp.unit() as conn:
        (radius,) = [r for r in await reconcile.reconcile_all(conn, isp.box, tmp_path) if r.subject == "radius"]
    (found,) = radius.findings
    assert (found.finding, found.key) == (Finding.DIFFERING, dave)
    assert "billed" in found.detail and "target" in found.detail


def test_compare_is_exact_about_what_differs():
    from bureau.platform.provisioning.formats.base import Held

    should = {"a": Held("a", {"uid": "1"}), "b": Held("b", {"uid": "2"})}
    holds = {"b": Held("b", {"uid": "3"}), "c": Held("c", {"uid": "4"})}
    found = reconcile.compare(should, holds)
    assert [(f.finding, f.key) for f in found] == [
        (Finding.MISSING, "a"),
        (Finding.UNBILLED, "c"),
        (Finding.DIFFERING, "b"),
    ]
    assert found[2].detail == "uid: billed '2', target '3'"


async def test_an_open_session_of_a_suspended_service_is_reported(isp, tmp_path):
    from datetime import UTC, date, datetime

    from sqlalchemy import insert

    from bureau.platform.sessions.tables import radius_sessions
    from bureau.platform.subscribers.tables import services

    dave = f"dave@{isp.realm}"
    async with isp.unit() as conn:
        plan_id = (await conn.execute(select(services.c.plan_id).where(services.c.id == isp.ids[dave]))).scalar_one()
        session_id = (
            await conn.execute(
                insert(radius_sessions)
                .values(
                    service_id=isp.ids[dave],
                    nas_id=1,
                    login=dave,
                    state="open",
                    prepaid=False,
                    plan_id=plan_id,
                    period_start=date(2026, 12, 1),
                    authorized_at=datetime.now(UTC),
                )
                .returning(radius_sessions.c.id)
            )
        ).scalar_one()
        result = await reconcile.reconcile_sessions(conn)
    (found,) = result.findings
    assert (found.finding, found.key, found.detail) == (
        Finding.SESSION_NOT_ACTIVE,
        str(session_id),
        f"{dave} is suspended",
    )
    assert result.note is not None and "bureau session disconnect" in result.note
