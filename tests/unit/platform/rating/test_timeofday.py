"""Time-of-day bands split a session into seconds per band, across midnight and DST."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bureau.platform.rating.charge import rate_usage
from bureau.platform.rating.errors import InvalidTariff, InvalidUsage
from bureau.platform.rating.tariff import HOUR, UsageRate
from bureau.platform.rating.timeofday import (
    MAX_INTERVAL_S,
    BandChange,
    BandSchedule,
    band_usage,
    split_by_band,
)
from bureau.platform.rating.usage import Meter, Usage

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
PEAK = BandSchedule("Europe/Berlin", (BandChange(time(8), "peak"), BandChange(time(20), "off-peak")))

# UTC instants of DST changes (2024), and zones that are harder than most: Lord Howe moves
# its clocks by 30 minutes; Kolkata never changes.
TRANSITIONS = {
    "Europe/Berlin": [datetime(2024, 3, 31, 1, tzinfo=UTC), datetime(2024, 10, 27, 1, tzinfo=UTC)],
    "America/New_York": [datetime(2024, 3, 10, 7, tzinfo=UTC), datetime(2024, 11, 3, 6, tzinfo=UTC)],
    "Australia/Lord_Howe": [datetime(2024, 4, 6, 15, tzinfo=UTC), datetime(2024, 10, 5, 15, 30, tzinfo=UTC)],
    "Asia/Kolkata": [datetime(2024, 6, 1, tzinfo=UTC)],
}
DAY_S = 86_400


def local(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone)  # type: ignore[misc]


def real_seconds(start: datetime, end: datetime) -> int:
    # Python subtracts two datetimes of the same tzinfo by wall clock; UTC counts real time.
    return (end.astimezone(UTC) - start.astimezone(UTC)) // timedelta(seconds=1)


def test_a_night_session_across_midnight_is_split_into_peak_and_off_peak() -> None:
    seconds = split_by_band(PEAK, local(BERLIN, 2024, 1, 10, 19), local(BERLIN, 2024, 1, 11, 9))
    assert seconds == {"peak": 2 * 3_600, "off-peak": 12 * 3_600}


def test_the_spring_forward_night_has_an_hour_less_of_off_peak() -> None:
    seconds = split_by_band(PEAK, local(BERLIN, 2024, 3, 30, 20), local(BERLIN, 2024, 3, 31, 8))
    assert seconds == {"peak": 0, "off-peak": 11 * 3_600}


def test_the_fall_back_night_has_an_hour_more_of_off_peak() -> None:
    seconds = split_by_band(PEAK, local(BERLIN, 2024, 10, 26, 20), local(BERLIN, 2024, 10, 27, 8))
    assert seconds == {"peak": 0, "off-peak": 13 * 3_600}


def test_a_band_change_inside_the_skipped_hour_takes_effect_when_the_clock_jumps() -> None:
    schedule = BandSchedule("Europe/Berlin", (BandChange(time(0), "a"), BandChange(time(2, 30), "b")))
    # 00:00 to 02:00 CET is 'a'; the clock jumps to 03:00 CEST, which is 'b', until 06:00.
    seconds = split_by_band(schedule, local(BERLIN, 2024, 3, 31, 0), local(BERLIN, 2024, 3, 31, 6))
    assert seconds == {"a": 2 * 3_600, "b": 3 * 3_600}


def test_a_band_change_inside_the_repeated_hour_happens_twice() -> None:
    schedule = BandSchedule("Europe/Berlin", (BandChange(time(0), "a"), BandChange(time(2, 30), "b")))
    # 00:00-02:30 CEST a, 02:30-03:00 CEST b, 02:00-02:30 CET a again, 02:30-06:00 CET b.
    seconds = split_by_band(schedule, local(BERLIN, 2024, 10, 27, 0), local(BERLIN, 2024, 10, 27, 6))
    assert seconds == {"a": 3 * 3_600, "b": 4 * 3_600}


def test_new_york_across_midnight_and_the_spring_change_sums_to_the_real_length() -> None:
    schedule = BandSchedule(
        "America/New_York", (BandChange(time(7), "day"), BandChange(time(19), "evening"), BandChange(time(23), "night"))
    )
    start, end = local(NEW_YORK, 2024, 3, 9, 18, 30), local(NEW_YORK, 2024, 3, 10, 7, 15)
    seconds = split_by_band(schedule, start, end)
    # 18:30-19:00 day, 19:00-23:00 evening, 23:00-07:00 night less the skipped hour, 07:00-07:15 day.
    assert seconds == {"day": 45 * 60, "evening": 4 * 3_600, "night": 7 * 3_600}
    assert sum(seconds.values()) == real_seconds(start, end) == 11 * 3_600 + 45 * 60


def test_start_and_end_may_be_given_in_any_zone() -> None:
    start = datetime(2024, 1, 10, 18, tzinfo=UTC)  # 19:00 in Berlin
    assert split_by_band(PEAK, start, start + timedelta(hours=2)) == {"peak": 3_600, "off-peak": 3_600}


def test_an_empty_interval_has_no_seconds_in_any_band() -> None:
    moment = local(BERLIN, 2024, 1, 10, 12)
    assert split_by_band(PEAK, moment, moment) == {"peak": 0, "off-peak": 0}


def test_band_seconds_are_rated_as_meters_of_their_own() -> None:
    rates = [
        UsageRate.flat(Meter.SECONDS, HOUR, 2_400_000, band="peak"),
        UsageRate.flat(Meter.SECONDS, HOUR, 600_000, band="off-peak"),
    ]
    usage = band_usage(PEAK, local(BERLIN, 2024, 1, 10, 19), local(BERLIN, 2024, 1, 11, 9))
    assert usage == Usage(seconds=14 * 3_600, band_seconds={"peak": 7_200, "off-peak": 43_200})
    assert rate_usage(rates, Usage(), usage).charge_micros == 2 * 2_400_000 + 12 * 600_000


# --- properties -------------------------------------------------------------------------


@st.composite
def schedules(draw: st.DrawFn, zone: str, minute_aligned: bool = True) -> BandSchedule:
    step = 60 if minute_aligned else 1
    count = draw(st.integers(1, 5))
    offsets = sorted(draw(st.sets(st.integers(0, DAY_S // step - 1), min_size=count, max_size=count)))
    names = draw(st.lists(st.sampled_from(["peak", "off-peak", "night"]), min_size=count, max_size=count))
    changes = []
    for offset, name in zip(offsets, names, strict=True):
        second = offset * step
        changes.append(BandChange(time(second // 3_600, second // 60 % 60, second % 60), name))
    return BandSchedule(zone, tuple(changes))


@st.composite
def intervals_near_a_dst_change(draw: st.DrawFn, step: int, max_length_s: int) -> tuple[str, datetime, datetime]:
    zone = draw(st.sampled_from(sorted(TRANSITIONS)))
    transition = draw(st.sampled_from(TRANSITIONS[zone]))
    start = transition + timedelta(seconds=step * draw(st.integers(-2 * DAY_S // step, DAY_S // step)))
    length = step * draw(st.integers(0, max_length_s // step))
    shown_in = ZoneInfo(draw(st.sampled_from([zone, "UTC"])))
    return zone, start.astimezone(shown_in), (start + timedelta(seconds=length)).astimezone(shown_in)


def reference_band(schedule: BandSchedule, wall: datetime) -> str:
    at = wall.time().replace(tzinfo=None, fold=0)
    reached = [change.band for change in schedule.changes if change.at <= at]
    return reached[-1] if reached else schedule.changes[-1].band


@settings(max_examples=60)
@given(st.data())
def test_each_minute_counts_for_the_band_of_its_local_wall_time(data: st.DataObject) -> None:
    zone, start, end = data.draw(intervals_near_a_dst_change(step=60, max_length_s=3 * DAY_S))
    schedule = data.draw(schedules(zone))
    expected = dict.fromkeys(schedule.bands, 0)
    for index in range(real_seconds(start, end) // 60):
        moment = start.astimezone(UTC) + timedelta(minutes=index)
        expected[reference_band(schedule, moment.astimezone(schedule.tz))] += 60
    assert split_by_band(schedule, start, end) == expected


@given(st.data())
def test_band_seconds_always_sum_to_the_length_of_the_interval(data: st.DataObject) -> None:
    zone, start, end = data.draw(intervals_near_a_dst_change(step=1, max_length_s=10 * DAY_S))
    schedule = data.draw(schedules(zone, minute_aligned=False))
    seconds = split_by_band(schedule, start, end)
    assert set(seconds) == set(schedule.bands)
    assert all(value >= 0 for value in seconds.values())
    assert sum(seconds.values()) == real_seconds(start, end)


@given(st.data())
def test_splitting_an_interval_anywhere_splits_its_band_seconds_exactly(data: st.DataObject) -> None:
    zone, start, end = data.draw(intervals_near_a_dst_change(step=1, max_length_s=3 * DAY_S))
    schedule = data.draw(schedules(zone, minute_aligned=False))
    cuts = sorted(data.draw(st.lists(st.integers(0, real_seconds(start, end)), max_size=5)))
    points = [start, *((start.astimezone(UTC) + timedelta(seconds=cut)).astimezone(start.tzinfo) for cut in cuts), end]
    total = dict.fromkeys(schedule.bands, 0)
    for first, last in itertools.pairwise(points):
        for band, value in split_by_band(schedule, first, last).items():
            total[band] += value
    assert total == split_by_band(schedule, start, end)


# --- refusals -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: BandChange("08:00", "peak"), InvalidTariff, r"a time of day such as time\(8, 0\)"),
        (lambda: BandChange(time(8, 0, 0, 5), "peak"), InvalidTariff, r"whole-second wall time"),
        (lambda: BandChange(time(8, tzinfo=UTC), "peak"), InvalidTariff, r"without a time zone"),
        (lambda: BandChange(time(8), ""), InvalidTariff, r"band name must be text"),
        (lambda: BandSchedule("Mars/Olympus", (BandChange(time(8), "p"),)), InvalidTariff, r"unknown time zone"),
        (lambda: BandSchedule(1.0, (BandChange(time(8), "p"),)), InvalidTariff, r"IANA time zone name"),
        (lambda: BandSchedule("UTC", ()), InvalidTariff, r"needs 1 to 48 changes, got 0"),
        (
            lambda: BandSchedule("UTC", (BandChange(time(20), "off"), BandChange(time(8), "peak"))),
            InvalidTariff,
            r"increasing time order: 08:00:00 follows 20:00:00",
        ),
        (
            lambda: split_by_band(PEAK, datetime(2024, 1, 1), datetime(2024, 1, 2)),
            InvalidUsage,
            r"start must be an aware datetime",
        ),
        (
            lambda: split_by_band(PEAK, datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, 0, 0, 1, 500, UTC)),
            InvalidUsage,
            r"end must be on a whole second",
        ),
        (
            lambda: split_by_band(PEAK, datetime(2024, 1, 2, tzinfo=UTC), datetime(2024, 1, 1, tzinfo=UTC)),
            InvalidUsage,
            r"ends \(2024-01-01T00:00:00\+00:00\) before it starts",
        ),
        (
            lambda: split_by_band(
                PEAK,
                datetime(2024, 1, 1, tzinfo=UTC),
                datetime(2024, 1, 1, tzinfo=UTC) + timedelta(seconds=MAX_INTERVAL_S + 1),
            ),
            InvalidUsage,
            r"at most 34560000 s long",
        ),
        (lambda: split_by_band(PEAK, 0, 3_600), InvalidUsage, r"start must be a datetime, got 0"),
    ],
)
def test_bad_schedules_and_intervals_are_refused_with_the_reason(
    call: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        call()
