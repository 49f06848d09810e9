from datetime import timedelta

from sqlalchemy import select

from bureau.platform.vouchers import batches
from bureau.platform.vouchers.redeem import Redemption, redeem_voucher
from bureau.platform.vouchers.tables import vouchers

from .conftest import DOLLAR, NOW, Shop


async def test_expired_unredeemed_value_of_a_sold_batch_becomes_breakage_revenue(
    shop: Shop, assert_ledger_sound
) -> None:
    batch, issued = await shop.batch(count=3, value=10 * DOLLAR, days=1)
    alice = await shop.subscriber()
    async with shop.unit() as conn:
        assert isinstance(await redeem_voucher(conn, issued[0].code, alice.id, source="t", now=NOW), Redemption)
    async with shop.unit() as conn:
        report = await batches.expire_vouchers(conn, batch.expires_at)
    assert (report.batches, report.vouchers, report.breakage_micros, report.more) == (1, 2, 20 * DOLLAR, False)
    assert await shop.balance(None, "2200") == 0
    assert await shop.balance(None, batches.BREAKAGE_REVENUE) == 20 * DOLLAR
    assert await shop.balance(alice.id, "1000") == 10 * DOLLAR
    async with shop.unit() as conn:
        states = dict((await conn.execute(select(vouchers.c.serial, vouchers.c.state))).all())
    assert sorted(states.values()) == ["expired", "expired", "redeemed"]
    await assert_ledger_sound(shop.tenant)


async def test_running_expiry_again_posts_nothing_more(shop: Shop, assert_ledger_sound) -> None:
    batch, _ = await shop.batch(count=2, days=1)
    for _ in range(2):
        async with shop.unit() as conn:
            report = await batches.expire_vouchers(conn, batch.expires_at + timedelta(days=1))
    assert (report.batches, report.vouchers, report.breakage_micros) == (0, 0, 0)
    assert await shop.balance(None, batches.BREAKAGE_REVENUE) == 20 * DOLLAR
    await assert_ledger_sound(shop.tenant)


async def test_batches_not_yet_expired_are_left_alone(shop: Shop, assert_ledger_sound) -> None:
    batch, _ = await shop.batch(count=2, days=2)
    async with shop.unit() as conn:
        report = await batches.expire_vouchers(conn, batch.expires_at - timedelta(seconds=1))
    assert report.vouchers == 0
    assert await shop.balance(None, "2200") == 20 * DOLLAR
    await assert_ledger_sound(shop.tenant)


async def test_an_unsold_batch_expires_without_a_posting(shop: Shop, assert_ledger_sound) -> None:
    batch, _ = await shop.batch(count=2, days=1, sold=False)
    async with shop.unit() as conn:
        report = await batches.expire_vouchers(conn, batch.expires_at)
    assert (report.vouchers, report.breakage_micros) == (2, 0)
    assert await shop.balance(None, batches.BREAKAGE_REVENUE) == 0
    await assert_ledger_sound(shop.tenant)
