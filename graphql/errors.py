"""Expected failures as members of result unions, and the masking of unexpected ones.

A mutation or a lookup that can fail in a way the caller should handle returns a union
(`Customer | NotFound | ValidationError`): the failure is data, with a message that says
what was wrong. Anything else that goes wrong is a bug or an outage: the caller sees
"Unexpected error" with the request id, and the log has the exception under that id.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import strawberry
from graphql.error import GraphQLError
from strawberry.extensions import SchemaExtension

from bureau.platform.billing.errors import BillingError, InvoiceNotFound
from bureau.platform.catalog.errors import CatalogError
from bureau.platform.catalog.errors import NotFound as CatalogNotFound
from bureau.platform.crypto.passwords import InvalidPassword
from bureau.platform.ledger.errors import LedgerError
from bureau.platform.money import MoneyError
from bureau.platform.subscribers.errors import NotFound as SubscriberNotFound
from bureau.platform.subscribers.errors import PlanNotAllowedForReseller, SubscriberError
from bureau.tenants.lifecycle import TenantError, TenantNotFound

from .context import Refused

log = logging.getLogger("bureau.graphql")


@strawberry.type(description="What was asked for does not exist, or is not the caller's to see.")
class NotFound:
    message: str


@strawberry.type(description="One input field that was wrong.")
class FieldError:
    path: list[str]
    message: str


@strawberry.type(description="The input was refused; nothing was written.")
class ValidationError:
    message: str
    fields: list[FieldError]


@strawberry.type(description="The plan is not one the customer's reseller may sell.")
class PlanNotAllowed:
    message: str


def not_found(what: str) -> NotFound:
    return NotFound(message=f"{what} does not exist")


def failure(exc: Exception, field: str | None = None) -> NotFound | ValidationError | PlanNotAllowed:
    """The union member for an expected error of a platform service."""
    if isinstance(exc, PlanNotAllowedForReseller):
        return PlanNotAllowed(message=str(exc))
    return refusal(exc, field)


def refusal(exc: Exception, field: str | None = None) -> NotFound | ValidationError:
    """NotFound or ValidationError for an expected error (the unions without PlanNotAllowed)."""
    if isinstance(exc, (SubscriberNotFound, TenantNotFound, InvoiceNotFound, CatalogNotFound)):
        return NotFound(message=str(exc))
    fields = [FieldError(path=["input", field], message=str(exc))] if field else []
    return ValidationError(message=str(exc), fields=fields)


EXPECTED = (SubscriberError, TenantError, CatalogError, BillingError, LedgerError, MoneyError, InvalidPassword)


class MaskUnexpected(SchemaExtension):
    """Unexpected errors become "Unexpected error (request <id>)", logged with the id;
    GraphQL's own errors (syntax, validation, limits) and refusals pass unchanged."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None) if result is not None else None
        if not errors:
            return
        request_id = getattr(self.execution_context.context, "request_id", "-")
        result.errors = [self._mask(error, request_id) for error in errors]  # type: ignore[union-attr]

    @staticmethod
    def _mask(error: GraphQLError, request_id: str) -> GraphQLError:
        original = error.original_error
        if original is None or isinstance(original, (GraphQLError, Refused)) or error.path is None:
            return error  # no path: the request's own input failed to parse or coerce (a BigInt too big)
        log.error("request %s: unexpected error at %s", request_id, error.path, exc_info=original)
        return GraphQLError(
            f"Unexpected error (request {request_id})",
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": "INTERNAL", "request_id": request_id},
        )
