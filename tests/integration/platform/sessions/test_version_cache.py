"""The plan version of a session's instant, from the versions the process has loaded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bureau.platform.catalog import versions
from bureau.platform.catalog.components import PriceComponent
from bureau.platform.rating.tariff import HOUR, UsageRate
from bureau.platform.rating.usage import Meter
from bureau.platform.sessions import control

from .conftest import FROM


def _hourly(micros: int) -> tuple[PriceComponent, ...]:
    return (PriceComponent.usage(UsageRate.flat(Meter.SECONDS, HOUR, micros)),)


async def test_sessions_of_different_instants_share_a_load_until_a_new_version_could_apply(network) -> None:
    now = datetime.now(UTC)
    async with network.unit() as conn:
        first = await control.version_at(conn, "hourly", now - timedelta(hours=2))
        assert first.version == 1 and first.effective_to is None
        # Another instant the first load covers: the same object, no query.
        assert await control.version_at(conn, "hourly", now - timedelta(minutes=5)) is first
        await versions.add_plan_version(
            conn, "hourly", effective_from=now + timedelta(minutes=1), components=_hourly(2)
        )
    async with network.unit() as conn:
        # Before the new version starts: still version 1, still from the first load.
        assert await control.version_at(conn, "hourly", now - timedelta(minutes=1)) is first
        # An instant after the first load is not covered by it: loaded, and it is version 2.
        later = await control.version_at(conn, "hourly", now + timedelta(minutes=2))
        assert later.version == 2
        # Version 1 is now known to end where version 2 starts; both are remembered.
        assert (await control.version_at(conn, "hourly", FROM + timedelta(days=1))).version == 1
        # An open-ended version covers instants up to its load only (a later one may follow).
        assert await control.version_at(conn, "hourly", now + timedelta(minutes=3)) is not later
