"""Sealing the audit log into a hash chain, and verifying it catches tampering.

The attacker has database access: `SET LOCAL session_replication_role = replica` turns
the append-only triggers off for one transaction, as a superuser could.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.platform.audit import chain
from bureau.platform.audit import log as audit
from bureau.platform.audit.tables import audit_heads, audit_log
from bureau.platform.jsonsafe import NotJsonSafe
from bureau.platform.ledger.chart import EntityKind
from bureau.platform.ledger.entities import create_entity
from bureau.tenants import lifecycle
from bureau.tenants.routing import tenant_unit


@dataclass
class Log:
    engine: AsyncEngine
    tenant: lifecycle.Tenant

    def unit(self):
        return tenant_unit(self.engine, self.tenant.ref, actor="tester")

    async def seal(self) -> int:
        async with self.unit() as conn:
            return await chain.seal(conn)

    async def verify(self) -> chain.AuditReport:
        async with self.unit() as conn:
            return await chain.verify(conn)

    async def ids(self) -> list[int]:
        """Record ids in chain order."""
        async with self.unit() as conn:
            rows = await conn.execute(
                select(audit_log.c.id).order_by(audit_log.c.chain_seq.nulls_last(), audit_log.c.id)
            )
            return [row.id for row in rows]

    async def head(self):
        async with self.engine.connect() as conn:
            return (await conn.execute(select(audit_heads).where(audit_heads.c.tenant_id == self.tenant.id))).first()

    async def tamper(self, *statements) -> None:
        async with self.unit() as conn:
            await conn.execute(text("SET LOCAL session_replication_role = replica"))
            for statement in statements:
                await conn.execute(statement)


@pytest.fixture
async def log(engine: AsyncEngine, make_tenant) -> Log:
    """A tenant whose log holds its creation records and six more."""
    result = Log(engine, await make_tenant("aud"))
    async with result.unit() as conn:
        for i in range(5):
            await create_entity(conn, kind=EntityKind.SUBSCRIBER, code=f"s{i}", name=f"Sub {i}", currency="USD")
        await audit.record(conn, "test.note", "tenant:x", text="ünïcode ✓", nested={"b": [1, 2], "a": None})
    return result


async def test_a_new_tenant_has_no_chain_head_until_its_log_is_sealed(log: Log) -> None:
    assert await log.head() is None
    report = await log.verify()
    assert report.ok and report.checked == 0 and report.unsealed == len(await log.ids())


async def test_sealing_then_verifying_is_clean(log: Log) -> None:
    records = len(await log.ids())
    assert records == 2 + 5 + 1  # tenant.create and the ISP's entity.create, then ours
    assert await log.seal() == records
    report = await log.verify()
    assert report.ok, report.problems
    assert (report.checked, report.unsealed) == (records, 0)
    head = await log.head()
    assert head.last_seq == records
    async with log.unit() as conn:
        last_hash = (
            await conn.execute(select(audit_log.c.chain_hash).where(audit_log.c.chain_seq == records))
        ).scalar_one()
    assert head.last_hash == last_hash


async def test_sealing_again_seals_only_what_is_new_and_extends_the_chain(log: Log) -> None:
    first = await log.seal()
    assert await log.seal() == 0
    async with log.unit() as conn:
        await audit.record(conn, "test.more", "tenant:x", n=1)
        await audit.record(conn, "test.more", "tenant:x", n=2)
    assert (await log.verify()).unsealed == 2
    assert await log.seal() == 2
    report = await log.verify()
    assert report.ok, report.problems
    assert report.checked == first + 2
    assert (await log.head()).last_seq == first + 2


async def test_records_of_a_transaction_still_running_are_not_sealed_until_it_ends(log: Log) -> None:
    sealed_before = await log.seal()
    async with log.unit() as open_conn:
        await audit.record(open_conn, "test.slow", "tenant:x")
        # Sealing now, from another connection, must leave the open transaction's record.
        assert await log.seal() == 0
    assert await log.seal() == 1
    report = await log.verify()
    assert report.ok and report.checked == sealed_before + 1


async def test_an_audit_record_cannot_be_changed_or_deleted_without_disabling_triggers(log: Log) -> None:
    await log.seal()
    victim = (await log.ids())[2]
    with pytest.raises(DBAPIError, match=r"audit records are append-only"):
        async with log.unit() as conn:
            await conn.execute(update(audit_log).where(audit_log.c.id == victim).values(actor="someone else"))
    with pytest.raises(DBAPIError, match=r"DELETE on .*audit_log is not allowed: the table is append-only"):
        async with log.unit() as conn:
            await conn.execute(delete(audit_log).where(audit_log.c.id == victim))
    # Nor can a sealed record be sealed again with another link.
    with pytest.raises(DBAPIError, match=r"only sealing may add a chain link"):
        async with log.unit() as conn:
            await conn.execute(update(audit_log).where(audit_log.c.id == victim).values(chain_hash=b"x" * 32))
    assert (await log.verify()).ok


async def test_verify_catches_a_changed_record(log: Log) -> None:
    await log.seal()
    victim = (await log.ids())[3]
    await log.tamper(update(audit_log).where(audit_log.c.id == victim).values(actor="mallory"))
    report = await log.verify()
    assert len(report.problems) == 1
    assert report.problems[0].startswith(f"audit record {victim} (entity.create entity:")
    assert report.problems[0].endswith("was changed")


async def test_verify_catches_a_changed_record_whose_own_hash_was_recomputed(log: Log) -> None:
    await log.seal()
    victim = (await log.ids())[3]
    async with log.unit() as conn:
        row = (await conn.execute(select(audit_log).where(audit_log.c.id == victim))).one()
    forged = audit.row_hash(row.at, "mallory", row.action, row.subject, row.details)
    await log.tamper(update(audit_log).where(audit_log.c.id == victim).values(actor="mallory", row_hash=forged))
    report = await log.verify()
    assert report.problems == [f"audit record {victim} does not link to the record before it"]


async def test_verify_catches_a_deleted_middle_record(log: Log) -> None:
    await log.seal()
    ids = await log.ids()
    await log.tamper(delete(audit_log).where(audit_log.c.id == ids[4]))
    report = await log.verify()
    assert report.problems == [f"audit chain broken before record {ids[5]}: expected link 5, found 6 (records deleted)"]


async def test_verify_catches_deleted_newest_records_by_the_head(log: Log) -> None:
    await log.seal()
    ids = await log.ids()
    await log.tamper(delete(audit_log).where(audit_log.c.id.in_(ids[-2:])))
    report = await log.verify()
    assert report.problems == [
        f"audit chain head says {len(ids)} sealed records, the log ends at {len(ids) - 2} "
        "(newest records deleted or changed)"
    ]


async def test_verify_catches_a_log_emptied_of_sealed_records(log: Log) -> None:
    await log.seal()
    await log.tamper(delete(audit_log))
    report = await log.verify()
    assert len(report.problems) == 1 and "the log ends at 0" in report.problems[0]


async def test_verify_catches_a_chain_with_no_recorded_head(log: Log) -> None:
    await log.seal()
    async with log.engine.begin() as conn:
        await conn.execute(delete(audit_heads).where(audit_heads.c.tenant_id == log.tenant.id))
    report = await log.verify()
    assert report.problems == [f"audit chain has {len(await log.ids())} sealed records but no recorded head"]


async def test_sealing_and_verifying_one_tenant_leaves_another_alone(log: Log, make_tenant) -> None:
    other = Log(log.engine, await make_tenant("aud"))
    await log.seal()
    assert await other.head() is None
    report = await other.verify()
    assert report.ok and report.checked == 0 and report.unsealed == 2
    async with other.engine.connect() as conn:
        heads = (
            await conn.execute(
                select(func.count())
                .select_from(audit_heads)
                .where(audit_heads.c.tenant_id.in_([log.tenant.id, other.tenant.id]))
            )
        ).scalar_one()
    assert heads == 1


async def test_a_float_in_audit_details_is_refused_before_anything_is_written(log: Log) -> None:
    """JSONB would give 1e16 back as 10000000000000000 and verify would call the record changed."""
    with pytest.raises(NotJsonSafe, match=r"big is a float"):
        async with log.unit() as conn:
            await audit.record(conn, "test.float", "tenant:x", big=1e16)
    await log.seal()
    report = await log.verify()
    assert report.ok, report.problems
