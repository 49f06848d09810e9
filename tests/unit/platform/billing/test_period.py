"""Billing periods: parsing, bounds and the closed-period rule."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bureau.platform.billing.errors import InvalidPeriod
from bureau.platform.billing.period import last_closed, parse_period, require_closed


def test_a_period_is_a_half_open_calendar_month() -> None:
    period = parse_period("2026-12")
    assert (period.start, period.end, period.days, period.name) == (date(2026, 12, 1), date(2027, 1, 1), 31, "2026-12")
    assert parse_period("2028-02").days == 29


@pytest.mark.parametrize(
    "text", ["2026-13", "2026-1", "26-11", "2026/11", "", None, "1999-12", "\uff12\uff10\uff12\uff16-11"]
)
def test_malformed_periods_are_refused_with_the_expected_form(text: object) -> None:
    with pytest.raises(InvalidPeriod, match="YYYY-MM"):
        parse_period(text)


def test_only_a_period_that_is_over_can_be_billed() -> None:
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    assert last_closed(now).name == "2026-10"
    require_closed(parse_period("2026-10"), now)
    with pytest.raises(InvalidPeriod, match="latest one that is over is 2026-10"):
        require_closed(parse_period("2026-11"), now)
