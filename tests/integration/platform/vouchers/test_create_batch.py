from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bureau.platform.audit.tables import audit_log
from bureau.platform.ledger.chart import EntityKind
from bureau.platform.ledger.tables import journal_entries
from bureau.platform.vouchers import batches, codes
from bureau.platform.vouchers.errors import BatchVoid, InvalidBatch
from bureau.platform.vouchers.tables import vouchers

from .conftest import DOLLAR, NOW, Shop


async def test_codes_are_stored_only_as_digests(shop: Shop) -> None:
    batch, issued = await shop.batch(count=5, sold=False)
    async with shop.unit() as conn:
        rows = (await conn.execute(select(vouchers).where(vouchers.c.batch_id == batch.id))).all()
    assert len(rows) == len(issued) == 5
    stored = b"".join(row.code_hash for row in rows) + "".join(str(tuple(row)) for row in rows).encode()
    for item in issued:
        assert codes.normalise(item.code).encode() not in stored
        assert item.code.encode() not in stored
    assert {row.code_hash for row in rows} == {codes.code_hash(item.code) for item in issued}
    assert {row.serial for row in rows} == {item.serial for item in issued}
    assert {row.state for row in rows} == {"issued"}


async def test_creating_a_batch_posts_nothing_and_selling_it_owes_its_value(shop: Shop, assert_ledger_sound) -> None:
    batch, _ = await shop.batch(count=4, value=5 * DOLLAR, sold=False)
    assert await shop.balance(None, "2200") == 0
    async with shop.unit() as conn:
        sold = await batches.sell_batch(conn, batch.id, now=NOW)
    assert sold.sold_at == NOW and sold.sale_entry_id is not None and sold.count == batch.count == 4
    assert await shop.balance(None, "2200") == 20 * DOLLAR
    assert await shop.balance(None, "1120") == 20 * DOLLAR
    await assert_ledger_sound(shop.tenant)


async def test_selling_a_batch_twice_posts_once(shop: Shop, assert_ledger_sound) -> None:
    batch, _ = await shop.batch(count=2, sold=True)
    async with shop.unit() as conn:
        again = await batches.sell_batch(conn, batch.id, now=NOW)
        entries = (await conn.execute(select(func.count()).select_from(journal_entries))).scalar_one()
    assert again.sale_entry_id == batch.sale_entry_id
    assert entries == 1
    assert await shop.balance(None, "2200") == 20 * DOLLAR
    await assert_ledger_sound(shop.tenant)


async def test_the_batch_creation_audit_record_holds_no_code(shop: Shop) -> None:
    batch, issued = await shop.batch(count=2, sold=False)
    async with shop.unit() as conn:
        rows = (await conn.execute(select(audit_log).where(audit_log.c.subject == f"voucher_batch:{batch.id}"))).all()
    assert [row.action for row in rows] == ["voucher_batch.create"]
    for item in issued:
        assert codes.normalise(item.code) not in str(rows[0].details).replace("-", "")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"count": 0}, "1 to 100000 vouchers"),
        ({"count": batches.MAX_BATCH_COUNT + 1}, "1 to 100000 vouchers"),
        ({"value_micros": 0}, "positive integer"),
        ({"value_micros": 1.5}, "positive integer"),
        ({"name": " "}, "batch name"),
        ({"expires_at": NOW - timedelta(days=1)}, "not in the future"),
        ({"expires_at": NOW.replace(tzinfo=None) + timedelta(days=1)}, "time zone"),
    ],
)
async def test_a_batch_out_of_bounds_is_refused_with_the_reason(shop: Shop, fields: dict, message: str) -> None:
    args = {"name": "Cards", "value_micros": DOLLAR, "count": 1, "expires_at": NOW + timedelta(days=1)} | fields
    async with shop.unit() as conn:
        with pytest.raises(InvalidBatch, match=message):
            await batches.create_batch(conn, now=NOW, **args)


async def test_a_batch_for_a_reseller_must_name_a_reseller(shop: Shop) -> None:
    subscriber = await shop.subscriber()
    reseller = await shop.subscriber(EntityKind.RESELLER)
    async with shop.unit() as conn:
        with pytest.raises(InvalidBatch, match="not a reseller"):
            await batches.create_batch(
                conn,
                name="R",
                value_micros=DOLLAR,
                count=1,
                expires_at=NOW + timedelta(days=1),
                reseller_id=subscriber.id,
                now=NOW,
            )
        batch, _ = await batches.create_batch(
            conn,
            name="R",
            value_micros=DOLLAR,
            count=1,
            expires_at=NOW + timedelta(days=1),
            reseller_id=reseller.id,
            now=NOW,
        )
    assert batch.reseller_id == reseller.id


async def test_a_void_batch_cannot_be_sold(shop: Shop, assert_ledger_sound) -> None:
    batch, _ = await shop.batch(sold=False)
    async with shop.unit() as conn:
        await batches.void_batch(conn, batch.id)
    async with shop.unit() as conn:
        with pytest.raises(BatchVoid, match="voided"):
            await batches.sell_batch(conn, batch.id, now=NOW)
    assert await shop.balance(None, "2200") == 0
    await assert_ledger_sound(shop.tenant)


async def test_a_batch_larger_than_one_insert_keeps_every_voucher_with_a_unique_serial(shop: Shop) -> None:
    count = batches.INSERT_CHUNK + 7
    batch, issued = await shop.batch(count=count, sold=False)
    async with shop.unit() as conn:
        stored = (
            await conn.execute(
                select(func.count(func.distinct(vouchers.c.serial))).where(vouchers.c.batch_id == batch.id)
            )
        ).scalar_one()
    assert stored == count == len({item.code for item in issued})
