import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bureau.platform.audit.tables import audit_log
from bureau.platform.ledger.chart import EntityKind
from bureau.platform.ledger.tables import journal_entries
from bureau.platform.vouchers import batches, codes
from bureau.platform.vouchers.errors import (
    InvalidRedeemer,
    VoucherAlreadyRedeemed,
    VoucherExpired,
    VoucherNotFound,
    VoucherNotSold,
    VoucherThrottled,
    VoucherVoid,
)
from bureau.platform.vouchers.redeem import ATTEMPT_WINDOW, MAX_FAILED_ATTEMPTS, Redemption, Refused, redeem_voucher
from bureau.platform.vouchers.tables import voucher_attempts, vouchers

from .conftest import DOLLAR, NOW, Shop

WRONG = "ABCD-EFGH-JKLM-NPQR"


async def _redeem(shop: Shop, code: str, entity_id: int, *, now=NOW) -> Redemption | Refused:
    async with shop.unit() as conn:
        return await redeem_voucher(conn, code, entity_id, source="portal", now=now)


async def test_redemption_credits_the_main_balance_and_debits_the_liability(shop: Shop, assert_ledger_sound) -> None:
    batch, issued = await shop.batch(count=2, value=10 * DOLLAR)
    alice = await shop.subscriber()
    result = await _redeem(shop, issued[0].code.lower().replace("-", " "), alice.id)
    assert isinstance(result, Redemption) and not result.replayed
    assert (result.serial, result.value_micros, result.batch_id) == (issued[0].serial, 10 * DOLLAR, batch.id)
    assert await shop.balance(alice.id, "1000") == 10 * DOLLAR
    assert await shop.balance(None, "2200") == 10 * DOLLAR  # 20 sold, 10 redeemed
    async with shop.unit() as conn:
        row = (await conn.execute(select(vouchers).where(vouchers.c.serial == issued[0].serial))).one()
        audit = (await conn.execute(select(audit_log).where(audit_log.c.action == "voucher.redeem"))).one()
    assert (row.state, row.redeemed_by, row.redeemed_at, row.entry_id) == ("redeemed", alice.id, NOW, result.entry_id)
    assert audit.subject == f"voucher:{issued[0].serial}" and audit.details["entity_id"] == alice.id
    assert codes.normalise(issued[0].code) not in str(audit.details).replace("-", "")
    await assert_ledger_sound(shop.tenant)


async def test_redeeming_again_replays_without_posting_twice(shop: Shop, assert_ledger_sound) -> None:
    _, issued = await shop.batch(count=1)
    alice, bob = await shop.subscriber(), await shop.subscriber()
    first = await _redeem(shop, issued[0].code, alice.id)
    again = await _redeem(shop, issued[0].code, alice.id)
    other = await _redeem(shop, issued[0].code, bob.id)
    assert isinstance(first, Redemption) and isinstance(again, Redemption)
    assert again.replayed and again.entry_id == first.entry_id
    assert isinstance(other, Refused) and isinstance(other.error, VoucherAlreadyRedeemed)
    assert await shop.balance(alice.id, "1000") == 10 * DOLLAR
    assert await shop.balance(bob.id, "1000") == 0
    async with shop.unit() as conn:
        assert (await conn.execute(select(func.count()).select_from(journal_entries))).scalar_one() == 2
    await assert_ledger_sound(shop.tenant)


async def test_of_ten_concurrent_redemptions_of_one_code_exactly_one_succeeds(shop: Shop, assert_ledger_sound) -> None:
    _, issued = await shop.batch(count=1)
    people = [await shop.subscriber() for _ in range(10)]
    results = await asyncio.gather(*(_redeem(shop, issued[0].code, person.id) for person in people))
    won = [r for r in results if isinstance(r, Redemption)]
    assert len(won) == 1 and not won[0].replayed
    assert all(isinstance(r, Refused) and isinstance(r.error, VoucherAlreadyRedeemed) for r in results if r not in won)
    balances = [await shop.balance(person.id, "1000") for person in people]
    assert sorted(balances) == [0] * 9 + [10 * DOLLAR]
    assert await shop.balance(None, "2200") == 0
    await assert_ledger_sound(shop.tenant)


async def test_an_unknown_or_malformed_code_is_refused_and_counted(shop: Shop) -> None:
    alice = await shop.subscriber()
    for text in (WRONG, "not a code"):
        result = await _redeem(shop, text, alice.id)
        assert isinstance(result, Refused) and isinstance(result.error, VoucherNotFound)
    async with shop.unit() as conn:
        rows = (await conn.execute(select(voucher_attempts))).all()
    assert [(r.entity_id, r.success, r.source) for r in rows] == [(alice.id, False, "portal")] * 2


async def test_an_unsold_voucher_holds_no_value(shop: Shop, assert_ledger_sound) -> None:
    _, issued = await shop.batch(sold=False)
    alice = await shop.subscriber()
    result = await _redeem(shop, issued[0].code, alice.id)
    assert isinstance(result, Refused) and isinstance(result.error, VoucherNotSold)
    assert await shop.balance(alice.id, "1000") == 0
    await assert_ledger_sound(shop.tenant)


async def test_a_voucher_past_its_expiry_is_refused_even_before_the_expiry_run(shop: Shop, assert_ledger_sound) -> None:
    batch, issued = await shop.batch(days=1)
    alice = await shop.subscriber()
    result = await _redeem(shop, issued[0].code, alice.id, now=batch.expires_at)
    assert isinstance(result, Refused) and isinstance(result.error, VoucherExpired)
    assert "expired on" in str(result.error)
    assert await shop.balance(alice.id, "1000") == 0
    await assert_ledger_sound(shop.tenant)


async def test_a_voucher_of_a_void_batch_is_refused(shop: Shop, assert_ledger_sound) -> None:
    batch, issued = await shop.batch()
    async with shop.unit() as conn:
        await batches.void_batch(conn, batch.id)
    alice = await shop.subscriber()
    result = await _redeem(shop, issued[0].code, alice.id)
    assert isinstance(result, Refused) and isinstance(result.error, VoucherVoid)
    await assert_ledger_sound(shop.tenant)


async def test_five_failures_in_fifteen_minutes_lock_the_account_out_until_the_oldest_ages_out(
    shop: Shop, assert_ledger_sound
) -> None:
    _, issued = await shop.batch(count=1)
    alice, bob = await shop.subscriber(), await shop.subscriber()
    for minute in range(MAX_FAILED_ATTEMPTS):
        result = await _redeem(shop, WRONG, alice.id, now=NOW + timedelta(minutes=minute))
        assert isinstance(result, Refused) and isinstance(result.error, VoucherNotFound)
    late = NOW + timedelta(minutes=10)
    locked = await _redeem(shop, issued[0].code, alice.id, now=late)
    assert isinstance(locked, Refused) and isinstance(locked.error, VoucherThrottled)
    assert locked.error.retry_at == NOW + ATTEMPT_WINDOW
    assert "try again after" in str(locked.error)
    # Someone else is not locked out; and the lockout ends when the oldest failure ages out.
    assert isinstance(await _redeem(shop, WRONG, bob.id, now=late), Refused)
    after = await _redeem(shop, issued[0].code, alice.id, now=NOW + ATTEMPT_WINDOW)
    assert isinstance(after, Redemption)
    assert await shop.balance(alice.id, "1000") == 10 * DOLLAR
    await assert_ledger_sound(shop.tenant)


async def test_concurrent_guesses_by_one_account_cannot_overrun_the_limit(shop: Shop) -> None:
    alice = await shop.subscriber()
    results = await asyncio.gather(*(_redeem(shop, WRONG, alice.id) for _ in range(12)))
    throttled = [r for r in results if isinstance(r, Refused) and isinstance(r.error, VoucherThrottled)]
    assert len(throttled) == 12 - MAX_FAILED_ATTEMPTS


async def test_only_an_active_subscriber_can_redeem(shop: Shop) -> None:
    _, issued = await shop.batch(count=1)
    reseller = await shop.subscriber(EntityKind.RESELLER)
    for entity_id in (reseller.id, 10**12):
        async with shop.unit() as conn:
            with pytest.raises(InvalidRedeemer, match=r"subscriber|does not exist"):
                await redeem_voucher(conn, issued[0].code, entity_id, source="api")
