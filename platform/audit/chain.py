"""Sealing the audit log into a hash chain, and verifying it.

Writers append records with their own content hash only, so concurrent transactions
never queue on a chain head. Sealing takes the records whose transactions have
finished (their txid is below the oldest running transaction), in id order, and links
each to the previous one: chain_hash = SHA-256(previous chain_hash, seq, row_hash).
The newest link is mirrored in the shared schema (`audit_heads`). Verification then
catches a changed record (its row_hash or a later link no longer matches), a deleted
one (a gap in chain_seq) and deleted newest records (the head is ahead of the log).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.unit import tenant_id_of
from .log import row_hash
from .tables import audit_heads, audit_log

GENESIS = b"\x00" * 32
SEAL_BATCH = 5_000
SEAL_LOCK_CLASS = 0x4155_4449  # "AUDI": first key of the two-key advisory lock
VERIFY_FETCH = 2_000
MAX_PROBLEMS = 100


def link(previous: bytes, seq: int, content: bytes) -> bytes:
    return hashlib.sha256(previous + seq.to_bytes(8, "big") + content).digest()


async def seal(conn: AsyncConnection) -> int:
    """Chain every finished, unsealed record of the tenant; returns how many were sealed."""
    tenant_id = tenant_id_of(conn)
    await conn.execute(select(func.pg_advisory_xact_lock(SEAL_LOCK_CLASS, tenant_id)))
    head = (
        await conn.execute(
            select(audit_heads.c.last_seq, audit_heads.c.last_hash).where(audit_heads.c.tenant_id == tenant_id)
        )
    ).first()
    seq, previous = (head.last_seq, head.last_hash) if head else (0, GENESIS)
    horizon = (await conn.execute(text("SELECT txid_snapshot_xmin(txid_current_snapshot())"))).scalar_one()
    total = 0
    while True:
        rows = (
            await conn.execute(
                select(audit_log.c.id, audit_log.c.row_hash)
                .where(audit_log.c.chain_seq.is_(None), audit_log.c.txid < horizon)
                .order_by(audit_log.c.id)
                .limit(SEAL_BATCH)
            )
        ).all()
        if not rows:
            break
        params = []
        for row in rows:
            seq += 1
            previous = link(previous, seq, row.row_hash)
            params.append({"b_id": row.id, "b_seq": seq, "b_hash": previous})
        await conn.execute(
            update(audit_log)
            .where(audit_log.c.id == bindparam("b_id"))
            .values(chain_seq=bindparam("b_seq"), chain_hash=bindparam("b_hash")),
            params,
        )
        total += len(rows)
        if len(rows) < SEAL_BATCH:
            break
    if total:
        stmt = pg_insert(audit_heads).values(tenant_id=tenant_id, last_seq=seq, last_hash=previous)
        await conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[audit_heads.c.tenant_id],
                set_={"last_seq": seq, "last_hash": previous, "sealed_at": func.now()},
            )
        )
    return total


@dataclass
class AuditReport:
    checked: int = 0
    unsealed: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, message: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(message)


async def verify(conn: AsyncConnection) -> AuditReport:
    """Recompute every record's hash and the chain; report what does not match."""
    tenant_id = tenant_id_of(conn)
    report = AuditReport()
    expected_seq, previous = 1, GENESIS
    result = await conn.stream(
        select(audit_log).order_by(audit_log.c.chain_seq.nulls_last(), audit_log.c.id),
    )
    async for rows in result.partitions(VERIFY_FETCH):
        for row in rows:
            content = row_hash(row.at, row.actor, row.action, row.subject, row.details)
            if content != row.row_hash:
                report.problem(f"audit record {row.id} ({row.action} {row.subject}) was changed")
            if row.chain_seq is None:
                report.unsealed += 1
                continue
            report.checked += 1
            if row.chain_seq != expected_seq:
                report.problem(
                    f"audit chain broken before record {row.id}: expected link {expected_seq}, "
                    f"found {row.chain_seq} (records deleted)"
                )
                expected_seq = row.chain_seq
                previous = row.chain_hash  # resynchronise to report later damage separately
            elif link(previous, row.chain_seq, row.row_hash) != row.chain_hash:
                report.problem(f"audit record {row.id} does not link to the record before it")
                previous = row.chain_hash
            else:
                previous = row.chain_hash
            expected_seq += 1
    head = (
        await conn.execute(
            select(audit_heads.c.last_seq, audit_heads.c.last_hash).where(audit_heads.c.tenant_id == tenant_id)
        )
    ).first()
    last_seq = expected_seq - 1
    if head is None:
        if last_seq:
            report.problem(f"audit chain has {last_seq} sealed records but no recorded head")
    elif head.last_seq != last_seq or head.last_hash != (previous if last_seq else GENESIS):
        report.problem(
            f"audit chain head says {head.last_seq} sealed records, the log ends at {last_seq} "
            "(newest records deleted or changed)"
        )
    return report
