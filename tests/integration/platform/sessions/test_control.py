"""Session control on real PostgreSQL: reservations, cumulative charging that never
double-charges, exhaustion, closing, and the ledger invariants after each."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from bureau.platform.billing.tables import usage_records
from bureau.platform.rating.tariff import GIGABYTE
from bureau.platform.sessions.accounting import account
from bureau.platform.sessions.authorize import authorize
from bureau.platform.sessions.control import (
    Report,
    Status,
    close_nas_sessions,
    live_sessions,
    reap,
)
from bureau.platform.sessions.tables import accounting_packets
from bureau.platform.subscribers.services import change_service_state

from .conftest import NAS, Network

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


def report(status: Status, login: str, seconds: int = 0, *, octets: int = 0, ref: int | None = None,
           sid: str = "S1", at: timedelta = timedelta()) -> Report:  # fmt: skip
    return Report(status, sid, login, T0 + at, seconds=seconds, octets_out=octets, session_ref=ref,
                  attributes={"Acct-Session-Id": sid})  # fmt: skip


async def test_prepaid_time_session_reserves_charges_once_and_releases(
    network: Network, assert_ledger_sound: Any
) -> None:
    (service,) = await network.subscriber("alice", "hourly", 10_000_000)
    login = f"alice@{network.realm}"
    async with network.unit() as conn:
        granted = await authorize(conn, service, NAS, now=T0)
    assert (granted.accepted, granted.reserved_micros, granted.session_timeout) == (True, 2_000_000, 6000)
    assert await network.balance("alice", "8000") == 1  # counted at Accept
    steps = [
        report(Status.START, login, ref=granted.session_id),
        report(Status.INTERIM, login, 600, at=timedelta(seconds=600)),
        report(Status.INTERIM, login, 600, at=timedelta(seconds=600)),  # retransmission
        report(Status.INTERIM, login, 300, at=timedelta(seconds=300)),  # late, out of order
        report(Status.STOP, login, 900, at=timedelta(seconds=900)),
        report(Status.INTERIM, login, 1200, at=timedelta(seconds=1200)),  # after Stop
    ]
    charged = []
    for step in steps:
        async with network.unit() as conn:
            charged.append((await account(conn, NAS, step, received_at=step.event_time)).charged_micros)
    assert charged == [0, 200_000, 0, 0, 100_000, 0]
    assert await network.balance("alice", "1000") == 9_700_000
    assert await network.balance("alice", "1010") == 0
    assert await network.balance("alice", "8000") == 0
    assert await network.balance("alice", "9000") == 300_000
    async with network.unit() as conn:
        outcomes = (
            await conn.execute(select(accounting_packets.c.outcome).order_by(accounting_packets.c.id))
        ).scalars()
        assert list(outcomes) == ["started", "updated", "updated", "updated", "stopped", "after_stop"]
    await assert_ledger_sound(network.tenant)


async def test_funds_run_out_the_session_is_marked_for_disconnect_and_never_overdrawn(
    network: Network, assert_ledger_sound: Any
) -> None:
    (service,) = await network.subscriber("carol", "data", 500_000)
    login = f"carol@{network.realm}"
    async with network.unit() as conn:
        granted = await authorize(conn, service, NAS, now=T0)
    assert (granted.reserved_micros, granted.session_timeout) == (500_000, None)
    async with network.unit() as conn:
        await account(conn, NAS, report(Status.START, login, ref=granted.session_id), received_at=T0)
        used = await account(conn, NAS, report(Status.INTERIM, login, 60, octets=GIGABYTE // 10), received_at=T0)
    assert (used.charged_micros, used.disconnect) == (500_000, True)  # 1.00 used, 0.50 there
    async with network.unit() as conn:
        stop = await account(conn, NAS, report(Status.STOP, login, 70, octets=GIGABYTE // 10), received_at=T0)
        (later,) = [s for s in await live_sessions(conn)] or [None]
    assert (stop.outcome, stop.charged_micros, later) == ("stopped", 0, None)
    assert await network.balance("carol", "1000") == 0
    assert await network.balance("carol", "1010") == 0
    async with network.unit() as conn:
        rejected = await authorize(conn, service, NAS, now=T0)
    assert not rejected.accepted and "top up" in (rejected.reason or "")
    await assert_ledger_sound(network.tenant)


async def test_a_session_whose_service_is_suspended_is_disconnected_at_its_next_report(
    network: Network, assert_ledger_sound: Any
) -> None:
    (service,) = await network.subscriber("erin", "hourly", 10_000_000)
    login = f"erin@{network.realm}"
    async with network.unit() as conn:
        granted = await authorize(conn, service, NAS, now=T0)
        started = await account(conn, NAS, report(Status.START, login, ref=granted.session_id), received_at=T0)
    assert started.disconnect is False
    async with network.unit() as conn:
        await change_service_state(conn, service, "suspended")  # dunning or the abuse desk
    async with network.unit() as conn:
        update = await account(conn, NAS, report(Status.INTERIM, login, 600, at=timedelta(seconds=600)),
                               received_at=T0)  # fmt: skip
        (marked,) = await live_sessions(conn)
    assert (update.disconnect, update.charged_micros, marked.disconnect_requested) == (True, 200_000, True)
    async with network.unit() as conn:
        stop = await account(conn, NAS, report(Status.STOP, login, 660, at=timedelta(seconds=660)), received_at=T0)
    assert (stop.outcome, stop.disconnect) == ("stopped", False)
    assert await network.balance("erin", "1010") == 0
    await assert_ledger_sound(network.tenant)


async def test_concurrent_logins_never_reserve_more_than_the_balance(
    network: Network, assert_ledger_sound: Any
) -> None:
    services_ = await network.subscriber("dave", "hourly", 3_000_000, logins=4)

    async def login(service: int) -> Any:
        async with network.unit() as conn:
            return await authorize(conn, service, NAS, now=T0)

    results = await asyncio.gather(*(login(s) for s in services_), return_exceptions=True)
    reserved = sum(r.reserved_micros for r in results if not isinstance(r, BaseException) and r.accepted)
    assert reserved <= 3_000_000
    assert await network.balance("dave", "1000") + await network.balance("dave", "1010") == 3_000_000
    await assert_ledger_sound(network.tenant)


async def test_a_second_session_of_a_service_is_refused(network: Network) -> None:
    (service,) = await network.subscriber("erin", "hourly", 5_000_000)
    async with network.unit() as conn:
        first = await authorize(conn, service, NAS, now=T0)
        second = await authorize(conn, service, NAS, now=T0)
    assert first.accepted and not second.accepted and "at most 1" in (second.reason or "")


async def test_postpaid_usage_is_recorded_once_per_counter_state(network: Network, assert_ledger_sound: Any) -> None:
    (service,) = await network.subscriber("bob", "dsl")
    login = f"bob@{network.realm}"
    for step in (
        report(Status.INTERIM, login, 60, octets=GIGABYTE),  # no Start seen: opens the session
        report(Status.INTERIM, login, 60, octets=GIGABYTE),
        report(Status.STOP, login, 120, octets=3 * GIGABYTE),
    ):
        async with network.unit() as conn:
            result = await account(conn, NAS, step, received_at=step.event_time)
            assert result.charged_micros == 0
    async with network.unit() as conn:
        total = (
            await conn.execute(
                select(func.sum(usage_records.c.octets_out)).where(usage_records.c.service_id == service)
            )
        ).scalar_one()
    assert total == 3 * GIGABYTE
    assert await network.balance("bob", "8000") == 0
    await assert_ledger_sound(network.tenant)


async def test_accounting_on_and_the_reaper_close_sessions_and_release_funds(
    network: Network, assert_ledger_sound: Any
) -> None:
    (one,) = await network.subscriber("fay", "hourly", 4_000_000)
    (two,) = await network.subscriber("gus", "hourly", 4_000_000)
    async with network.unit() as conn:
        first = await authorize(conn, one, NAS, now=T0)
        await account(conn, NAS, report(Status.START, f"fay@{network.realm}", ref=first.session_id), received_at=T0)
        await authorize(conn, two, NAS + 1, now=T0)
    async with network.unit() as conn:
        closed = await close_nas_sessions(conn, NAS, T0 + timedelta(minutes=1), report(Status.ACCOUNTING_ON, ""))
        reaped = await reap(conn, T0 + timedelta(minutes=10), idle=timedelta(minutes=5))
    assert (closed, reaped) == (1, 1)
    assert await network.balance("fay", "1000") == 4_000_000
    assert await network.balance("gus", "1000") == 4_000_000
    assert await network.balance("gus", "8000") == 0
    await assert_ledger_sound(network.tenant)


async def test_prepaid_usage_is_taxed_by_the_customers_locale(network: Network, assert_ledger_sound: Any) -> None:
    from bureau.platform.catalog import taxes
    from bureau.platform.ledger.entities import isp_entity, query_account

    from .conftest import FROM

    async with network.unit() as conn:
        await taxes.create_tax_rate(
            conn, name="Sales tax", locale=taxes.Locale("US"), tax_class="standard", rate_bp=1000,
            inclusive=False, effective_from=FROM,
        )  # fmt: skip
    (service,) = await network.subscriber("tia", "hourly", 10_000_000)
    login = f"tia@{network.realm}"
    async with network.unit() as conn:
        granted = await authorize(conn, service, NAS, now=T0)
    assert granted.session_timeout == 5454  # 2.00 reserved buys 1.818181 before tax: 5454 s at 1.20 an hour
    for step in (
        report(Status.START, login, ref=granted.session_id),
        report(Status.STOP, login, 600, at=timedelta(seconds=600)),
    ):
        async with network.unit() as conn:
            await account(conn, NAS, step, received_at=step.event_time)
    async with network.unit() as conn:
        isp = await isp_entity(conn)
        tax = await query_account(conn, isp.id, "2100")
        revenue = await query_account(conn, isp.id, "4000")
    assert (revenue.balance, tax.balance) == (200_000, 20_000)
    assert await network.balance("tia", "1000") == 10_000_000 - 220_000
    await assert_ledger_sound(network.tenant)
