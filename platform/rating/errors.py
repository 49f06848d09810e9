"""What rating refuses, and the one check every rating value goes through.

Every error here is a `ValueError` that says what was wrong, so that a plan editor, the
CLI and the API can show it as it is. Floats and bools are refused everywhere: a
quantity of `1.5` seconds or a price of `True` is a bug upstream, never a value.
"""

from __future__ import annotations

MAX_QUANTITY = 2**63 - 1  # seconds or octets: a BIGINT column holds every quantity


class RatingError(ValueError):
    """A tariff, a usage or an interval that cannot be rated, with the reason."""


class InvalidTariff(RatingError):
    """A usage rate, tier, band schedule or discount that is not well formed."""


class InvalidUsage(RatingError):
    """A quantity, interval or period that cannot be rated."""


def require_int(
    value: object,
    what: str,
    *,
    minimum: int = 0,
    maximum: int = MAX_QUANTITY,
    error: type[RatingError] = InvalidTariff,
) -> int:
    """`value` if it is an `int` (not a bool) within [minimum, maximum], else `error`."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise error(f"{what} must be a whole number (int), got {value!r} of type {type(value).__name__}")
    if value < minimum:
        raise error(f"{what} must be at least {minimum}, got {value}")
    if value > maximum:
        raise error(f"{what} must be at most {maximum}, got {value}")
    return value
