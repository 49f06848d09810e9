"""Declaring actors before a broker exists, and binding them to the one that is built.

dramatiq binds an actor to a broker when the actor is declared, and falls back to a
RabbitMQ broker on localhost if none was set. Bureau builds its broker from settings at
start-up (`app.build`), after the actor modules are imported, so actors are declared on
`UNBOUND`, a broker that only collects them and refuses to send, and `bind` moves them
to the real broker. Sending before that is an error that says what to do, never a
message lost in a default broker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ParamSpec, TypeVar

import dramatiq

P = ParamSpec("P")
R = TypeVar("R")

DEFAULT_QUEUE = "default"


class BrokerNotConfigured(RuntimeError):
    """A message was sent before `bureau.workers.app.build` bound the actors to a broker."""


class _Unbound(dramatiq.Broker):
    def __init__(self) -> None:
        super().__init__(middleware=[])

    def declare_queue(self, queue_name: str) -> None:
        self.queues[queue_name] = None

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 5000) -> dramatiq.Consumer:
        raise BrokerNotConfigured("no broker yet: build one with bureau.workers.app.build() first")

    def enqueue(self, message: dramatiq.Message[Any], *, delay: int | None = None) -> dramatiq.Message[Any]:
        raise BrokerNotConfigured(
            f"cannot send {message.actor_name}: no broker yet; build one with bureau.workers.app.build() first"
        )

    def get_declared_queues(self) -> set[str]:
        return set(self.queues)

    def get_declared_delay_queues(self) -> set[str]:
        return set()

    def flush(self, queue_name: str) -> None:
        pass

    def flush_all(self) -> None:
        pass

    def join(self, queue_name: str, *, timeout: int | None = None) -> None:
        pass


UNBOUND = _Unbound()


def actor(
    *, queue_name: str = DEFAULT_QUEUE, actor_name: str | None = None, **options: Any
) -> Callable[[Callable[P, R]], dramatiq.Actor[P, R]]:
    """Declare a Bureau actor (bound to the real broker by `bind`)."""

    def declare(fn: Callable[P, R]) -> dramatiq.Actor[P, R]:
        return dramatiq.Actor(
            fn, broker=UNBOUND, actor_name=actor_name or fn.__name__, queue_name=queue_name, priority=0, options=options
        )

    return declare


def declared() -> list[dramatiq.Actor[Any, Any]]:
    """Every actor declared with `actor` so far."""
    return list(UNBOUND.actors.values())


def bind(broker: dramatiq.Broker, actors: Iterable[dramatiq.Actor[Any, Any]]) -> None:
    """Move `actors` to `broker`: they send to it, and its workers run them."""
    for each in actors:
        each.broker = broker
        broker.declare_actor(each)
