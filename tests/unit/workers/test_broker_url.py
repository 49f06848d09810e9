"""Choosing the broker from BUREAU_BROKER_URL, and refusing what cannot be used."""

from __future__ import annotations

import pytest

from bureau.workers.broker import BrokerUrlError, Kind, broker_kind, make_broker


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        (None, Kind.POSTGRES),
        ("", Kind.POSTGRES),
        ("  ", Kind.POSTGRES),
        ("amqp://guest:guest@127.0.0.1:5672/", Kind.RABBITMQ),
        ("amqps://user:pw@rabbit.example:5671/bureau", Kind.RABBITMQ),
        ("AMQP://rabbit", Kind.RABBITMQ),
        ("redis://127.0.0.1:6379/0", Kind.REDIS),
        ("rediss://:secret@redis.example:6380", Kind.REDIS),
    ],
)
def test_the_url_scheme_selects_the_broker(url: str | None, kind: Kind) -> None:
    assert broker_kind(url) is kind


@pytest.mark.parametrize(
    "url",
    ["postgresql://localhost/bureau", "http://rabbit:15672/", "sqs://queue", "kafka://k:9092", "rabbitmq"],
)
def test_any_other_url_is_refused_naming_the_variable_and_the_allowed_schemes(url: str) -> None:
    with pytest.raises(BrokerUrlError) as caught:
        broker_kind(url)
    message = str(caught.value)
    assert message.startswith("BUREAU_BROKER_URL=")
    for allowed in ("amqp://", "amqps://", "redis://", "rediss://", "unset"):
        assert allowed in message


def test_a_url_without_a_host_is_refused() -> None:
    with pytest.raises(BrokerUrlError, match="names no host"):
        broker_kind("redis://")


def test_a_refused_url_never_echoes_its_password() -> None:
    with pytest.raises(BrokerUrlError) as caught:
        broker_kind("nats://bureau:hunter2@nats:4222")
    assert "hunter2" not in str(caught.value)
    assert "bureau:***@nats" in str(caught.value)


def test_make_broker_refuses_before_connecting_anywhere() -> None:
    with pytest.raises(BrokerUrlError):
        make_broker("mqtt://broker", database_url="postgresql://localhost/bureau", middleware=[])
