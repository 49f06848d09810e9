"""The webhook target against a real HTTP receiver: signed events, state kept, failures reported."""

from __future__ import annotations

import json
import socket
import time
import uuid
from pathlib import Path

import pytest

from bureau.platform.provisioning.formats.base import OptionsError
from bureau.platform.provisioning.webhook.options import WebhookOptions, options_from
from bureau.platform.provisioning.webhook.signature import verify_signature
from bureau.platform.provisioning.webhook.sync import WebhookFailed, held, sync
from tests.conftest import HASH, MakeAccount

from .conftest import Receiver

SECRET = "whsec_4f1c0e9a7b2d8e3f"


def events(receiver: Receiver) -> list[dict[str, object]]:
    return [json.loads(request.body) for request in receiver.requests]


def summary(receiver: Receiver) -> list[tuple[object, ...]]:
    found = []
    for event in events(receiver):
        account = event["account"]
        assert isinstance(account, dict)
        found.append((event["type"], account["key"], account["state"]))
    return found


async def test_first_sync_posts_one_signed_added_event_per_account_and_a_second_posts_nothing(
    tmp_path: Path, receiver: Receiver, account: MakeAccount
) -> None:
    options = options_from({"url": receiver.url})
    accounts = [
        account("bob@demo.example", service_id=2),
        account("alice@demo.example", service_id=1, customer_id=41, plan="dsl-10"),
    ]

    first = await sync(options, SECRET, accounts, folder=tmp_path)

    assert summary(receiver) == [
        ("account.added", "radius_login:alice@demo.example", "active"),
        ("account.added", "radius_login:bob@demo.example", "active"),
    ]
    assert first.added == 2 and first.lines == ("+ radius_login:alice@demo.example", "+ radius_login:bob@demo.example")
    for request in receiver.requests:
        assert request.path == "/hooks/bureau?token=t0k3n"
        assert request.headers["Content-Type"] == "application/json"
        assert request.headers["User-Agent"] == "Bureau-Webhooks/1"
        assert verify_signature(SECRET, request.headers["Bureau-Signature"], request.body, now=int(time.time()))
        assert not verify_signature(
            "whsec_not_the_secret_0", request.headers["Bureau-Signature"], request.body, now=int(time.time())
        )
    alice = events(receiver)[0]
    assert uuid.UUID(str(alice["id"])).version == 4 and alice["id"] != events(receiver)[1]["id"]
    assert abs(int(str(alice["created"])) - time.time()) < 60
    assert alice["account"] == {
        "key": "radius_login:alice@demo.example",
        "kind": "radius_login",
        "login": "alice@demo.example",
        "state": "active",
        "uid": 10001,
        "plan": "dsl-10",
        "quota_mb": None,
        "service_id": 1,
        "customer_id": 41,
    }
    assert list(await held(options, SECRET, folder=tmp_path)) == [
        "radius_login:alice@demo.example",
        "radius_login:bob@demo.example",
    ]

    second = await sync(options, SECRET, accounts, folder=tmp_path)

    assert not second.changed and len(receiver.requests) == 2


async def test_a_suspension_posts_changed_and_a_cancellation_posts_removed(
    tmp_path: Path, receiver: Receiver, account: MakeAccount
) -> None:
    options = options_from({"url": receiver.url})
    alice, bob = account("alice@demo.example", service_id=1), account("bob", service_id=2, kind="web", quota_mb=50)
    await sync(options, SECRET, [alice, bob], folder=tmp_path)
    receiver.requests.clear()

    changed = await sync(
        options, SECRET, [account("alice@demo.example", service_id=1, suspended=True), bob], folder=tmp_path
    )
    removed = await sync(
        options, SECRET, [account("alice@demo.example", service_id=1, suspended=True)], folder=tmp_path
    )

    assert summary(receiver) == [
        ("account.changed", "radius_login:alice@demo.example", "suspended"),
        ("account.removed", "web:bob", "active"),
    ]
    assert changed.modified == 1 and removed.deleted == 1
    gone = events(receiver)[1]["account"]
    assert isinstance(gone, dict) and gone["quota_mb"] == 50 and gone["service_id"] == 2
    assert list(await held(options, SECRET, folder=tmp_path)) == ["radius_login:alice@demo.example"]


async def test_a_500_stops_the_sync_with_a_clear_error_and_the_state_keeps_what_was_delivered(
    tmp_path: Path, receiver: Receiver, account: MakeAccount
) -> None:
    options = options_from({"url": receiver.url})
    accounts = [account(name, service_id=i) for i, name in enumerate(("alice", "bob", "carol"), start=1)]
    receiver.fail_when = b'"login":"bob"'

    with pytest.raises(WebhookFailed) as raised:
        await sync(options, SECRET, accounts, folder=tmp_path)

    message = str(raised.value)
    assert message == (
        f"webhook {options.where()}: account.added for account 'radius_login:bob' failed: "
        "HTTP 500 Internal Server Error: receiver broke: database is down"
    )
    assert options.where().endswith("/hooks/bureau")
    assert SECRET not in message and "t0k3n" not in message
    assert [key for _, key, _ in summary(receiver)] == ["radius_login:alice", "radius_login:bob"]  # carol never sent
    assert list(await held(options, SECRET, folder=tmp_path)) == ["radius_login:alice"]

    receiver.fail_when = None
    resumed = await sync(options, SECRET, accounts, folder=tmp_path)

    assert resumed.added == 2 and [key for _, key, _ in summary(receiver)][2:] == [
        "radius_login:bob",
        "radius_login:carol",
    ]


async def test_a_redirect_is_not_followed(tmp_path: Path, receiver: Receiver, account: MakeAccount) -> None:
    receiver.fail_when, receiver.status, receiver.location = b"alice", 302, "http://169.254.169.254/latest"

    with pytest.raises(WebhookFailed, match=r"HTTP 302 Found \(redirects are not followed; configure the final URL\)"):
        await sync(options_from({"url": receiver.url}), SECRET, [account("alice", service_id=1)], folder=tmp_path)

    assert (
        len(receiver.requests) == 1 and await held(options_from({"url": receiver.url}), SECRET, folder=tmp_path) == {}
    )


async def test_a_receiver_that_does_not_answer_in_time_is_reported(
    tmp_path: Path, receiver: Receiver, account: MakeAccount
) -> None:
    receiver.delay_s = 3
    options = options_from({"url": receiver.url, "timeout_s": 1})
    started = time.monotonic()

    with pytest.raises(
        WebhookFailed, match=r"account.added for account 'radius_login:alice' failed: no answer within 1 s"
    ):
        await sync(options, SECRET, [account("alice", service_id=1)], folder=tmp_path)

    assert time.monotonic() - started < 2.5
    assert await held(options, SECRET, folder=tmp_path) == {}


async def test_a_receiver_that_cannot_be_reached_is_reported(tmp_path: Path, account: MakeAccount) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    options = options_from({"url": f"http://127.0.0.1:{port}/hooks"})

    with pytest.raises(WebhookFailed, match=rf"webhook http://127.0.0.1:{port}/hooks: account.added .* failed: .+"):
        await sync(options, SECRET, [account("alice", service_id=1)], folder=tmp_path)


async def test_no_password_hash_or_customer_detail_is_ever_posted(
    tmp_path: Path, receiver: Receiver, account: MakeAccount
) -> None:
    options = options_from({"url": receiver.url})
    email = "customer@example.net"
    alice, bob = account("alice", service_id=1, email=email), account("bob", service_id=2, email=email)
    await sync(options, SECRET, [alice, bob], folder=tmp_path)
    await sync(options, SECRET, [account("alice", service_id=1, suspended=True, email=email)], folder=tmp_path)

    assert len(receiver.requests) == 4
    for request in receiver.requests:
        assert HASH.encode() not in request.body and b"$6$" not in request.body
        assert b"password" not in request.body and b"customer@example.net" not in request.body
    assert HASH not in (tmp_path / "state.json").read_text()


async def test_a_dry_run_posts_nothing_and_reports(tmp_path: Path, receiver: Receiver, account: MakeAccount) -> None:
    report = await sync(
        options_from({"url": receiver.url}), SECRET, [account("alice", service_id=1)], dry_run=True, folder=tmp_path
    )

    assert report.dry_run and report.lines == ("+ radius_login:alice",)
    assert receiver.requests == [] and not (tmp_path / "state.json").exists()


@pytest.mark.parametrize("secret", [None, "", "short"])
async def test_a_target_without_a_proper_signing_secret_is_refused(
    tmp_path: Path, secret: str | None, account: MakeAccount
) -> None:
    options = WebhookOptions(url="http://127.0.0.1:9/hooks")

    with pytest.raises(OptionsError, match="needs a signing secret of at least 16 characters"):
        await sync(options, secret, [account("alice", service_id=1)], dry_run=True, folder=tmp_path)
