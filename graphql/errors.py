"""Expected failures as members of result unions, and the masking of unexpected ones.

A mutation or a lookup that can fail in a way the caller should handle returns a union
(`Customer | NotFound | ValidationError`): the failure is data, with a message that says
what was wrong. Anything else that goes wrong is a bug or an outage: the caller sees
"Unexpected error" with the request id, and the log has the exception under that id.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Iterator, Mapping

import strawberry
from graphql.error import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.utils.str_converters import to_camel_case

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
from .scalars import BigInt

log = logging.getLogger("bureau.graphql")


@strawberry.type(description="What was asked for does not exist, or is not the caller's to see.")
class NotFound:
    message: str


@strawberry.type(description="More money was asked for than there is; nothing was written.")
class InsufficientFunds:
    message: str
    available_micros: BigInt = strawberry.field(description="What there is, in micro-units.")


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


def failure(
    exc: Exception, field: str | None = None, *, given: object = None
) -> NotFound | ValidationError | PlanNotAllowed:
    """The union member for an expected error of a platform service."""
    if isinstance(exc, PlanNotAllowedForReseller):
        return PlanNotAllowed(message=str(exc))
    return refusal(exc, field, given=given)


def refusal(exc: Exception, field: str | None = None, *, given: object = None) -> NotFound | ValidationError:
    """NotFound or ValidationError for an expected error (the unions without PlanNotAllowed).

    A ValidationError names the field at fault: `field` (under `input`) when the resolver
    knows it, else the field of `given` (the mutation's input object, or a mapping of its
    arguments) that the platform's message is about (see `field_paths`)."""
    if isinstance(exc, (SubscriberNotFound, TenantNotFound, InvoiceNotFound, CatalogNotFound)):
        return NotFound(message=str(exc))
    return invalid(exc, field, given=given)


def invalid(exc: Exception, field: str | None = None, *, given: object = None) -> ValidationError:
    """The ValidationError for a refused input, with the path of the field at fault."""
    message = str(exc)
    if field:
        paths = [["input", field]]
    elif given is not None:
        paths = field_paths(message, given)
    else:
        paths = []
    return ValidationError(message=message, fields=[FieldError(path=path, message=message) for path in paths])


def _leaves(given: object, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str, object]]:
    """(path, python name, value) of every scalar field of an input object or argument map."""
    if dataclasses.is_dataclass(given) and not isinstance(given, type):
        items: Mapping[str, object] = {f.name: getattr(given, f.name) for f in dataclasses.fields(given)}
    elif isinstance(given, Mapping):
        items = given
    else:
        return
    for name, value in items.items():
        here = (*path, to_camel_case(name))
        if dataclasses.is_dataclass(value) or isinstance(value, Mapping):
            yield from _leaves(value, here)
        elif isinstance(value, (list, tuple)):
            for index, item in enumerate(value):
                yield from _leaves(item, (*here, str(index)))
        else:
            yield here, name, value


def field_paths(message: str, given: object) -> list[list[str]]:
    """The input field a platform message is about. Platform messages quote the value they
    refuse (`email 'bob@' is not an address`, `got -1`) and name what they check ("the
    credit limit must ..."): each field scores 2 if the message quotes its value and 1 if
    it uses its name, and the best-scoring field is the one. An input object's fields are
    under "input"; a mapping's are top-level arguments. None found: no path (the error is
    about the request as a whole)."""
    root: tuple[str, ...] = () if isinstance(given, Mapping) else ("input",)
    lowered = message.lower()
    best: tuple[int, list[str]] = (0, [])
    for path, name, value in _leaves(given, root):
        if value is None or isinstance(value, bool):
            continue
        score = 2 if _quotes_value(message, name, value) else 0
        words = name.removesuffix("_micros").removesuffix("_bp").replace("_", " ")
        if len(words) > 2 and re.search(rf"\b{re.escape(words)}\b", lowered):
            score += 1
        if score > best[0]:
            best = (score, list(path))
    return [best[1]] if best[0] else []


def _quotes_value(message: str, name: str, value: object) -> bool:
    """An amount in micro-units is quoted as the platform writes amounts ("0.000001 USD"),
    or as a raw count of at least four digits: "1" in "1 to 500 characters" is no amount."""
    if name.endswith("_micros") and isinstance(value, int):
        return _mentions(message, _decimal(value), then=" [A-Z]{3}") or (
            abs(value) >= 1000 and _mentions(message, str(value))
        )
    return _quotes(message, value)


def _decimal(micros: object) -> str:
    """Micro-units as the platform's messages write amounts: 1500000 -> "1.5"."""
    if not isinstance(micros, int):
        return ""
    whole, fraction = divmod(abs(micros), 1_000_000)
    shown = f"{whole}.{fraction:06d}".rstrip("0").rstrip(".")
    return f"-{shown}" if micros < 0 else shown


def _quotes(message: str, value: object) -> bool:
    if isinstance(value, str):
        quoted = repr(value) in message or (len(value) > 2 and f"'{value}'" in message)
        return bool(value) and (quoted or (len(value) >= 10 and value in message))  # a long value needs no quotes
    return _mentions(message, str(value))


def _mentions(message: str, shown: str, *, then: str = "") -> bool:
    """`shown` in the message as a whole number (not part of a longer one), followed by
    `then` (a pattern: an amount is followed by its currency code)."""
    pattern = rf"(?<![\w.]){re.escape(shown)}(?![\w.]){then}"
    return bool(shown) and re.search(pattern, message) is not None


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
