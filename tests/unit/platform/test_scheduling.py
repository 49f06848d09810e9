"""When scheduled jobs are due, in a tenant's time zone (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bureau.platform.scheduling import JOBS, Every, InvalidTimeZone, Job, due_period, time_zone

NIGHTLY = Job("reconcile_tenant", Every.DAY, at=time(3, 0))
MONTH_END = Job("bill_month", Every.MONTH, at=time(2, 0), day=1)
FIVE = Job("reap_sessions", Every.MINUTES, minutes=5)
BERLIN, TOKYO, NEW_YORK = ZoneInfo("Europe/Berlin"), ZoneInfo("Asia/Tokyo"), ZoneInfo("America/New_York")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_a_minutes_job_is_due_once_per_slot():
    assert due_period(FIVE, at("2026-12-02T06:47:13"), BERLIN) == "2026-12-02T07:45"
    assert due_period(FIVE, at("2026-12-02T06:49:59"), BERLIN) == "2026-12-02T07:45"
    assert due_period(FIVE, at("2026-12-02T06:50:00"), BERLIN) == "2026-12-02T07:50"


def test_a_nightly_job_is_due_from_its_local_time_until_the_next_day():
    assert due_period(NIGHTLY, at("2026-12-02T01:59:00"), BERLIN) is None  # 02:59 in Berlin
    assert due_period(NIGHTLY, at("2026-12-02T02:00:00"), BERLIN) == "2026-12-02"  # 03:00 in Berlin
    assert due_period(NIGHTLY, at("2026-12-02T22:59:00"), BERLIN) == "2026-12-02"
    assert due_period(NIGHTLY, at("2026-12-02T23:00:00"), BERLIN) is None  # 00:00 on the 3rd
    # The same instant is another local day in Tokyo and New York.
    assert due_period(NIGHTLY, at("2026-12-02T20:00:00"), TOKYO) == "2026-12-03"  # 05:00 on the 3rd
    assert due_period(NIGHTLY, at("2026-12-02T07:00:00"), NEW_YORK) is None  # 02:00 on the 2nd


def test_a_nightly_job_still_runs_on_the_night_the_clocks_skip_its_hour():
    job = Job("x", Every.DAY, at=time(2, 30))
    # 2026-03-29 in Berlin: 02:00 CET jumps to 03:00 CEST; 02:30 never happens.
    assert due_period(job, at("2026-03-29T00:59:00"), BERLIN) is None  # 01:59 CET
    assert due_period(job, at("2026-03-29T01:00:00"), BERLIN) == "2026-03-29"  # 03:00 CEST


def test_month_end_is_due_from_the_first_at_its_time_for_the_whole_month():
    assert due_period(MONTH_END, at("2026-12-01T00:59:00"), BERLIN) is None  # 01:59 on the 1st
    assert due_period(MONTH_END, at("2026-12-01T01:00:00"), BERLIN) == "2026-12"
    assert due_period(MONTH_END, at("2026-12-31T22:00:00"), BERLIN) == "2026-12"
    assert due_period(MONTH_END, at("2026-11-30T17:00:00"), TOKYO) == "2026-12"  # already 02:00 on the 1st


def test_every_job_has_a_unique_name_and_a_sensible_period():
    assert len({job.name for job in JOBS}) == len(JOBS)
    assert all(60 % job.minutes == 0 for job in JOBS if job.every is Every.MINUTES)


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "../etc/passwd", "x" * 65, "europe/berlin "])
def test_an_unknown_time_zone_is_refused_with_what_to_use(name):
    with pytest.raises(InvalidTimeZone, match="IANA"):
        time_zone(name)


def test_a_naive_instant_is_refused():
    with pytest.raises(ValueError, match="aware"):
        due_period(NIGHTLY, datetime(2026, 12, 2, 3, 0), BERLIN)


def test_the_month_end_job_is_the_actor_the_api_queues() -> None:
    from bureau.platform.billing.run import BILL_MONTH_ACTOR
    from bureau.platform.scheduling import JOBS

    assert [job.every for job in JOBS if job.name == BILL_MONTH_ACTOR] == [Every.MONTH]
