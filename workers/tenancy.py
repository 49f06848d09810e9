"""The tenant a message is for: sent in its options, made current on the worker.

A message sent with `send_for_tenant` carries the tenant's registry id and slug in its
options (`tenant_id`, `tenant_slug`). On the worker, `TenantContext` makes that tenant
current for the actor (`current_tenant()`) and clears it when the message is done,
skipped or failed, so a worker thread never carries one tenant into the next message.
Actors still take ids and primitives only; the tenant is context, not an argument.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

import dramatiq
from dramatiq.middleware import Middleware

from bureau.tenants.routing import TenantRef, validate_slug

TENANT_ID = "tenant_id"
TENANT_SLUG = "tenant_slug"

P = ParamSpec("P")
R = TypeVar("R")

_current: ContextVar[TenantRef | None] = ContextVar("bureau_worker_tenant", default=None)


class NoTenant(LookupError):
    """current_tenant() outside a message sent for a tenant."""


def tenant_options(tenant: TenantRef) -> dict[str, Any]:
    """The message options that carry `tenant`."""
    return {TENANT_ID: int(tenant.id), TENANT_SLUG: validate_slug(tenant.slug)}


def send_for_tenant(
    actor: dramatiq.Actor[P, R], tenant: TenantRef, *args: Any, delay: int | None = None, **kwargs: Any
) -> dramatiq.Message[R]:
    """Send `actor(*args, **kwargs)` on behalf of `tenant` (its id and slug ride along)."""
    return actor.send_with_options(args=args, kwargs=kwargs, delay=delay, **tenant_options(tenant))


def tenant_of(message: dramatiq.Message[Any] | dramatiq.MessageProxy) -> TenantRef | None:
    """The tenant a message was sent for, or None for platform-wide work."""
    options: dict[str, Any] = message.options
    tenant_id, slug = options.get(TENANT_ID), options.get(TENANT_SLUG)
    if tenant_id is None and slug is None:
        return None
    if not isinstance(tenant_id, int) or isinstance(tenant_id, bool) or not isinstance(slug, str):
        raise ValueError(f"message {message.message_id} carries a malformed tenant: id={tenant_id!r} slug={slug!r}")
    return TenantRef(tenant_id, validate_slug(slug))


def current_tenant() -> TenantRef:
    """The tenant of the message being processed on this thread."""
    tenant = _current.get()
    if tenant is None:
        raise NoTenant("no tenant: this code runs outside a message sent with send_for_tenant()")
    return tenant


def current_tenant_or_none() -> TenantRef | None:
    return _current.get()


class TenantContext(Middleware):
    """Makes the message's tenant current while its actor runs (first in the chain)."""

    def before_process_message(self, broker: dramatiq.Broker, message: dramatiq.MessageProxy) -> None:
        _current.set(tenant_of(message))

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: dramatiq.MessageProxy,
        *,
        result: Any | None = None,
        exception: BaseException | None = None,
    ) -> None:
        _current.set(None)

    def after_skip_message(self, broker: dramatiq.Broker, message: dramatiq.MessageProxy) -> None:
        _current.set(None)
