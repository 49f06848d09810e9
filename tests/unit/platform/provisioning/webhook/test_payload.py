"""Webhook events: which accounts, their keys, and what an event carries (never a password hash)."""

from __future__ import annotations

import json

import pytest

from bureau.platform.provisioning.applied.plan import Action, Step
from bureau.platform.provisioning.formats.base import FormatError
from bureau.platform.provisioning.webhook.options import WebhookOptions
from bureau.platform.provisioning.webhook.payload import account_json, body, desired_held, event
from tests.conftest import MakeAccount

OPTIONS = WebhookOptions(url="https://hooks.isp.example/")


def test_every_kind_is_keyed_by_kind_and_login(account: MakeAccount) -> None:
    accounts = [
        account("alice@demo.example", kind="radius_login", service_id=1),
        account("alice@demo.example", kind="mailbox", service_id=2, quota_mb=500, plan="web-basic"),
        account("shop.example", kind="domain", service_id=3, suspended=True),
    ]

    held = desired_held(accounts, OPTIONS)

    assert list(held) == ["domain:shop.example", "mailbox:alice@demo.example", "radius_login:alice@demo.example"]
    assert dict(held["mailbox:alice@demo.example"].attributes) == {
        "kind": "mailbox",
        "login": "alice@demo.example",
        "state": "active",
        "plan": "web-basic",
        "uid": "10002",
        "service_id": "2",
        "customer_id": "7",
        "quota_mb": "500",
    }


def test_only_the_configured_kinds_are_sent(account: MakeAccount) -> None:
    options = WebhookOptions(url="https://hooks.isp.example/", kinds=("web",))

    assert list(desired_held([account("alice", kind="web"), account("bob", kind="ftp", service_id=2)], options)) == [
        "web:alice"
    ]


def test_two_services_with_one_kind_and_login_are_refused(account: MakeAccount) -> None:
    with pytest.raises(FormatError, match="both map to webhook key 'web:alice'"):
        desired_held([account("alice", kind="web"), account("alice", kind="web", service_id=2)], OPTIONS)


def test_an_event_carries_the_account_with_numbers_as_numbers_and_no_quota_as_null(account: MakeAccount) -> None:
    held = desired_held([account("alice@demo.example", kind="radius_login", suspended=True, plan="web-basic")], OPTIONS)
    key = "radius_login:alice@demo.example"
    step = Step(Action.CHANGE, key, None, held[key].attributes)

    found = event(step, event_id="e-1", created=1_767_225_600)

    assert found == {
        "id": "e-1",
        "type": "account.changed",
        "created": 1_767_225_600,
        "account": {
            "key": key,
            "kind": "radius_login",
            "login": "alice@demo.example",
            "state": "suspended",
            "uid": 10001,
            "plan": "web-basic",
            "quota_mb": None,
            "service_id": 1,
            "customer_id": 7,
        },
    }


def test_added_and_removed_events_are_typed_by_their_step() -> None:
    attributes = {"kind": "web", "login": "alice", "quota_mb": "100"}

    added = event(Step(Action.ADD, "web:alice", None, attributes), event_id="a", created=1)
    removed = event(Step(Action.REMOVE, "web:alice", attributes, None), event_id="b", created=2)

    assert (added["type"], removed["type"]) == ("account.added", "account.removed")
    assert removed["account"]["quota_mb"] == 100 and removed["account"]["uid"] is None


def test_the_body_is_compact_sorted_json_without_any_password_hash(account: MakeAccount) -> None:
    held = desired_held([account("alice", kind="web")], OPTIONS)

    raw = body(event(Step(Action.ADD, "web:alice", None, held["web:alice"].attributes), event_id="e", created=1))

    assert raw.startswith(b'{"account":{"customer_id":7,') and b" " not in raw
    assert b"$6$" not in raw and b"password" not in raw
    assert json.loads(raw)["account"] == account_json("web:alice", held["web:alice"].attributes)
