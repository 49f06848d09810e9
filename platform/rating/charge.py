"""Charging usage: exact, monotonic, and telescoping over a billing period.

The charge for new usage is never computed from the new usage alone. It is

    cumulative_charge(already + new) - cumulative_charge(already)

per rate, where `already` is what was rated earlier in the same period. So rating a
period's usage in any number of pieces, in order, charges exactly the same total as
rating it at once (the sum telescopes), a retransmitted Interim-Update whose counters did
not move charges 0, and allowances and tier boundaries fall where they fall whatever the
pieces are.

Rounding. `cumulative_charge` adds up `units * price_micros` over the tiers exactly and
divides once by the priced unit's size, rounding half-even to the micro-unit. The exact
cumulative amount never leaves the function, so the rounding error of a period's total
is at most half a micro-unit however the usage arrived; a single piece's charge is
within one micro-unit of its exact value. Half-even is the rule money.py uses, it is
unbiased, and it is monotonic, so a charge is never negative.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bureau.platform.money import MAX_ABS_MICROS

from .errors import MAX_QUANTITY, InvalidTariff, InvalidUsage, require_int
from .exact import divide_half_even, round_up_to_multiple
from .tariff import UsageRate
from .usage import Meter, Usage

MAX_RATES = 32  # usage rates in one plan version


def billable_quantity(rate: UsageRate, quantity: int) -> int:
    """The cumulative quantity rounded up to the rate's increment."""
    require_int(quantity, "quantity", error=InvalidUsage)
    return round_up_to_multiple(quantity, rate.increment)


def cumulative_charge(rate: UsageRate, quantity: int) -> int:
    """The charge in micro-units for a period's cumulative `quantity` (base units)."""
    charge = _charge(rate, quantity)
    if charge > MAX_ABS_MICROS:
        raise InvalidUsage(f"a charge of {charge} micro-units for {quantity} {rate.meter.value} is out of range")
    return charge


def _charge(rate: UsageRate, quantity: int) -> int:
    billable = billable_quantity(rate, quantity)
    numerator = 0
    for index, tier in enumerate(rate.tiers):
        end = rate.tiers[index + 1].start if index + 1 < len(rate.tiers) else billable
        low = max(tier.start, rate.allowance)
        high = min(end, billable)
        if high > low:
            numerator += (high - low) * tier.price_micros
    return divide_half_even(numerator, rate.unit_size)


def cumulative_allowance_used(rate: UsageRate, quantity: int) -> int:
    """How much of the allowance a period's cumulative `quantity` has used (base units)."""
    return min(billable_quantity(rate, quantity), rate.allowance)


@dataclass(frozen=True, slots=True)
class RatedLine:
    """One rate's share of a rating: new quantity, charge and allowance consumed."""

    rate: UsageRate
    quantity: int
    charge_micros: int
    allowance_consumed: int


@dataclass(frozen=True, slots=True)
class Rated:
    """The result of `rate_usage`: the total charge and its breakdown per rate."""

    charge_micros: int
    lines: tuple[RatedLine, ...]

    def allowance_consumed(self, meter: Meter, band: str | None = None) -> int:
        """Allowance the new usage consumed on `meter` (and `band`); 0 if not rated."""
        return sum(line.allowance_consumed for line in self.lines if line.rate.key == (meter, band))


def _require_rates(rates: Sequence[UsageRate]) -> tuple[UsageRate, ...]:
    if isinstance(rates, UsageRate) or not isinstance(rates, Sequence):
        raise InvalidTariff(f"rates must be a sequence of UsageRate, got {rates!r}")
    if len(rates) > MAX_RATES:
        raise InvalidTariff(f"at most {MAX_RATES} usage rates in a plan version, got {len(rates)}")
    seen: set[tuple[Meter, str | None]] = set()
    for rate in rates:
        if not isinstance(rate, UsageRate):
            raise InvalidTariff(f"rates must be UsageRate values, got {rate!r}")
        if rate.key in seen:
            band = f" band {rate.band!r}" if rate.band is not None else ""
            raise InvalidTariff(f"two usage rates count {rate.meter.value}{band}; a plan version has one per meter")
        seen.add(rate.key)
    return tuple(rates)


def rate_usage(rates: Sequence[UsageRate], already: Usage, new: Usage) -> Rated:
    """Charge `new` usage on top of `already` (cumulative this period), per rate.

    Each line's charge is `cumulative_charge(already + new) - cumulative_charge(already)`
    and its allowance consumed the matching difference, so any split of a period's usage
    into consecutive pieces charges and consumes exactly what the whole would.
    """
    checked = _require_rates(rates)
    if not isinstance(already, Usage) or not isinstance(new, Usage):
        raise InvalidUsage(f"usage must be given as Usage values, got {already!r} and {new!r}")
    total = already + new
    lines = []
    for rate in checked:
        before = already.quantity(rate.meter, rate.band)
        after = total.quantity(rate.meter, rate.band)
        lines.append(
            RatedLine(
                rate=rate,
                quantity=after - before,
                charge_micros=cumulative_charge(rate, after) - cumulative_charge(rate, before),
                allowance_consumed=cumulative_allowance_used(rate, after) - cumulative_allowance_used(rate, before),
            )
        )
    charge = sum(line.charge_micros for line in lines)
    if charge > MAX_ABS_MICROS:
        raise InvalidUsage(f"a charge of {charge} micro-units is out of range")
    return Rated(charge_micros=charge, lines=tuple(lines))


def affordable_quantity(rate: UsageRate, already: int, budget_micros: int) -> int:
    """The most base units that can follow `already` for at most `budget_micros`.

    For a prepaid session's Session-Timeout (time rates) or volume quota: the largest
    `n` with `cumulative_charge(already + n) - cumulative_charge(already) <= budget`,
    capped at MAX_QUANTITY - already (which is what a free rate returns).
    """
    require_int(already, "already", error=InvalidUsage)
    require_int(budget_micros, "budget_micros", maximum=MAX_ABS_MICROS, error=InvalidUsage)
    base = _charge(rate, already)
    limit = MAX_QUANTITY - already
    if _charge(rate, already + limit) - base <= budget_micros:
        return limit
    # Cumulative charges never fall, so what fits is a prefix 0..n: gallop up from 1 to
    # bracket n, then bisect. About 2 log2(n) charges (a Session-Timeout of hours: ~28)
    # rather than log2(MAX_QUANTITY) (62) of a bisection over the whole range.
    low, high = 0, 1  # charge(low) <= budget always holds
    while high < limit and _charge(rate, already + high) - base <= budget_micros:
        low, high = high, high * 2
    high = min(high, limit)
    while high - low > 1:  # invariant: fits(low), not fits(high)
        middle = (low + high) // 2
        if _charge(rate, already + middle) - base <= budget_micros:
            low = middle
        else:
            high = middle
    return low
