"""The one place that turns `BUREAU_BROKER_URL` into a dramatiq broker (DESIGN.md §4).

- `amqp://` / `amqps://`: RabbitMQ, for production.
- `redis://` / `rediss://`: Redis.
- unset: PostgreSQL, on Bureau's own database (dramatiq-postgres), its tables in the
  shared schema with the prefix `dramatiq_` (created by shared migration s0005).

Anything else is refused with a message naming the variable and the allowed schemes.
No other module imports a broker class.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import dramatiq
from dramatiq.middleware import Middleware

from bureau.platform.db.schema import SHARED

from .database import conninfo

VARIABLE = "BUREAU_BROKER_URL"
SCHEMES = {
    "amqp": "rabbitmq",
    "amqps": "rabbitmq",
    "redis": "redis",
    "rediss": "redis",
}
ALLOWED = "amqp:// or amqps:// (RabbitMQ), redis:// or rediss:// (Redis), or unset (PostgreSQL)"
# Where the PostgreSQL broker keeps its tables: migration s0005 creates exactly these.
PG_SCHEMA = SHARED
PG_PREFIX = "dramatiq_"
# The PostgreSQL broker wakes on LISTEN/NOTIFY; polling is the safety net, and what
# notices a delayed message (retry backoff, fair-share deferral) becoming due.
PG_POLL_INTERVAL_S = 0.5
PG_MAX_CONNECTIONS = 16  # per worker process (consumers, acks, the LISTEN connection)
REDIS_NAMESPACE = "bureau"  # key prefix
# pika connection parameters, unless the URL's query sets them.
RABBITMQ_DEFAULTS = {"heartbeat": "30", "connection_attempts": "5", "blocked_connection_timeout": "30"}


class Kind(enum.StrEnum):
    RABBITMQ = "rabbitmq"
    REDIS = "redis"
    POSTGRES = "postgres"


class BrokerUrlError(ValueError):
    """BUREAU_BROKER_URL names no broker Bureau can use."""


def broker_kind(url: str | None) -> Kind:
    """Which broker a BUREAU_BROKER_URL value selects (None or empty: PostgreSQL)."""
    if url is None or not url.strip():
        return Kind.POSTGRES
    scheme = urlsplit(url.strip()).scheme.lower()
    if scheme not in SCHEMES:
        shown = f"scheme {scheme + '://'!r}" if scheme else "no scheme"
        raise BrokerUrlError(f"{VARIABLE}={_redact(url)!r} has {shown}; allowed: {ALLOWED}")
    if not urlsplit(url.strip()).hostname:
        raise BrokerUrlError(f"{VARIABLE}={_redact(url)!r} names no host; e.g. amqp://user:pass@rabbitmq:5672/")
    return Kind(SCHEMES[scheme])


def make_broker(
    broker_url: str | None,
    *,
    database_url: str,
    middleware: Sequence[Middleware],
    namespace: str | None = None,
    pg_poll_interval_s: float = PG_POLL_INTERVAL_S,
) -> dramatiq.Broker:
    """The broker `broker_url` selects, with exactly `middleware` (in that order).

    `database_url` is Bureau's database (used by the PostgreSQL broker). `namespace`
    separates installations sharing one Redis (key prefix); RabbitMQ separates them by
    virtual host (the URL's path) and PostgreSQL by database, so it is unused there.
    """
    kind = broker_kind(broker_url)
    if kind is Kind.RABBITMQ:
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        return RabbitmqBroker(url=_with_defaults(broker_url or "", RABBITMQ_DEFAULTS), middleware=list(middleware))
    if kind is Kind.REDIS:
        from dramatiq.brokers.redis import RedisBroker

        # RedisBroker's __init__ has no annotations.
        redis: dramatiq.Broker = RedisBroker(  # type: ignore[no-untyped-call]
            url=broker_url, middleware=list(middleware), namespace=namespace or REDIS_NAMESPACE
        )
        return redis

    from dramatiq_postgres import PostgresBroker

    separator = "&" if "?" in (url := conninfo(database_url)) else "?"
    postgres: dramatiq.Broker = PostgresBroker(
        url=f"{url}{separator}maxconn={PG_MAX_CONNECTIONS}",
        middleware=list(middleware),
        results=False,
        schema=PG_SCHEMA,
        prefix=PG_PREFIX,
        poll_interval=pg_poll_interval_s,
    )
    return postgres


def _with_defaults(url: str, defaults: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    return urlunsplit(parts._replace(query=urlencode({**defaults, **query})))


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)
