from sqlalchemy import select

from bureau.platform.vouchers import batches
from bureau.platform.vouchers.redeem import Redemption, redeem_voucher
from bureau.platform.vouchers.tables import vouchers

from .conftest import DOLLAR, NOW, Shop


async def test_voiding_a_sold_batch_refunds_only_its_unredeemed_vouchers(shop: Shop, assert_ledger_sound) -> None:
    batch, issued = await shop.batch(count=3, value=10 * DOLLAR)
    alice = await shop.subscriber()
    async with shop.unit() as conn:
        assert isinstance(await redeem_voucher(conn, issued[0].code, alice.id, source="t", now=NOW), Redemption)
    async with shop.unit() as conn:
        voided = await batches.void_batch(conn, batch.id)
    assert voided.status == "void"
    assert await shop.balance(None, "2200") == 0
    assert await shop.balance(None, "1120") == 10 * DOLLAR  # 30 paid in, 20 refunded
    assert await shop.balance(alice.id, "1000") == 10 * DOLLAR
    async with shop.unit() as conn:
        rows = (await conn.execute(select(vouchers.c.state, vouchers.c.entry_id))).all()
    assert sorted(row.state for row in rows) == ["redeemed", "void", "void"]
    assert all(row.entry_id is not None for row in rows)
    await assert_ledger_sound(shop.tenant)


async def test_voiding_twice_refunds_once(shop: Shop, assert_ledger_sound) -> None:
    batch, _ = await shop.batch(count=2, value=10 * DOLLAR)
    for _ in range(2):
        async with shop.unit() as conn:
            await batches.void_batch(conn, batch.id)
    assert await shop.balance(None, "1120") == 0
    assert await shop.balance(None, "2200") == 0
    await assert_ledger_sound(shop.tenant)


async def test_voiding_an_unsold_batch_posts_nothing(shop: Shop, assert_ledger_sound) -> None:
    batch, _ = await shop.batch(count=2, sold=False)
    async with shop.unit() as conn:
        await batches.void_batch(conn, batch.id)
    assert await shop.balance(None, "1120") == 0
    await assert_ledger_sound(shop.tenant)
