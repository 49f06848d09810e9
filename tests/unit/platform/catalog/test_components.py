"""Volume discounts and range pricings as price components, and their rules as JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bureau.platform.catalog.components import (
    RANGE_PRICING_KEYS,
    VOLUME_DISCOUNT_KEYS,
    ComponentKind,
    PriceComponent,
    check_components,
    discount_from_json,
    discount_to_json,
)
from bureau.platform.catalog.errors import InvalidComponent
from bureau.platform.rating.discounts import (
    BASIS_POINTS,
    MAX_RANGES,
    DiscountRange,
    PriceRange,
    RangePricing,
    VolumeDiscount,
)
from bureau.platform.rating.tariff import GIGABYTE, HOUR, MAX_PRICE_MICROS, UsageRate
from bureau.platform.rating.usage import Meter

DOLLAR = 1_000_000
OVER_100_GB = VolumeDiscount(Meter.OCTETS_TOTAL, (DiscountRange(100 * GIGABYTE + 1, 2_000),))
RANGES = RangePricing(Meter.OCTETS_TOTAL, GIGABYTE, (PriceRange(0, 12 * DOLLAR), PriceRange(10 * GIGABYTE, 9 * DOLLAR)))
REALTIME = PriceComponent.usage(RANGES.realtime_rate())

bands = st.none() | st.sampled_from(["peak", "off-peak", "night"])
starts = st.integers(0, 2**63 - 1)


@st.composite
def meters_and_bands(draw: st.DrawFn) -> tuple[Meter, str | None]:
    meter = draw(st.sampled_from(list(Meter)))
    return meter, draw(bands) if meter is Meter.SECONDS else None


@st.composite
def volume_discounts(draw: st.DrawFn) -> VolumeDiscount:
    meter, band = draw(meters_and_bands())
    points = sorted(draw(st.sets(starts, min_size=1, max_size=MAX_RANGES)))
    ranges = tuple(DiscountRange(start, draw(st.integers(0, BASIS_POINTS))) for start in points)
    return VolumeDiscount(meter, ranges, band=band)


@st.composite
def range_pricings(draw: st.DrawFn) -> RangePricing:
    meter, band = draw(meters_and_bands())
    later = sorted(draw(st.sets(st.integers(1, 2**63 - 1), max_size=MAX_RANGES - 1)))
    prices = sorted(draw(st.lists(st.integers(0, MAX_PRICE_MICROS), min_size=len(later) + 1, max_size=len(later) + 1)))
    unit = draw(st.integers(1, 2**63 - 1) | st.sampled_from([1, 60, HOUR, GIGABYTE]))
    ranges = tuple(PriceRange(start, price) for start, price in zip([0, *later], reversed(prices), strict=True))
    return RangePricing(meter, unit, ranges, band=band)


def leaves(value: object) -> list[object]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in leaves(item)]
    return [value]


@given(volume_discounts() | range_pricings())
def test_a_discount_round_trips_through_json_of_integers_and_strings(rule: VolumeDiscount | RangePricing) -> None:
    kind = ComponentKind.RANGE_PRICING if isinstance(rule, RangePricing) else ComponentKind.VOLUME_DISCOUNT
    value = discount_to_json(rule)
    assert all(type(leaf) in (int, str) for leaf in leaves(value))
    assert set(value) <= (RANGE_PRICING_KEYS if kind is ComponentKind.RANGE_PRICING else VOLUME_DISCOUNT_KEYS)
    assert discount_from_json(kind, value) == rule
    assert discount_from_json(kind.value, json.loads(json.dumps(value))) == rule  # as JSONB gives it back


def test_the_json_of_a_discount_reads_as_the_rule_it_is() -> None:
    assert discount_to_json(OVER_100_GB) == {
        "meter": "octets_total",
        "ranges": [{"start": 100 * GIGABYTE + 1, "basis_points": 2_000}],
    }
    night = VolumeDiscount(Meter.SECONDS, (DiscountRange(0, 500),), band="night")
    assert discount_to_json(night)["band"] == "night"
    assert discount_to_json(RANGES) == {
        "meter": "octets_total",
        "unit_size": GIGABYTE,
        "ranges": [{"start": 0, "price_micros": 12 * DOLLAR}, {"start": 10 * GIGABYTE, "price_micros": 9 * DOLLAR}],
    }


VOLUME = {"meter": "octets_total", "ranges": [{"start": 0, "basis_points": 1_000}]}
PRICING = {"meter": "octets_total", "unit_size": GIGABYTE, "ranges": [{"start": 0, "price_micros": DOLLAR}]}


def with_(base: dict[str, Any], **changes: object) -> dict[str, Any]:
    return {**base, **changes}


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("volume_discount", with_(VOLUME, percent=20), r"unknown keys \['percent'\]; allowed: \['band', 'meter', 'r"),
        ("range_pricing", with_(PRICING, tiers=[]), r"unknown keys \['tiers'\]; allowed: \['band', 'meter', 'ranges"),
        ("range_pricing", VOLUME, r"range pricing lacks keys \['unit_size'\]"),
        ("volume_discount", {"meter": "seconds"}, r"lacks keys \['ranges'\]"),
        ("volume_discount", with_(VOLUME, meter="packets"), "meter 'packets' is not one of seconds, octets_in"),
        ("volume_discount", with_(VOLUME, meter=1), "meter 1 is not one of"),
        ("volume_discount", with_(VOLUME, ranges=[{"start": 0, "basis_points": 0.5}]), "basis_points.*int.*float"),
        ("volume_discount", with_(VOLUME, ranges=[{"start": 0, "basis_points": True}]), "whole number.*bool"),
        ("volume_discount", with_(VOLUME, ranges=[{"start": 0, "basis_points": 10_001}]), "at most 10000"),
        ("volume_discount", with_(VOLUME, ranges=[{"start": 0, "price_micros": 1}]), "keys.*basis_points"),
        ("volume_discount", with_(VOLUME, ranges=[{"start": 1.0, "basis_points": 1}]), "start.*float"),
        ("volume_discount", with_(VOLUME, ranges=[]), "1 to 16 ranges"),
        ("volume_discount", with_(VOLUME, ranges={"start": 0}), "ranges must be a list"),
        (
            "volume_discount",
            with_(VOLUME, ranges=[{"start": 5, "basis_points": 1}, {"start": 5, "basis_points": 2}]),
            "starts must increase",
        ),
        ("volume_discount", with_(VOLUME, band="peak"), "seconds meter only"),
        ("range_pricing", with_(PRICING, unit_size=1.5), "unit_size.*float"),
        ("range_pricing", with_(PRICING, unit_size=0), "unit_size.*at least 1"),
        ("range_pricing", with_(PRICING, ranges=[{"start": 1, "price_micros": 1}]), "first price range must start"),
        ("range_pricing", with_(PRICING, ranges=[{"start": 0, "price_micros": "1.00"}]), "price_micros.*str"),
        (
            "range_pricing",
            with_(PRICING, ranges=[{"start": 0, "price_micros": 1}, {"start": 9, "price_micros": 2}]),
            "must not exceed",
        ),
        ("range_pricing", with_(PRICING, ranges=[{"start": 0}]), r"keys \['price_micros', 'start'\]"),
        ("range_pricing", "12.00/GB", "must be an object"),
        ("usage", VOLUME, "kind must be one of volume_discount, range_pricing, got 'usage'"),
        ("rebate", VOLUME, "kind must be one of"),
    ],
)
def test_a_discount_that_is_not_valid_json_of_its_kind_is_refused_with_the_reason(kind, value, message) -> None:
    with pytest.raises(InvalidComponent, match=message):
        discount_from_json(kind, value)


def test_discount_components_are_built_by_their_kind() -> None:
    volume = PriceComponent.volume_discount(OVER_100_GB)
    pricing = PriceComponent.range_pricing(RANGES, tax_class="telecom")
    assert (volume.kind, volume.discount, volume.tax_class) == (ComponentKind.VOLUME_DISCOUNT, OVER_100_GB, "standard")
    assert (pricing.kind, pricing.discount, pricing.tax_class) == (ComponentKind.RANGE_PRICING, RANGES, "telecom")
    assert volume.amount_micros is volume.period is volume.rate is None
    assert PriceComponent("volume_discount", discount=OVER_100_GB) == volume


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: PriceComponent.volume_discount(RANGES), "a volume discount component needs a VolumeDiscount"),
        (lambda: PriceComponent.range_pricing(OVER_100_GB), "a range pricing component needs a RangePricing"),
        (lambda: PriceComponent("range_pricing"), "needs a RangePricing, got None"),
        (lambda: PriceComponent.volume_discount(VOLUME), "needs a VolumeDiscount"),  # type: ignore[arg-type]
        (
            lambda: PriceComponent("volume_discount", amount_micros=DOLLAR, discount=OVER_100_GB),
            "priced by its VolumeDiscount: give no amount_micros, period or rate",
        ),
        (
            lambda: PriceComponent("range_pricing", rate=RANGES.realtime_rate(), discount=RANGES),
            "give no amount_micros, period or rate",
        ),
        (
            lambda: PriceComponent("usage", rate=RANGES.realtime_rate(), discount=RANGES),
            "a usage component takes no discount",
        ),
        (lambda: PriceComponent("recurring", amount_micros=1, discount=OVER_100_GB), "takes no discount"),
        (lambda: PriceComponent.volume_discount(OVER_100_GB, tax_class="Telecom"), "tax class 'Telecom'"),
        (lambda: PriceComponent("rebate", discount=OVER_100_GB), "usage, volume_discount, range_pricing"),
    ],
)
def test_a_bad_discount_component_is_refused_with_what_is_allowed(build, message) -> None:
    with pytest.raises(InvalidComponent, match=message):
        build()


def test_a_version_may_have_one_volume_discount_and_one_range_pricing_per_meter_and_band() -> None:
    night = VolumeDiscount(Meter.SECONDS, (DiscountRange(0, 500),), band="night")
    components = [
        PriceComponent.recurring(29_990_000),
        PriceComponent.range_pricing(RANGES),
        REALTIME,
        PriceComponent.volume_discount(OVER_100_GB),
        PriceComponent.volume_discount(VolumeDiscount(Meter.SECONDS, (DiscountRange(0, 500),))),
        PriceComponent.volume_discount(night),
        PriceComponent.usage(UsageRate.flat(Meter.SECONDS, HOUR, DOLLAR)),
    ]
    assert check_components(components) == tuple(components)


@pytest.mark.parametrize(
    ("components", "message"),
    [
        (
            [PriceComponent.volume_discount(OVER_100_GB), PriceComponent.volume_discount(OVER_100_GB)],
            "more than one volume discount on meter octets_total",
        ),
        (
            [
                PriceComponent.volume_discount(VolumeDiscount(Meter.SECONDS, (DiscountRange(0, 1),), band="peak")),
                PriceComponent.volume_discount(VolumeDiscount(Meter.SECONDS, (DiscountRange(9, 2),), band="peak")),
            ],
            "more than one volume discount on meter seconds in band 'peak'",
        ),
        (
            [PriceComponent.range_pricing(RANGES), REALTIME, PriceComponent.range_pricing(RANGES)],
            "more than one range pricing on meter octets_total",
        ),
        ([PriceComponent.range_pricing(RANGES)], r"needs the usage rate .*realtime_rate\(\).*; it has none"),
        (
            [
                PriceComponent.range_pricing(RANGES),
                PriceComponent.usage(UsageRate.flat(Meter.OCTETS_TOTAL, GIGABYTE, 12 * DOLLAR, allowance=GIGABYTE)),
            ],
            r"12000000 micro-units per 1000000000 base units, no allowance.*; it has \{",
        ),
        (
            [PriceComponent.range_pricing(RANGES), PriceComponent.usage(RANGES.realtime_rate(), tax_class="telecom")],
            "has tax class 'standard' but gives back part of a usage charge in tax class 'telecom'",
        ),
        (
            [
                PriceComponent.range_pricing(RangePricing(Meter.SECONDS, HOUR, (PriceRange(0, DOLLAR),), band="peak")),
                PriceComponent.usage(UsageRate.flat(Meter.SECONDS, HOUR, DOLLAR)),
            ],
            "a range pricing on meter seconds in band 'peak' .*it has none",
        ),
    ],
)
def test_a_bad_set_of_discount_components_is_refused(components, message) -> None:
    with pytest.raises(InvalidComponent, match=message):
        check_components(components)


def test_discount_to_json_refuses_what_is_not_a_discount() -> None:
    with pytest.raises(InvalidComponent, match="a VolumeDiscount or a RangePricing"):
        discount_to_json(RANGES.realtime_rate())  # type: ignore[arg-type]
