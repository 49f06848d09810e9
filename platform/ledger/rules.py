"""Pure rules of a journal entry: shape, balance per unit, canonical content.

No I/O here; the posting service applies these before it writes anything.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..jsonsafe import NotJsonSafe, check_json_safe
from .errors import InvalidEntry, UnbalancedEntry

MAX_POSTINGS = 64
MAX_KEY_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 500
MAX_BATCH = 1000
MAX_ABS_AMOUNT = 2**62  # leaves headroom for balance sums in BIGINT
MAX_METADATA_VALUES = 1000  # every key, list item and value of an entry's metadata


@dataclass(frozen=True, slots=True)
class NewPosting:
    """`amount` in the unit's smallest step (micro-units, or sessions); debit positive."""

    account_id: int
    amount: int
    unit: str


@dataclass(frozen=True, slots=True)
class NewEntry:
    idempotency_key: str
    description: str
    postings: tuple[NewPosting, ...]
    metadata: Mapping[str, Any] = field(default_factory=dict)


def debit(account_id: int, amount: int, unit: str) -> NewPosting:
    return NewPosting(account_id, amount, unit)


def credit(account_id: int, amount: int, unit: str) -> NewPosting:
    return NewPosting(account_id, -amount, unit)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate_entry(entry: NewEntry) -> None:
    """Raise InvalidEntry or UnbalancedEntry, naming what is wrong."""
    key = entry.idempotency_key
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise InvalidEntry(f"idempotency key must be 1 to {MAX_KEY_LENGTH} characters, got {key!r}")
    if not isinstance(entry.description, str) or len(entry.description) > MAX_DESCRIPTION_LENGTH:
        raise InvalidEntry(f"description must be text of at most {MAX_DESCRIPTION_LENGTH} characters")
    postings: Sequence[NewPosting] = entry.postings
    if not 2 <= len(postings) <= MAX_POSTINGS:
        raise InvalidEntry(f"entry {key!r} has {len(postings)} postings; an entry needs 2 to {MAX_POSTINGS}")
    _check_metadata(key, entry.metadata)
    totals: dict[str, int] = defaultdict(int)
    for number, posting in enumerate(postings, start=1):
        if not _is_int(posting.account_id) or posting.account_id <= 0:
            raise InvalidEntry(f"posting {number} of {key!r}: account id must be a positive integer")
        if not _is_int(posting.amount):
            raise InvalidEntry(
                f"posting {number} of {key!r}: amount must be an integer in the unit's "
                f"smallest step (micro-units), got {posting.amount!r}"
            )
        if posting.amount == 0 or abs(posting.amount) > MAX_ABS_AMOUNT:
            raise InvalidEntry(f"posting {number} of {key!r}: amount {posting.amount} is zero or out of range")
        if not isinstance(posting.unit, str) or not posting.unit:
            raise InvalidEntry(f"posting {number} of {key!r}: unit is missing")
        totals[posting.unit] += posting.amount
    off = {unit: total for unit, total in totals.items() if total != 0}
    if off:
        detail = ", ".join(f"{unit} off by {total:+d}" for unit, total in sorted(off.items()))
        raise UnbalancedEntry(f"entry {key!r} does not balance: {detail} (debits minus credits)")


def _check_metadata(key: str, metadata: object) -> None:
    """Metadata must come back from JSONB as it went in, or `ledger check` would report the
    entry's content hash as broken."""
    try:
        check_json_safe(metadata, "metadata", max_values=MAX_METADATA_VALUES)
    except NotJsonSafe as exc:
        raise InvalidEntry(f"entry {key!r}: {exc}") from None


def content_hash(entry: NewEntry) -> bytes:
    """SHA-256 of the entry's content, independent of posting order.

    A replay with the same key is accepted only when this hash matches the stored one.
    """
    canonical = {
        "description": entry.description,
        "metadata": dict(entry.metadata),
        "postings": sorted([p.account_id, p.amount, p.unit] for p in entry.postings),
    }
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).digest()


def balance_deltas(entries: Sequence[NewEntry], signs: Mapping[int, int]) -> dict[int, int]:
    """Net change of each account's normal-side balance over `entries`."""
    deltas: dict[int, int] = defaultdict(int)
    for entry in entries:
        for posting in entry.postings:
            deltas[posting.account_id] += posting.amount * signs[posting.account_id]
    return dict(deltas)
