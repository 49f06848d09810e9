"""What a plan tells the NAS: reply attributes, sessions at once, interim interval.

Attributes are named RADIUS attributes with text or integer values (or lists of them, for
an attribute that repeats), sent in every Access-Accept of the plan: rate limits
("Mikrotik-Rate-Limit": "10M/10M"), an address pool ("Framed-Pool": "residential"),
"Idle-Timeout": 900, vendor attributes. This module checks their shape; the names and
value types are checked against the RADIUS dictionary where they are set (the CLI and the
API call `bureau.radius_proxy.codec`), and the RADIUS server encodes them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..audit import log as audit
from .errors import InvalidCatalogValue
from .plans import get_plan
from .tables import plans

MAX_ATTRIBUTES = 32
MAX_VALUE_LENGTH = 253  # one RADIUS attribute value
NAME = re.compile(r"[A-Za-z][A-Za-z0-9._:-]{0,63}")
DEFAULT_MAX_SESSIONS = 1
FORBIDDEN = frozenset(
    {"Session-Timeout", "Class", "Message-Authenticator", "Proxy-State", "Acct-Interim-Interval", "User-Password"}
)  # set by the server itself


@dataclass(frozen=True, slots=True)
class RadiusOptions:
    attributes: Mapping[str, Any] = field(default_factory=dict)
    max_sessions: int = DEFAULT_MAX_SESSIONS
    interim_interval: int | None = None


def _check_value(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidCatalogValue(f"RADIUS attribute {name}: a value is text or a whole number, got {value!r}")
    if isinstance(value, int) and not 0 <= value < 2**32:
        raise InvalidCatalogValue(f"RADIUS attribute {name}: {value} is not a 32-bit unsigned number")
    if isinstance(value, str) and not 0 < len(value.encode()) <= MAX_VALUE_LENGTH:
        raise InvalidCatalogValue(f"RADIUS attribute {name}: text must be 1 to {MAX_VALUE_LENGTH} octets")


def check_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(attributes, Mapping) or len(attributes) > MAX_ATTRIBUTES:
        raise InvalidCatalogValue(f"RADIUS attributes are a mapping of at most {MAX_ATTRIBUTES} names to values")
    checked: dict[str, Any] = {}
    for name, value in attributes.items():
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise InvalidCatalogValue(f"{name!r} is not a RADIUS attribute name such as Mikrotik-Rate-Limit")
        if name in FORBIDDEN:
            raise InvalidCatalogValue(f"{name} is set by Bureau itself and cannot come from a plan")
        values = value if isinstance(value, list) else [value]
        if not values:
            raise InvalidCatalogValue(f"RADIUS attribute {name}: give at least one value")
        for item in values:
            _check_value(name, item)
        checked[name] = value
    return checked


async def set_radius_options(
    conn: AsyncConnection,
    plan_code: str,
    *,
    attributes: Mapping[str, Any] | None = None,
    max_sessions: int | None = None,
    interim_interval: int | None = None,
) -> RadiusOptions:
    """Change what the plan tells the NAS; what is not given stays as it is."""
    plan = await get_plan(conn, plan_code, for_update=True)
    values: dict[str, Any] = {}
    if attributes is not None:
        values["radius_attributes"] = check_attributes(attributes)
    if max_sessions is not None:
        if isinstance(max_sessions, bool) or not isinstance(max_sessions, int) or not 1 <= max_sessions <= 100:
            raise InvalidCatalogValue(f"sessions at once must be 1 to 100, got {max_sessions!r}")
        values["max_sessions"] = max_sessions
    if interim_interval is not None:
        if isinstance(interim_interval, bool) or not isinstance(interim_interval, int):
            raise InvalidCatalogValue(f"the interim interval is a whole number of seconds, got {interim_interval!r}")
        if not 60 <= interim_interval <= 86400:
            raise InvalidCatalogValue(f"the interim interval must be 60 to 86400 s (RFC 2869), got {interim_interval}")
        values["interim_interval"] = interim_interval
    if values:
        await conn.execute(update(plans).where(plans.c.id == plan.id).values(**values))
        await audit.record(conn, "catalog.plan.radius", f"plan:{plan_code}", **values)
    return await radius_options(conn, plan.id)


async def radius_options(conn: AsyncConnection, plan_id: int) -> RadiusOptions:
    row = (
        await conn.execute(
            select(plans.c.radius_attributes, plans.c.max_sessions, plans.c.interim_interval).where(
                plans.c.id == plan_id
            )
        )
    ).one()
    return RadiusOptions(dict(row.radius_attributes), row.max_sessions, row.interim_interval)
