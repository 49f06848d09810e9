"""The transactional outbox: a message commits or rolls back with the change that made it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bureau.platform import outbox
from bureau.platform.provisioning.changes import EXPORT_ACTOR
from bureau.platform.subscribers.services import change_service_state, reset_password


async def unsent(isp) -> list[tuple[str, str]]:
    async with isp.unit() as conn:
        rows = await conn.execute(
            select(outbox.outbox.c.actor, outbox.outbox.c.key).where(outbox.outbox.c.sent_at.is_(None))
        )
        return [tuple(row) for row in rows]


async def relay_all(isp) -> list[outbox.Message]:
    async with isp.unit() as conn:
        claimed = await outbox.claim(conn)
        await outbox.mark_sent(conn, claimed)
    return claimed


async def test_a_service_change_queues_one_export_in_its_own_transaction(isp):
    await relay_all(isp)  # what the fixture's changes queued
    alice = isp.ids[f"alice@{isp.realm}"]
    async with isp.unit() as conn:
        await change_service_state(conn, alice, "suspended")
        await reset_password(conn, isp.box, alice, "n3w-Secret!")
        await change_service_state(conn, alice, "active")
    assert await unsent(isp) == [(EXPORT_ACTOR, "")], "three changes coalesce into one unsent message"
    (message,) = await relay_all(isp)
    assert message.actor == EXPORT_ACTOR and message.args == {}
    assert await unsent(isp) == []


async def test_a_rolled_back_change_leaves_no_message(isp):
    await relay_all(isp)
    alice = isp.ids[f"alice@{isp.realm}"]

    class Abandon(Exception):
        pass

    with pytest.raises(Abandon):
        async with isp.unit() as conn:
            await change_service_state(conn, alice, "suspended")
            assert await unsent_in(conn) == 1
            raise Abandon
    assert await unsent(isp) == []


async def unsent_in(conn) -> int:
    return await outbox.pending(conn)


async def test_a_message_claimed_by_one_relay_is_skipped_by_another(isp):
    async with isp.unit() as first:
        claimed = await outbox.claim(first)
        assert [m.actor for m in claimed] == [EXPORT_ACTOR]
        async with isp.unit() as second:
            assert await outbox.claim(second) == []
        await outbox.mark_sent(first, claimed)
    assert await unsent(isp) == []


async def test_arguments_must_be_json(isp):
    async with isp.unit() as conn:
        with pytest.raises(ValueError, match="arguments of export_tenant"):
            await outbox.enqueue(conn, EXPORT_ACTOR, {"when": object()})


async def test_a_customer_s_new_name_queues_an_export_and_a_new_phone_does_not(isp):
    from bureau.platform.subscribers.customers import update_customer

    await relay_all(isp)
    async with isp.unit() as conn:
        await update_customer(conn, "alice", phone="+1 555 0100")
    assert await unsent(isp) == [], "nothing exported shows a phone number"
    async with isp.unit() as conn:
        await update_customer(conn, "alice", name="Alice Jones")
    assert await unsent(isp) == [(EXPORT_ACTOR, "")]
