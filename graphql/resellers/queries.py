"""Reseller queries: a page of resellers, one reseller, statements of account (a
customer's, and a reseller key's own commission)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry.permission import BasePermission
from strawberry.types import Info

from bureau.platform.billing.payments import COMMISSION_EARNED
from bureau.platform.ledger.entities import list_accounts, query_account
from bureau.platform.ledger.errors import EntityNotFound
from bureau.platform.ledger.statement import statement_of_account
from bureau.platform.subscribers import resellers as domain
from bureau.platform.subscribers.errors import NotFound as SubscriberNotFound
from bureau.platform.subscribers.reseller_listing import reseller_details, reseller_page
from bureau.tenants.apikeys import Scope

from ..context import Refused
from ..errors import NotFound, ValidationError, refusal
from ..pagination import DEFAULT_PAGE, Connection, after_key, connection, page_size
from ..permissions import InTenant
from ..scope import visible_customer
from .types import Reseller, Statement

MAX_STATEMENT_DAYS = 366  # the longest period one statement covers
MAX_ACCOUNT_CODE = 8  # digits of an account code ("1000") a statement is asked for

ResellerResult = Annotated[Reseller | NotFound, strawberry.union("ResellerResult")]
StatementResult = Annotated[Statement | NotFound | ValidationError, strawberry.union("StatementResult")]

FromArgument = Annotated[
    datetime, strawberry.argument(name="from", description="The period's first instant, with a time zone.")
]
ToArgument = Annotated[
    datetime, strawberry.argument(name="to", description="The first instant after the period, with a time zone.")
]


class IsReseller(BasePermission):
    """A reseller key: its own commission and the like."""

    message = "this needs a reseller key (Authorization: Bearer <key>); ISP keys read a reseller through reseller(code)"

    def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        principal = info.context.principal
        return (
            principal is not None
            and principal.tenant is not None
            and principal.scope is Scope.RESELLER
            and principal.reseller_id is not None
        )


class InvalidStatement(ValueError):
    """A statement that cannot be given: a period without a time zone, reversed or too long,
    or an account that counts something other than money."""


def check_period(start: datetime, end: datetime) -> None:
    for name, value in (("from", start), ("to", end)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidStatement(
                f"{name} must carry a time zone (e.g. 2026-11-01T00:00:00Z), got {value.isoformat()}"
            )
    if end <= start:
        raise InvalidStatement(f"to ({end.isoformat()}) must be after from ({start.isoformat()})")
    if end - start > timedelta(days=MAX_STATEMENT_DAYS):
        raise InvalidStatement(f"a statement covers at most {MAX_STATEMENT_DAYS} days; ask for a shorter period")


async def resellers_shown(conn: AsyncConnection, sellers: list[domain.Reseller]) -> list[Reseller]:
    details = await reseller_details(conn, sellers)
    return [Reseller.of(r, details[r.id]) for r in sellers]


async def visible_reseller(info: Info[Any, Any], conn: AsyncConnection, code: str) -> domain.Reseller:
    """The reseller `code` if the caller may see it; otherwise the NotFound a missing one gets."""
    found = await domain.get_reseller(conn, code)
    allowed = await info.context.resellers(conn)
    if allowed is not None and found.id not in allowed:
        raise SubscriberNotFound(f"no reseller has code {code!r}")  # the words of get_reseller
    return found


@strawberry.type
class ResellerQueries:
    @strawberry.field(
        permission_classes=[InTenant],
        description="Resellers by creation, oldest first; a reseller key sees itself and the resellers below it.",
    )
    async def resellers(
        self, info: Info[Any, Any], first: int = DEFAULT_PAGE, after: str | None = None
    ) -> Connection[Reseller]:
        size = page_size(first)
        key = after_key("reseller", after)
        async with info.context.unit() as conn:
            page = await reseller_page(conn, after_id=key, limit=size + 1, within=await info.context.resellers(conn))
            details = await reseller_details(conn, page[:size])
        return connection(page, size, "reseller", lambda r: r.id, lambda r: Reseller.of(r, details[r.id]))

    @strawberry.field(permission_classes=[InTenant], description="One reseller by code.")
    async def reseller(self, info: Info[Any, Any], code: str) -> ResellerResult:
        try:
            async with info.context.unit() as conn:
                found = await visible_reseller(info, conn, code)
                return (await resellers_shown(conn, [found]))[0]
        except SubscriberNotFound as exc:
            return NotFound(message=str(exc))

    @strawberry.field(
        permission_classes=[InTenant],
        description=f"The statement of account of a customer over a period of at most {MAX_STATEMENT_DAYS} days.",
    )
    async def statement(
        self,
        info: Info[Any, Any],
        customer: Annotated[str, strawberry.argument(description="Number, code or login.")],
        from_: FromArgument,
        to: ToArgument,
        account: Annotated[
            str, strawberry.argument(description="The account's code: 1000 main balance, 1100 receivable…")
        ] = "1000",
    ) -> StatementResult:
        try:
            check_period(from_, to)
            if not (account.isascii() and account.isdigit() and len(account) <= MAX_ACCOUNT_CODE):
                raise InvalidStatement(f"an account code is up to {MAX_ACCOUNT_CODE} digits, e.g. 1000 or 1100")
            async with info.context.unit() as conn:
                owner = await visible_customer(info, conn, customer)
                try:
                    chosen = await query_account(conn, owner.entity_id, account)
                except EntityNotFound:
                    codes = ", ".join(a.code for a in await list_accounts(conn, owner.entity_id))
                    return NotFound(message=f"customer {owner.number} has no account {account!r}; it has {codes}")
                if chosen.unit != info.context.currency:
                    raise InvalidStatement(f"account {account} counts {chosen.unit.lower()}, not money; no statement")
                return Statement.of(await statement_of_account(conn, chosen.id, from_, to))
        except (SubscriberNotFound, InvalidStatement) as exc:
            return refusal(exc)

    @strawberry.field(
        permission_classes=[IsReseller],
        description="A reseller key's own commission earned (account 2300) over a period: what the ISP owes it.",
    )
    async def commission_statement(self, info: Info[Any, Any], from_: FromArgument, to: ToArgument) -> StatementResult:
        reseller_id = info.context.caller.reseller_id
        if reseller_id is None:  # IsReseller lets none through; this is for the type checker
            raise Refused(IsReseller.message)
        try:
            check_period(from_, to)
            async with info.context.unit() as conn:
                me = await domain.get_reseller_by_id(conn, reseller_id)
                earned = await query_account(conn, me.entity_id, COMMISSION_EARNED)
                return Statement.of(await statement_of_account(conn, earned.id, from_, to))
        except (SubscriberNotFound, InvalidStatement) as exc:
            return refusal(exc)
