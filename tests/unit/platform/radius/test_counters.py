"""Accounting counters: 64-bit octet totals and event times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bureau.platform.radius.counters import event_time, octets_total

ARRIVAL = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


def test_gigawords_count_whole_wraps_of_the_32_bit_octet_counter() -> None:
    assert octets_total(5, 2) == 2 * 2**32 + 5
    assert octets_total(0xFFFFFFFF, 0) == 2**32 - 1
    assert octets_total(0, 1) == 2**32


def test_missing_counters_count_as_zero() -> None:
    assert octets_total(None, None) == 0
    assert octets_total(1234, None) == 1234
    assert octets_total(None, 3) == 3 << 32


@pytest.mark.parametrize(("octets", "gigawords"), [(-1, 0), (0, -1), (2**32, 0), (0, 2**32)])
def test_values_outside_32_bits_are_refused(octets: int, gigawords: int) -> None:
    with pytest.raises(ValueError):
        octets_total(octets, gigawords)


@given(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1))
def test_the_total_splits_back_into_its_attributes(octets: int, gigawords: int) -> None:
    total = octets_total(octets, gigawords)
    assert (total >> 32, total & 0xFFFFFFFF) == (gigawords, octets)


def test_event_timestamp_wins_over_arrival_and_delay() -> None:
    assert event_time(1_700_000_000, ARRIVAL, 30) == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


def test_without_event_timestamp_the_delay_is_subtracted_from_arrival() -> None:
    assert event_time(None, ARRIVAL, 30) == ARRIVAL - timedelta(seconds=30)
    assert event_time(None, ARRIVAL, None) == ARRIVAL


def test_the_result_is_in_utc_whatever_zone_arrival_is_in() -> None:
    arrival = datetime(2025, 3, 1, 14, 0, 0, tzinfo=timezone(timedelta(hours=2)))
    result = event_time(None, arrival, 0)
    assert result == ARRIVAL
    assert result.utcoffset() == timedelta(0)
    assert event_time(0, arrival, None).tzinfo is UTC


def test_a_naive_arrival_or_negative_delay_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        event_time(None, datetime(2025, 3, 1, 12, 0, 0), 0)
    with pytest.raises(ValueError):
        event_time(None, ARRIVAL, -5)
