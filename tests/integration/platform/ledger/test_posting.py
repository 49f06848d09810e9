"""Posting journal entries: idempotent, balanced, guarded, immutable (real PostgreSQL)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from bureau.platform.audit.tables import audit_log
from bureau.platform.ledger.chart import SESSIONS
from bureau.platform.ledger.errors import (
    CurrencyMismatch,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidEntry,
    UnbalancedEntry,
    UnknownAccount,
)
from bureau.platform.ledger.posting import post_entries, post_entry
from bureau.platform.ledger.rules import MAX_BATCH, NewEntry, NewPosting, credit, debit
from bureau.platform.ledger.tables import account_balances, journal_entries, postings

DOLLAR = 1_000_000


def key(label: str = "e") -> str:
    return f"{label}-{uuid.uuid4().hex}"


async def accounts_of(books, entity_id: int, *codes: str) -> list:
    return [await books.account(entity_id, code) for code in codes]


# --- a posted entry ----------------------------------------------------------------------


async def test_a_posted_entry_moves_each_balance_on_its_normal_side_and_is_audited(books, assert_ledger_sound) -> None:
    alice = await books.subscriber("alice")
    before = await books.counts()
    posted = await books.fund(alice, 10 * DOLLAR, key="topup-1")
    assert posted.replayed is False and posted.idempotency_key == "topup-1"
    isp = await books.isp()
    assert await books.balance(alice.id, "1000") == 10 * DOLLAR  # credit-normal: a credit raises it
    assert await books.balance(isp.id, "1100") == 10 * DOLLAR  # debit-normal: a debit raises it
    after = await books.counts()
    assert (after["entries"], after["postings"], after["audit"]) == (
        before["entries"] + 1,
        before["postings"] + 2,
        before["audit"] + 1,
    )
    async with books.unit() as conn:
        record = (await conn.execute(select(audit_log).where(audit_log.c.subject == f"entry:{posted.id}"))).one()
        legs = (
            await conn.execute(
                select(postings.c.amount, postings.c.unit)
                .where(postings.c.entry_id == posted.id)
                .order_by(postings.c.amount)
            )
        ).all()
    assert (record.action, record.actor, record.details["key"]) == ("journal.post", "test", "topup-1")
    assert [tuple(r) for r in legs] == [(-10 * DOLLAR, "USD"), (10 * DOLLAR, "USD")]
    await assert_ledger_sound(books.tenant)


async def test_an_entry_may_move_money_and_sessions_together(books, assert_ledger_sound) -> None:
    bob = await books.subscriber("bob")
    await books.fund(bob, 5 * DOLLAR)
    main, reserve, sessions = await accounts_of(books, bob.id, "1000", "1010", "8000")
    (total,) = await accounts_of(books, (await books.isp()).id, "8900")
    begin = NewEntry(
        key("begin"),
        "session begins",
        (
            debit(main.id, 2 * DOLLAR, "USD"),
            credit(reserve.id, 2 * DOLLAR, "USD"),
            debit(sessions.id, 1, SESSIONS),
            credit(total.id, 1, SESSIONS),
        ),
    )
    await books.post(begin)
    assert await books.balance(bob.id, "8000") == 1
    assert await books.balance((await books.isp()).id, "8900") == 1
    assert await books.balance(bob.id, "1010") == 2 * DOLLAR
    # Uncounting a session that is not counted would take 8000 below zero.
    end_twice = NewEntry(key("end"), "session ends", (credit(sessions.id, 2, SESSIONS), debit(total.id, 2, SESSIONS)))
    with pytest.raises(InsufficientFunds) as refused:
        await books.post(end_twice)
    assert refused.value.account_ids == (sessions.id,)
    await assert_ledger_sound(books.tenant)


async def test_a_hot_account_spreads_entries_over_shards_and_its_balance_is_their_sum(
    books, assert_ledger_sound
) -> None:
    carol = await books.subscriber("carol")
    await books.fund(carol, 20 * DOLLAR)
    isp = await books.isp()
    main = await books.account(carol.id, "1000")
    revenue = await books.account(isp.id, "4000")
    for i in range(20):
        await books.post(
            NewEntry(key(f"use{i}"), "usage", (debit(main.id, DOLLAR, "USD"), credit(revenue.id, DOLLAR, "USD")))
        )
    assert await books.balance(isp.id, "4000") == 20 * DOLLAR
    async with books.unit() as conn:
        shards = (
            await conn.execute(
                select(account_balances.c.shard, account_balances.c.balance).where(
                    account_balances.c.account_id == revenue.id
                )
            )
        ).all()
    assert len(shards) == 16
    assert sum(1 for s in shards if s.balance) > 1
    assert sum(s.balance for s in shards) == 20 * DOLLAR
    await assert_ledger_sound(books.tenant)


# --- idempotency ------------------------------------------------------------------------


async def test_replaying_a_key_returns_the_same_entry_and_writes_nothing(books, assert_ledger_sound) -> None:
    dave = await books.subscriber("dave")
    first = await books.fund(dave, 3 * DOLLAR, key="topup-dave")
    before = await books.counts()
    again = await books.fund(dave, 3 * DOLLAR, key="topup-dave")
    assert again.id == first.id
    assert again.replayed is True
    assert await books.counts() == before
    assert await books.balance(dave.id, "1000") == 3 * DOLLAR
    await assert_ledger_sound(books.tenant)


async def test_a_replay_with_postings_in_another_order_is_still_a_replay(books, assert_ledger_sound) -> None:
    erin = await books.subscriber("erin")
    (cash,) = await accounts_of(books, (await books.isp()).id, "1100")
    (main,) = await accounts_of(books, erin.id, "1000")
    legs = (debit(cash.id, DOLLAR, "USD"), credit(main.id, DOLLAR, "USD"))
    first = await books.post(NewEntry("k", "top-up", legs, {"channel": "card", "ref": 7}))
    before = await books.counts()
    again = await books.post(NewEntry("k", "top-up", legs[::-1], {"ref": 7, "channel": "card"}))
    assert (again.id, again.replayed) == (first.id, True)
    assert await books.counts() == before
    await assert_ledger_sound(books.tenant)


@pytest.mark.parametrize("change", ["amount", "description", "metadata", "account"])
async def test_the_same_key_with_different_content_is_a_conflict_and_writes_nothing(
    books, assert_ledger_sound, change: str
) -> None:
    frank = await books.subscriber("frank")
    first = await books.fund(frank, 4 * DOLLAR, key="topup-frank")
    (cash,) = await accounts_of(books, (await books.isp()).id, "1100")
    main, deposit = await accounts_of(books, frank.id, "1000", "1020")
    amount, description, metadata, target = 4 * DOLLAR, "card top-up for frank", {}, main.id
    if change == "amount":
        amount = 5 * DOLLAR
    elif change == "description":
        description = "something else"
    elif change == "metadata":
        metadata = {"note": "x"}
    else:
        target = deposit.id
    before = await books.counts()
    with pytest.raises(
        IdempotencyConflict,
        match=rf"idempotency key 'topup-frank' was already used for entry {first.id} with different",
    ):
        await books.post(
            NewEntry(
                "topup-frank", description, (debit(cash.id, amount, "USD"), credit(target, amount, "USD")), metadata
            )
        )
    assert await books.counts() == before
    await assert_ledger_sound(books.tenant)


async def test_concurrent_posts_of_one_key_post_it_once(books, assert_ledger_sound) -> None:
    gina = await books.subscriber("gina")
    (cash,) = await accounts_of(books, (await books.isp()).id, "1100")
    (main,) = await accounts_of(books, gina.id, "1000")
    entry = NewEntry("payment-42", "card payment", (debit(cash.id, DOLLAR, "USD"), credit(main.id, DOLLAR, "USD")))
    results = await asyncio.gather(*(books.post(entry) for _ in range(12)))
    assert len({r.id for r in results}) == 1
    assert sorted(r.replayed for r in results) == [False] + [True] * 11
    assert await books.balance(gina.id, "1000") == DOLLAR
    await assert_ledger_sound(books.tenant)


# --- refusals ---------------------------------------------------------------------------


async def test_an_unbalanced_entry_is_refused_and_nothing_is_written(books, assert_ledger_sound) -> None:
    hank = await books.subscriber("hank")
    (cash,) = await accounts_of(books, (await books.isp()).id, "1100")
    (main,) = await accounts_of(books, hank.id, "1000")
    before = await books.counts()
    with pytest.raises(UnbalancedEntry, match=r"entry 'bad' does not balance: USD off by \+1 \(debits minus credits\)"):
        await books.post(NewEntry("bad", "x", (debit(cash.id, DOLLAR + 1, "USD"), credit(main.id, DOLLAR, "USD"))))
    assert await books.counts() == before
    await assert_ledger_sound(books.tenant)


async def test_a_posting_in_another_unit_than_its_account_is_refused(books, assert_ledger_sound) -> None:
    ivy = await books.subscriber("ivy")
    main, sessions = await accounts_of(books, ivy.id, "1000", "8000")
    (cash,) = await accounts_of(books, (await books.isp()).id, "1100")
    before = await books.counts()
    with pytest.raises(CurrencyMismatch, match=rf"account {sessions.id} holds SESSIONS, the posting is in USD"):
        await books.post(NewEntry("mix", "x", (debit(sessions.id, 5, "USD"), credit(main.id, 5, "USD"))))
    with pytest.raises(CurrencyMismatch, match=rf"account {cash.id} holds USD, the posting is in EUR"):
        await books.post(NewEntry("eur", "x", (debit(cash.id, 5, "EUR"), credit(main.id, 5, "EUR"))))
    assert await books.counts() == before
    await assert_ledger_sound(books.tenant)


async def test_a_posting_to_an_unknown_account_is_refused_naming_it(books, assert_ledger_sound) -> None:
    jack = await books.subscriber("jack")
    (main,) = await accounts_of(books, jack.id, "1000")
    before = await books.counts()
    with pytest.raises(UnknownAccount, match=r"no account with id 999998, 999999 in this tenant"):
        await books.post(
            NewEntry("ghost", "x", (debit(999_999, 5, "USD"), debit(999_998, 5, "USD"), credit(main.id, 10, "USD")))
        )
    assert await books.counts() == before
    await assert_ledger_sound(books.tenant)


async def test_an_overdraft_is_refused_naming_the_account_and_nothing_is_written(books, assert_ledger_sound) -> None:
    kate = await books.subscriber("kate")
    await books.fund(kate, DOLLAR)
    main, reserve = await accounts_of(books, kate.id, "1000", "1010")
    before = await books.counts()
    with pytest.raises(InsufficientFunds, match=rf"account {main.id} would go below its floor") as refused:
        await books.post(
            NewEntry("big", "x", (debit(main.id, DOLLAR + 1, "USD"), credit(reserve.id, DOLLAR + 1, "USD")))
        )
    assert refused.value.account_ids == (main.id,)
    assert await books.counts() == before
    await assert_ledger_sound(books.tenant)


async def test_a_malformed_entry_is_refused_before_anything_is_read_or_written(shared_books) -> None:
    before = await shared_books.counts()
    with pytest.raises(InvalidEntry, match=r"amount must be an integer"):
        await shared_books.post(NewEntry("f", "x", (NewPosting(1, 0.5, "USD"), NewPosting(2, -0.5, "USD"))))  # type: ignore[arg-type]
    assert await shared_books.counts() == before


# --- immutability -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        lambda: update(journal_entries).values(description="rewritten"),
        lambda: delete(journal_entries),
        lambda: update(postings).values(amount=postings.c.amount * 2),
        lambda: delete(postings),
    ],
    ids=["update-entries", "delete-entries", "update-postings", "delete-postings"],
)
async def test_journal_rows_cannot_be_updated_or_deleted(shared_books, assert_ledger_sound, statement) -> None:
    books = shared_books
    await books.fund(await books.subscriber(), DOLLAR)
    before = await books.counts()
    with pytest.raises(
        DBAPIError,
        match=r"on tenant_\w+\.(journal_entries|postings) is not allowed: the table is "
        r"append-only",
    ):
        async with books.unit() as conn:
            await conn.execute(statement())
    assert await books.counts() == before
    await assert_ledger_sound(books.tenant)


@pytest.mark.parametrize("table", ["journal_entries", "postings", "audit_log"])
async def test_journal_and_audit_tables_cannot_be_truncated(shared_books, table: str) -> None:
    books = shared_books
    before = await books.counts()
    with pytest.raises(DBAPIError, match=r"TRUNCATE on .* is not allowed: the table is append-only"):
        async with books.unit() as conn:
            await conn.execute(text(f'TRUNCATE "{books.tenant.schema}".{table} CASCADE'))
    assert await books.counts() == before


# --- batches --------------------------------------------------------------------------------


async def test_a_batch_posts_every_entry_in_order(books, assert_ledger_sound) -> None:
    mia = await books.subscriber("mia")
    (cash,) = await accounts_of(books, (await books.isp()).id, "1100")
    (main,) = await accounts_of(books, mia.id, "1000")
    entries = [
        NewEntry(f"b{i}", f"top-up {i}", (debit(cash.id, DOLLAR, "USD"), credit(main.id, DOLLAR, "USD")))
        for i in range(5)
    ]
    async with books.unit() as conn:
        posted = await post_entries(conn, entries)
    assert [p.idempotency_key for p in posted] == [f"b{i}" for i in range(5)]
    assert len({p.id for p in posted}) == 5 and not any(p.replayed for p in posted)
    assert await books.balance(mia.id, "1000") == 5 * DOLLAR
    # A batch mixing replays with new entries posts only the new ones.
    async with books.unit() as conn:
        again = await post_entries(conn, [*entries[3:], NewEntry("b5", "top-up 5", entries[0].postings)])
    assert [(p.id, p.replayed) for p in again[:2]] == [(posted[3].id, True), (posted[4].id, True)]
    assert again[2].replayed is False
    assert await books.balance(mia.id, "1000") == 6 * DOLLAR
    await assert_ledger_sound(books.tenant)


@pytest.mark.parametrize("failure", ["overdraft", "conflict", "unknown-account", "unbalanced", "duplicate-key"])
async def test_a_batch_is_all_or_nothing(books, assert_ledger_sound, failure: str) -> None:
    nick = await books.subscriber("nick")
    await books.fund(nick, 3 * DOLLAR, key="earlier")
    main, reserve = await accounts_of(books, nick.id, "1000", "1010")

    def move(k: str, micros: int, source: int = main.id) -> NewEntry:
        return NewEntry(k, "reserve", (debit(source, micros, "USD"), credit(reserve.id, micros, "USD")))

    good = [move("r1", DOLLAR), move("r2", DOLLAR)]
    bad, error = {
        "overdraft": (move("r3", 2 * DOLLAR), InsufficientFunds),  # 1 + 1 + 2 > 3
        "conflict": (NewEntry("earlier", "not the top-up", move("x", DOLLAR).postings), IdempotencyConflict),
        "unknown-account": (move("r3", DOLLAR, source=10**9), UnknownAccount),
        "unbalanced": (NewEntry("r3", "x", (debit(main.id, 2, "USD"), credit(reserve.id, 1, "USD"))), UnbalancedEntry),
        "duplicate-key": (move("r1", DOLLAR), InvalidEntry),
    }[failure]
    before = await books.counts()
    with pytest.raises(error):
        async with books.unit() as conn:
            await post_entries(conn, [*good, bad])
    assert await books.counts() == before
    assert await books.balance(nick.id, "1000") == 3 * DOLLAR
    # The good entries were not taken: posting them now is not a replay.
    assert all(not p.replayed for p in [await books.post(e) for e in good])
    await assert_ledger_sound(books.tenant)


@pytest.mark.parametrize("size", [0, MAX_BATCH + 1])
async def test_a_batch_must_hold_one_to_max_batch_entries(shared_books, size: int) -> None:
    books = shared_books
    entry = NewEntry("k", "x", (debit(1, 1, "USD"), credit(2, 1, "USD")))
    entries = [NewEntry(f"k{i}", "x", entry.postings) for i in range(size)]
    with pytest.raises(InvalidEntry, match=rf"a batch holds 1 to {MAX_BATCH} entries, got {size}"):
        async with books.unit() as conn:
            await post_entries(conn, entries)


# --- concurrency -----------------------------------------------------------------------------


async def test_concurrent_reservations_cannot_overspend_a_prepaid_balance(books, assert_ledger_sound) -> None:
    """50 sessions race to reserve 1.00 each from 10.00: exactly ten get it."""
    olga = await books.subscriber("olga")
    await books.fund(olga, 10 * DOLLAR)
    main, reserve = await accounts_of(books, olga.id, "1000", "1010")
    go = asyncio.Event()

    async def reserve_one(i: int) -> bool:
        await go.wait()
        try:
            async with books.unit() as conn:
                await post_entry(
                    conn,
                    NewEntry(
                        f"reserve-{i}",
                        "session reservation",
                        (debit(main.id, DOLLAR, "USD"), credit(reserve.id, DOLLAR, "USD")),
                    ),
                )
        except InsufficientFunds as exc:
            assert exc.account_ids == (main.id,)
            return False
        return True

    tasks = [asyncio.create_task(reserve_one(i)) for i in range(50)]
    await asyncio.sleep(0)
    go.set()
    results = await asyncio.gather(*tasks)
    assert results.count(True) == 10
    assert results.count(False) == 40
    assert await books.balance(olga.id, "1000") == 0
    assert await books.balance(olga.id, "1010") == 10 * DOLLAR
    counts = await books.counts()
    assert (counts["entries"], counts["postings"]) == (1 + 10, 2 + 20)  # the top-up and ten reservations
    await assert_ledger_sound(books.tenant)


async def test_opposite_transfers_between_two_accounts_run_concurrently_without_deadlock(
    books, assert_ledger_sound
) -> None:
    # Post-paid, so no floor refuses anything: every transfer must go through.
    pam = await books.subscriber("pam", prepaid=False)
    quinn = await books.subscriber("quinn", prepaid=False)
    (a,) = await accounts_of(books, pam.id, "1000")
    (b,) = await accounts_of(books, quinn.id, "1000")
    (revenue,) = await accounts_of(books, (await books.isp()).id, "4000")

    async def transfer(i: int) -> None:
        src, dst = (a, b) if i % 2 else (b, a)
        await books.post(
            NewEntry(
                f"t{i}",
                "transfer",
                (debit(src.id, DOLLAR, "USD"), credit(dst.id, DOLLAR - 1000, "USD"), credit(revenue.id, 1000, "USD")),
            )
        )

    await asyncio.gather(*(transfer(i) for i in range(40)))
    assert await books.balance(pam.id, "1000") == await books.balance(quinn.id, "1000") == -20_000
    await assert_ledger_sound(books.tenant)
