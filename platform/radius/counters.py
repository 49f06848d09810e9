"""Accounting counters and event times from RADIUS attribute values.

Totals follow FreeRADIUS (`acct_counters64`, queries.conf): (Gigawords << 32) | Octets
(RFC 2869 §5.1-5.2). Times follow RFC 2869 §5.3 and RFC 2866 §5.2: Event-Timestamp when
present, else the arrival time minus Acct-Delay-Time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

MAX_UINT32 = 0xFFFFFFFF


def _uint32(value: int | None, name: str) -> int:
    if value is None:
        return 0
    if value < 0 or value > MAX_UINT32:
        raise ValueError(f"{name} must be an unsigned 32-bit value, got {value}")
    return value


def octets_total(octets: int | None, gigawords: int | None) -> int:
    """The 64-bit octet count from Acct-*-Octets and Acct-*-Gigawords; a missing one is 0."""
    return (_uint32(gigawords, "gigawords") << 32) | _uint32(octets, "octets")


def event_time(event_timestamp: int | None, arrival: datetime, delay_seconds: int | None) -> datetime:
    """When the event happened, as an aware UTC datetime.

    `arrival` must be timezone-aware (a naive one is ambiguous and refused). FreeRADIUS
    ignores Acct-Delay-Time; we apply it because RFC 2866 §5.2 defines the event as
    arrival minus delay.
    """
    if arrival.tzinfo is None or arrival.utcoffset() is None:
        raise ValueError("arrival must be a timezone-aware datetime")
    if event_timestamp is not None:
        return datetime.fromtimestamp(_uint32(event_timestamp, "Event-Timestamp"), tz=UTC)
    return arrival.astimezone(UTC) - timedelta(seconds=_uint32(delay_seconds, "Acct-Delay-Time"))
