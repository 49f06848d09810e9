"""`check_ledger` recomputes the ledger from its postings and finds tampering.

The attacker here has database access: `SET LOCAL session_replication_role = replica`
turns the append-only triggers off for one transaction, as a superuser could.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import insert, select, text, update
from sqlalchemy.exc import DBAPIError

from bureau.platform.ledger.chart import EntityKind, template_for
from bureau.platform.ledger.check import check_ledger
from bureau.platform.ledger.errors import InvalidEntry
from bureau.platform.ledger.rules import NewEntry, credit, debit
from bureau.platform.ledger.tables import account_balances, journal_entries, postings

DOLLAR = 1_000_000


async def check(books):
    async with books.unit() as conn:
        return await check_ledger(conn)


async def tamper(books, *statements) -> None:
    async with books.unit() as conn:
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
        for statement in statements:
            await conn.execute(statement)


async def small_ledger(books):
    """A subscriber funded with 5.00 who used 2.00; returns the usage entry id and accounts."""
    tom = await books.subscriber("tom")
    await books.fund(tom, 5 * DOLLAR)
    main = await books.account(tom.id, "1000")
    revenue = await books.account((await books.isp()).id, "4000")
    used = await books.post(
        NewEntry(
            f"use-{uuid.uuid4().hex}",
            "usage",
            (debit(main.id, 2 * DOLLAR, "USD"), credit(revenue.id, 2 * DOLLAR, "USD")),
        )
    )
    return used.id, main, revenue


async def test_a_sound_ledger_checks_clean(books) -> None:
    await small_ledger(books)
    report = await check(books)
    assert report.ok, report.problems
    assert report.entries == 2
    assert report.accounts == len(template_for(EntityKind.ISP)) + len(template_for(EntityKind.SUBSCRIBER))


async def test_the_append_only_trigger_is_what_the_attacker_must_disable(books) -> None:
    entry_id, _, _ = await small_ledger(books)

    with pytest.raises(DBAPIError, match=r"append-only"):
        async with books.unit() as conn:
            await conn.execute(update(postings).where(postings.c.entry_id == entry_id).values(amount=postings.c.amount))


async def test_a_tampered_posting_amount_is_caught(books, assert_ledger_sound) -> None:
    entry_id, main, _ = await small_ledger(books)
    target = (postings.c.entry_id == entry_id) & (postings.c.account_id == main.id)
    await tamper(books, update(postings).where(target).values(amount=postings.c.amount - 1))
    report = await check(books)
    assert not report.ok
    joined = "\n".join(report.problems)
    assert f"entry {entry_id} does not balance: {{'USD': -1}}" in joined
    assert f"entry {entry_id} (" in joined and "does not match its content hash" in joined
    assert (
        f"account {main.id} (1000 of entity {main.entity_id}) has balance 3000000, its postings sum to 3000001"
        in joined
    )
    assert len(report.problems) == 3
    await tamper(books, update(postings).where(target).values(amount=postings.c.amount + 1))
    await assert_ledger_sound(books.tenant)


async def test_a_tampered_balance_is_caught(books, assert_ledger_sound) -> None:
    _, main, revenue = await small_ledger(books)
    await tamper(
        books,
        update(account_balances)
        .where(account_balances.c.account_id == main.id)
        .values(balance=account_balances.c.balance + 100 * DOLLAR),
    )
    report = await check(books)
    assert report.problems == [
        f"account {main.id} (1000 of entity {main.entity_id}) has balance 103000000, its postings sum to 3000000"
    ]
    # A hot account's balance is the sum of its shards: a shard moved alone is caught too.
    await tamper(
        books,
        update(account_balances)
        .where(account_balances.c.account_id == main.id)
        .values(balance=account_balances.c.balance - 100 * DOLLAR),
        update(account_balances)
        .where(account_balances.c.account_id == revenue.id, account_balances.c.shard == 0)
        .values(balance=account_balances.c.balance + 1),
    )
    report = await check(books)
    assert len(report.problems) == 1 and f"account {revenue.id} (4000" in report.problems[0]
    await tamper(
        books,
        update(account_balances)
        .where(account_balances.c.account_id == revenue.id, account_balances.c.shard == 0)
        .values(balance=account_balances.c.balance - 1),
    )
    await assert_ledger_sound(books.tenant)


async def test_a_consistent_rewrite_of_an_entry_and_its_balances_is_caught_by_the_content_hash(
    books, assert_ledger_sound
) -> None:
    """The attacker moves 1.00 of usage back to the subscriber and keeps everything balanced."""
    entry_id, main, revenue = await small_ledger(books)
    await tamper(
        books,
        update(postings).where(postings.c.entry_id == entry_id, postings.c.account_id == main.id).values(amount=DOLLAR),
        update(postings)
        .where(postings.c.entry_id == entry_id, postings.c.account_id == revenue.id)
        .values(amount=-DOLLAR),
        update(account_balances)
        .where(account_balances.c.account_id == main.id)
        .values(balance=account_balances.c.balance + DOLLAR),
        # revenue is a hot account: only the shard that holds the 2.00 is touched
        update(account_balances)
        .where(account_balances.c.account_id == revenue.id, account_balances.c.balance != 0)
        .values(balance=account_balances.c.balance - DOLLAR),
    )
    report = await check(books)
    assert len(report.problems) == 1
    assert f"entry {entry_id} (" in report.problems[0] and "does not match its content hash" in report.problems[0]


async def test_a_posting_moved_to_another_unit_is_caught(books) -> None:
    entry_id, main, revenue = await small_ledger(books)
    await tamper(books, update(postings).where(postings.c.entry_id == entry_id).values(unit="EUR"))
    joined = "\n".join((await check(books)).problems)
    assert f"but account {main.id} holds USD" in joined
    assert f"but account {revenue.id} holds USD" in joined
    assert "is in EUR" in joined and "does not match its content hash" in joined


async def test_an_entry_without_postings_is_caught(books) -> None:
    await small_ledger(books)
    async with books.unit() as conn:
        orphan = (
            await conn.execute(
                insert(journal_entries)
                .values(idempotency_key="orphan", description="no legs", content_hash=b"\0" * 32)
                .returning(journal_entries.c.id)
            )
        ).scalar_one()
    assert (await check(books)).problems == [f"entry {orphan} has no postings"]


async def test_check_reads_only_the_tenant_it_is_scoped_to(books, make_books) -> None:
    await small_ledger(books)
    other = await make_books("chk")
    _, main, _ = await small_ledger(other)
    await tamper(
        other,
        update(account_balances)
        .where(account_balances.c.account_id == main.id)
        .values(balance=account_balances.c.balance + 1),
    )
    assert (await check(books)).ok
    assert not (await check(other)).ok
    async with other.unit() as conn:
        assert (
            await conn.execute(select(account_balances.c.balance).where(account_balances.c.account_id == main.id))
        ).scalar_one() == 3 * DOLLAR + 1


async def test_an_entry_with_rich_metadata_checks_clean_after_its_round_trip_through_jsonb(
    books, assert_ledger_sound
) -> None:
    uma = await books.subscriber("uma")
    cash = await books.account((await books.isp()).id, "1100")
    main = await books.account(uma.id, "1000")
    metadata = {
        "octets": 2**62,
        "text": 'ünïcode ✓ "quoted"',
        "flags": [True, False, None],
        "nested": {"z": 1, "a": {"rate": "0.000333"}},
        "": "empty key",
    }
    await books.post(
        NewEntry("rich", "top-up", (debit(cash.id, DOLLAR, "USD"), credit(main.id, DOLLAR, "USD")), metadata)
    )
    await assert_ledger_sound(books.tenant)


async def test_an_entry_with_float_metadata_is_refused_before_anything_is_written(books) -> None:
    """JSONB gives 1e16 back as 10000000000000000: the check would call the entry tampered."""
    vic = await books.subscriber("vic")
    cash = await books.account((await books.isp()).id, "1100")
    main = await books.account(vic.id, "1000")
    before = await books.counts()
    with pytest.raises(InvalidEntry, match=r"metadata\.rate is a float"):
        await books.post(NewEntry("float", "x", (debit(cash.id, 5, "USD"), credit(main.id, 5, "USD")), {"rate": 1e16}))
    assert await books.counts() == before


async def test_a_balance_below_its_floor_is_caught(books) -> None:
    """The floor constraint is the last guard; an attacker who drops it is still found out."""
    _, main, _ = await small_ledger(books)
    with pytest.raises(_RolledBack):
        async with books.unit() as conn:
            await conn.execute(
                text(f'ALTER TABLE "{books.tenant.schema}".account_balances DROP CONSTRAINT ck_account_balances_floor')
            )
            await conn.execute(
                update(account_balances)
                .where(account_balances.c.account_id == main.id)
                .values(floor=account_balances.c.balance + 1)
            )
            report = await check_ledger(conn)
            assert report.problems == [f"account {main.id} (1000 of entity {main.entity_id}) is below its floor"]
            raise _RolledBack  # leave the tenant's constraint in place
    assert (await check(books)).ok


class _RolledBack(Exception):
    pass
