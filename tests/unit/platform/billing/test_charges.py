"""Pure pricing of invoice lines: proration, yearly twelfths, usage lines, tax and rounding."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bureau.platform.billing.charges import Charge, Stretch, charges_for, decimal_text, price
from bureau.platform.billing.period import parse_period
from bureau.platform.catalog.components import PriceComponent, RecurringPeriod
from bureau.platform.catalog.plans import Billing, Plan, PlanStatus
from bureau.platform.catalog.tax import RatePart
from bureau.platform.catalog.versions import PlanVersion
from bureau.platform.rating.tariff import GIGABYTE, Tier, UsageRate
from bureau.platform.rating.usage import Meter, Usage

OCT = parse_period("2026-10")
PLAN = Plan(1, "dsl", "DSL", "all", Billing.POSTPAID, PlanStatus.ACTIVE)
TIERED = UsageRate(
    Meter.OCTETS_TOTAL, GIGABYTE, (Tier(0, 10_000_000), Tier(20 * GIGABYTE, 5_000_000)), allowance=10 * GIGABYTE
)


def stretch(
    *components: PriceComponent,
    start: date = OCT.start,
    end: date = OCT.end,
    signup: bool = False,
    usage: Usage | None = None,
    postpaid: bool = True,
) -> Stretch:
    version = PlanVersion(PLAN, 1, datetime(2026, 1, 1, tzinfo=UTC), None, tuple(components))
    return Stretch(7, "bob@isp.example", "DSL", postpaid, version, start, end, signup, usage or Usage())


def test_a_whole_month_is_one_month_at_the_full_price() -> None:
    (line,) = charges_for([stretch(PriceComponent.recurring(29_990_000))], OCT)
    assert (line.quantity, line.amount_micros, line.account_code) == ("1", 29_990_000, "4010")


def test_a_part_month_is_prorated_by_day() -> None:
    (line,) = charges_for([stretch(PriceComponent.recurring(31_000_000), start=date(2026, 10, 22))], OCT)
    assert (line.quantity, line.amount_micros) == ("0.3226", 10_000_000)  # 10 of 31 days
    assert "2026-10-22 to 2026-10-31" in line.description


def test_a_yearly_charge_is_billed_in_twelfths() -> None:
    (line,) = charges_for([stretch(PriceComponent.recurring(120_000_000, RecurringPeriod.YEAR))], OCT)
    assert line.amount_micros == 10_000_000


def test_sign_up_fee_only_where_the_service_started() -> None:
    fee = PriceComponent.signup_fee(15_000_000)
    assert [c.kind for c in charges_for([stretch(fee, signup=True)], OCT)] == ["signup_fee"]
    assert charges_for([stretch(fee, signup=False)], OCT) == []


def test_usage_line_counts_what_is_billable_beyond_the_allowance_at_the_marginal_tier() -> None:
    used = Usage(octets_in=5 * GIGABYTE, octets_out=20 * GIGABYTE)
    (line,) = charges_for([stretch(PriceComponent.usage(TIERED), usage=used)], OCT)
    assert (line.quantity, line.unit, line.unit_price_micros) == ("15", "GB", 5_000_000)
    assert line.amount_micros == 10 * 10_000_000 + 5 * 5_000_000
    assert "25 GB used, 10 GB included" in line.description


def test_prepaid_usage_is_not_billed_at_month_end() -> None:
    used = Usage(octets_out=50 * GIGABYTE)
    assert charges_for([stretch(PriceComponent.usage(TIERED), usage=used, postpaid=False)], OCT) == []


def _charge(amount: int) -> Charge:
    return Charge(None, "recurring", "x", "1", "month", amount, amount, "standard", "4010")


def test_exclusive_tax_is_added_and_rounding_goes_to_its_account() -> None:
    priced = price(_charge(20_993_000), [RatePart("Sales tax", 500, False)], "USD")
    line = priced.line
    assert (line.net_micros, line.tax_micros, line.gross_micros) == (20_990_000, 1_050_000, 22_040_000)
    assert (priced.revenue_micros, priced.rounding_micros) == (20_993_000, -3_000)


def test_inclusive_tax_is_taken_out_of_the_price() -> None:
    priced = price(_charge(11_900_000), [RatePart("VAT", 1900, True)], "EUR")
    line = priced.line
    assert (line.net_micros, line.tax_micros, line.gross_micros) == (10_000_000, 1_900_000, 11_900_000)
    assert priced.revenue_micros == 10_000_000


@given(
    amount=st.integers(min_value=-(10**12), max_value=10**12),
    rates=st.lists(st.tuples(st.integers(0, 3000), st.booleans()), max_size=3),
    currency=st.sampled_from(["USD", "JPY", "BHD"]),
)
def test_a_priced_line_balances_to_the_micro_unit(amount: int, rates: list[tuple[int, bool]], currency: str) -> None:
    parts = [RatePart(f"t{i}", bp, inclusive) for i, (bp, inclusive) in enumerate(rates)]
    priced = price(_charge(amount), parts, currency)
    line = priced.line
    assert line.net_micros + line.tax_micros == line.gross_micros
    # What the customer is charged equals what revenue, tax payable and rounding receive.
    assert line.gross_micros == priced.revenue_micros + line.tax_micros + priced.rounding_micros


@pytest.mark.parametrize(("n", "d", "text"), [(1, 3, "0.3333"), (2, 3, "0.6667"), (30, 30, "1"), (-1, 4, "-0.25")])
def test_decimal_text(n: int, d: int, text: str) -> None:
    assert decimal_text(n, d) == text
