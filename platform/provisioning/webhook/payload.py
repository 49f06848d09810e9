"""The events a webhook target posts, built from accounts (pure).

One event per account added, changed or removed:

    {"id": "<uuid4>", "type": "account.added", "created": 1767225600,
     "account": {"key": "radius_login:alice@demo.example", "kind": "radius_login",
                 "login": "alice@demo.example", "state": "active", "uid": 10001,
                 "plan": "dsl-10", "quota_mb": null, "service_id": 1, "customer_id": 7}}

The key is "<kind>:<login>", unique per target. A removed account's event carries the
values it was last posted with. Never a password or its hash, nor the customer's name
or address: the receiver learns what to provision, and asks Bureau's API for the rest.
The body is compact JSON with sorted keys; the signature covers its exact bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..accounts import Account
from ..applied.plan import Action, Step
from ..formats.base import Held, exported, keyed
from .options import WebhookOptions

EVENT_TYPES: Mapping[Action, str] = {
    Action.ADD: "account.added",
    Action.CHANGE: "account.changed",
    Action.REMOVE: "account.removed",
}
TEXT_FIELDS = ("kind", "login", "state", "plan")
NUMBER_FIELDS = ("uid", "service_id", "customer_id")
NULLABLE_NUMBER_FIELDS = ("quota_mb",)  # "" in the state file when None


def account_key(account: Account) -> str:
    return f"{account.kind}:{account.login}"


def account_attributes(account: Account) -> dict[str, str]:
    """What the state file keeps of an account: every field an event carries, as text."""
    return {
        "kind": account.kind,
        "login": account.login,
        "state": account.state.value,
        "plan": account.plan,
        "uid": str(account.uid),
        "service_id": str(account.service_id),
        "customer_id": str(account.customer_id),
        "quota_mb": "" if account.quota_mb is None else str(account.quota_mb),
    }


def desired_held(accounts: Sequence[Account], options: WebhookOptions) -> dict[str, Held]:
    """Key -> attributes of the accounts the receiver should hold."""
    pairs = keyed([(account_key(a), a) for a in exported(accounts, frozenset(options.kinds))], "webhook key")
    return {key: Held(key, account_attributes(account)) for key, account in pairs}


def account_json(key: str, attributes: Mapping[str, str]) -> dict[str, Any]:
    """The event's "account" object from state attributes, numbers as JSON numbers."""
    found: dict[str, Any] = {"key": key}
    for name in TEXT_FIELDS:
        found[name] = attributes.get(name, "")
    for name in NUMBER_FIELDS:
        found[name] = _number(attributes.get(name, ""))
    for name in NULLABLE_NUMBER_FIELDS:
        found[name] = _number(attributes.get(name, ""))
    return found


def _number(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:  # "" for no quota
        return None


def event(step: Step, *, event_id: str, created: int) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": EVENT_TYPES[step.action],
        "created": created,
        "account": account_json(step.key, step.attributes),
    }


def body(event: Mapping[str, Any]) -> bytes:
    """The request body: compact JSON, sorted keys, UTF-8."""
    return json.dumps(event, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
