"""The CLI's option parsers: exact amounts, percentages, instants and usage rates (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import typer

from bureau.cli._common import amount_micros, instant, percent_bp
from bureau.cli.catalog import describe, parse_usage
from bureau.platform.catalog.components import PriceComponent
from bureau.platform.rating.tariff import GIGABYTE, HOUR, MEGABYTE, MINUTE, Tier, UsageRate
from bureau.platform.rating.usage import Meter


def refusal(capsys: pytest.CaptureFixture[str], call: object) -> str:
    with pytest.raises(typer.Exit) as exit_:
        call()  # type: ignore[operator]
    assert exit_.value.exit_code == 2
    return capsys.readouterr().err.strip()


@pytest.mark.parametrize(
    ("text", "micros"),
    [("29.99", 29_990_000), ("0", 0), ("15", 15_000_000), ("0.000001", 1), (" 10.5 ", 10_500_000)],
)
def test_an_amount_is_read_exactly_into_micro_units(text: str, micros: int) -> None:
    assert amount_micros(text, "--monthly") == micros


@pytest.mark.parametrize(
    "text", ["12.3.4", "1e3", "-5", "+5", "1,000.00", "", ".5", "5.", "NaN", "\uff11\uff12", "1.5\n2"]
)
def test_an_amount_that_is_not_plain_digits_is_refused_naming_the_option(
    capsys: pytest.CaptureFixture[str], text: str
) -> None:
    message = refusal(capsys, lambda: amount_micros(text, "--monthly"))
    assert message.startswith(f"error: --monthly: {text!r} is not an amount such as 29.99")


def test_an_amount_with_more_than_six_decimals_is_refused_not_rounded(capsys: pytest.CaptureFixture[str]) -> None:
    assert "more than 6 decimal places" in refusal(capsys, lambda: amount_micros("0.0000001", "--value"))


@pytest.mark.parametrize(("text", "bp"), [("8.25", 825), ("10", 1000), ("12.5", 1250), ("0", 0), ("100", 10_000)])
def test_a_percentage_is_read_exactly_into_basis_points(text: str, bp: int) -> None:
    assert percent_bp(text, "--rate") == bp


@pytest.mark.parametrize("text", ["8.255", "1e1", "-1", "100.01", "101", "8,25", "", "8.2.5"])
def test_a_percentage_outside_0_to_100_or_finer_than_a_basis_point_is_refused(
    capsys: pytest.CaptureFixture[str], text: str
) -> None:
    assert refusal(capsys, lambda: percent_bp(text, "--rate")).startswith(f"error: --rate: {text!r} is ")


def test_an_instant_is_a_date_at_midnight_utc_or_an_iso_time_with_utc_by_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert instant("2026-01-01", "--from") == datetime(2026, 1, 1, tzinfo=UTC)
    assert instant("2026-01-01T08:00:00+02:00", "--from") == datetime(
        2026, 1, 1, 8, tzinfo=timezone(timedelta(hours=2))
    )
    assert instant("2026-01-01T08:00", "--from") == datetime(2026, 1, 1, 8, tzinfo=UTC)
    assert "--from: 'next week' is not a date" in refusal(capsys, lambda: instant("next week", "--from"))


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            "octets_total:1000000000:10.00:allowance=10000000000",
            PriceComponent.usage(UsageRate.flat(Meter.OCTETS_TOTAL, GIGABYTE, 10_000_000, allowance=10 * GIGABYTE)),
        ),
        (
            "octets_total:GB:10.00:allowance=10GB",
            PriceComponent.usage(UsageRate.flat(Meter.OCTETS_TOTAL, GIGABYTE, 10_000_000, allowance=10 * GIGABYTE)),
        ),
        ("seconds:h:1.20", PriceComponent.usage(UsageRate.flat(Meter.SECONDS, HOUR, 1_200_000))),
        (
            "seconds:min:0.02:increment=60s:band=peak:tax=telecom",
            PriceComponent.usage(
                UsageRate.flat(Meter.SECONDS, MINUTE, 20_000, increment=60, band="peak"), tax_class="telecom"
            ),
        ),
        (
            "octets_in:mb:0.01:tier=100GB@0.005:tier=1TB@0",
            PriceComponent.usage(
                UsageRate(
                    Meter.OCTETS_IN, MEGABYTE, (Tier(0, 10_000), Tier(100 * GIGABYTE, 5_000), Tier(1000 * GIGABYTE, 0))
                )
            ),
        ),
    ],
)
def test_a_usage_rate_option_becomes_the_exact_usage_component(spec: str, expected: PriceComponent) -> None:
    assert parse_usage(spec, "standard") == expected


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("octets_total:GB", "must be METER:UNIT:PRICE"),
        ("bandwidth:GB:1.00", "meter 'bandwidth' is not one of seconds, octets_in, octets_out, octets_total"),
        ("octets_total:h:1.00", "unit 'h' does not measure octets_total; use kB, MB, GB, TB"),
        ("seconds:GB:1.00", "unit 'GB' does not measure seconds; use s, min, h"),
        ("octets_total:GB:1e3", "price: '1e3' is not an amount"),
        ("octets_total:GB:-5", "price: '-5' is not an amount"),
        ("octets_total:GB:1.00:allowance", "option 'allowance' must be KEY=VALUE"),
        ("octets_total:GB:1.00:discount=5", "unknown option 'discount'"),
        ("octets_total:GB:1.00:tier=5GB", "tier '5GB' must be QTY@PRICE"),
        ("octets_total:GB:1.00:tier=0@2.00", "tier starts must increase"),
        ("octets_total:GB:1.00:band=peak", "band applies to the seconds meter only"),
        ("octets_total:0:1.00", "unit_size (base units per priced unit) must be at least 1"),
        ("octets_total:GB:1.00:tax=Telecom!", "tax class 'Telecom!' must be"),
    ],
)
def test_a_malformed_usage_rate_is_refused_saying_what_is_wrong(
    capsys: pytest.CaptureFixture[str], spec: str, says: str
) -> None:
    message = refusal(capsys, lambda: parse_usage(spec, "standard"))
    assert message.startswith(f"error: --usage {spec!r}") and says in message, message


def test_a_component_is_described_in_the_units_it_was_sold_in() -> None:
    dsl = UsageRate.flat(Meter.OCTETS_TOTAL, GIGABYTE, 10_000_000, allowance=10 * GIGABYTE)
    assert describe(PriceComponent.usage(dsl), "USD") == "octets_total: 10.00 USD per GB, 10 GB included"
    assert describe(PriceComponent.recurring(29_990_000, "month"), "USD") == "29.99 USD per month"
    assert describe(PriceComponent.signup_fee(15_000_000), "EUR") == "sign-up fee 15.00 EUR"
    odd = UsageRate.flat(Meter.SECONDS, 90, 1_234_567, increment=30)
    assert describe(PriceComponent.usage(odd), "USD") == "seconds: 1.234567 USD per 90 seconds, in blocks of 30 s"
