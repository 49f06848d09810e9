"""A FreeRADIUS SQL export target of a tenant: exported from billing and reconciled."""

from __future__ import annotations

from bureau.platform.provisioning import export, reconcile, targets
from bureau.platform.provisioning.reconcile import Finding
from bureau.platform.subscribers.services import change_service_state


async def test_a_tenant_s_logins_are_written_to_the_freeradius_tables_and_reconciled(isp, freeradius_db, tmp_path):
    alice, dave = f"alice@{isp.realm}", f"dave@{isp.realm}"
    async with isp.unit() as conn:
        await targets.add_target(conn, "freeradius", "radius_sql", {"url": freeradius_db.url, "timeout_s": 5})
        first = await export.export_target(conn, isp.box, tmp_path, "freeradius")
        again = await export.export_target(conn, isp.box, tmp_path, "freeradius")
    assert first.counts == {"added": 2, "modified": 0, "deleted": 0}, "alice (active) and dave (suspended)"
    assert again.outcome == "unchanged"
    check = sorted((user, attribute) for user, attribute, _, _ in await freeradius_db.rows("radcheck"))
    assert check == sorted([(alice, "Crypt-Password"), (dave, "Crypt-Password"), (dave, "Auth-Type")])

    await freeradius_db.execute(
        "INSERT INTO radcheck (username, attribute, op, value) VALUES ('mallory', 'Cleartext-Password', ':=', 'x')"
    )
    async with isp.unit() as conn:
        (found,) = [r for r in await reconcile.reconcile_all(conn, isp.box, tmp_path) if r.subject == "freeradius"]
        assert [(f.finding, f.key) for f in found.findings] == [(Finding.UNBILLED, "mallory")]
        results = await reconcile.reconcile_all(conn, isp.box, tmp_path, fix=True)
        assert [r.fixed for r in results if r.subject == "freeradius"] == [True]
        await change_service_state(conn, isp.ids[alice], "cancelled")
        gone = await export.export_target(conn, isp.box, tmp_path, "freeradius")
    assert gone.counts == {"added": 0, "modified": 0, "deleted": 1}
    assert {user for user, *_ in await freeradius_db.rows("radcheck")} == {dave}
