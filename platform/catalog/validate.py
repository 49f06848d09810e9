"""Field checks shared by the catalog services: codes, names, instants, periods."""

from __future__ import annotations

import re
from datetime import datetime

from .errors import InvalidCatalogValue, OverlappingPeriod

CODE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MAX_NAME_LENGTH = 200
TAX_CLASS_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


def check_code(code: object, what: str) -> str:
    # fullmatch: a trailing newline is not part of a code.
    if not isinstance(code, str) or not CODE_PATTERN.fullmatch(code):
        raise InvalidCatalogValue(
            f"{what} code {code!r} must be 1-64 letters, digits or . _ -, starting with a letter or digit"
        )
    return code


def check_name(name: object, what: str) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH:
        raise InvalidCatalogValue(f"{what} name must be text of 1 to {MAX_NAME_LENGTH} characters, got {name!r}")
    return name


def check_tax_class(tax_class: object, error: type[ValueError] = InvalidCatalogValue) -> str:
    if not isinstance(tax_class, str) or not TAX_CLASS_PATTERN.fullmatch(tax_class):
        raise error(
            f"tax class {tax_class!r} must be 1-40 lower-case letters, digits, _ or -, such as 'standard' or 'telecom'"
        )
    return tax_class


def check_instant(value: object, what: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise InvalidCatalogValue(f"{what} must be a timezone-aware datetime, got {value!r}")
    return value


def check_period(effective_from: object, effective_to: object) -> tuple[datetime, datetime | None]:
    """[effective_from, effective_to): aware instants, the end (if any) after the start."""
    start = check_instant(effective_from, "effective_from")
    if effective_to is None:
        return start, None
    end = check_instant(effective_to, "effective_to")
    if end <= start:
        raise InvalidCatalogValue(
            f"effective_to ({end.isoformat()}) must be after effective_from ({start.isoformat()}); "
            "leave it out for a period with no end"
        )
    return start, end


def describe_period(start: datetime, end: datetime | None) -> str:
    return f"[{start.isoformat()}, {end.isoformat() if end else 'open-ended'})"


def check_next_period(
    what: str,
    latest: tuple[datetime, datetime | None] | None,
    start: datetime,
    now: datetime,
) -> None:
    """Refuse a period that would overlap or rewrite the latest one of its series.

    `latest` is the start and explicit end of the series' latest period (None: the
    series is empty, anything goes). An open-ended latest period runs until the next
    one starts, so the next one must start after it, and not in the past.
    """
    if latest is None:
        return
    latest_start, latest_end = latest
    in_place = f"{what} is in effect for {describe_period(latest_start, latest_end)}"
    if start <= latest_start:
        raise OverlappingPeriod(
            f"{in_place}; a new one must start after {latest_start.isoformat()} "
            "(periods are added in date order and never rewritten)"
        )
    if latest_end is not None and start < latest_end:
        raise OverlappingPeriod(
            f"{in_place}; a new one from {start.isoformat()} would overlap it: "
            f"start on or after {latest_end.isoformat()}"
        )
    if latest_end is None and start < now:
        raise OverlappingPeriod(
            f"{in_place}; a new one from {start.isoformat()} would change what was already in effect "
            f"(and may have been billed): start it at {now.isoformat()} or later"
        )
