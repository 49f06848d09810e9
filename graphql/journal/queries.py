"""Journal and usage queries: a page of journal entries (ISP keys), a customer's usage in a period."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from bureau.platform.billing.period import parse_period
from bureau.platform.billing.usage import usage_in_period
from bureau.platform.ledger import journal_listing
from bureau.platform.ledger.errors import LedgerError
from bureau.platform.subscribers.errors import NotFound as SubscriberNotFound

from ..context import Refused
from ..errors import EXPECTED, NotFound, ValidationError, refusal
from ..pagination import DEFAULT_PAGE, Connection, after_key, connection, page_size
from ..permissions import InTenant, IsIspStaff
from ..scalars import BigInt
from ..scope import visible_customer
from .types import JournalEntry, ServiceUsage, Usage

UsageResult = Annotated[Usage | NotFound | ValidationError, strawberry.union("UsageResult")]

KIND = "journal"


def _utc(when: datetime | None) -> datetime | None:
    """A time without a zone is taken as UTC."""
    return when.replace(tzinfo=UTC) if when is not None and when.tzinfo is None else when


@strawberry.type
class JournalQueries:
    @strawberry.field(permission_classes=[IsIspStaff], description="Journal entries with their postings, newest first.")
    async def journal_entries(
        self,
        info: Info[Any, Any],
        first: int = DEFAULT_PAGE,
        after: str | None = None,
        customer: Annotated[
            str | None, strawberry.argument(description="Only entries touching this customer's accounts.")
        ] = None,
        since: Annotated[
            datetime | None, strawberry.argument(name="from", description="Posted at or after (UTC if no zone).")
        ] = None,
        until: Annotated[
            datetime | None, strawberry.argument(name="to", description="Posted before (UTC if no zone).")
        ] = None,
        key_prefix: Annotated[
            str | None, strawberry.argument(description="Only keys starting so: adjustment:, invoice:2026-10:…")
        ] = None,
    ) -> Connection[JournalEntry]:
        size = page_size(first)
        key = after_key(KIND, after)
        async with info.context.unit() as conn:
            try:
                owner = await visible_customer(info, conn, customer) if customer is not None else None
            except SubscriberNotFound:
                return connection([], size, KIND, lambda e: e.id, JournalEntry.of)
            try:
                page = await journal_listing.journal_page(
                    conn,
                    limit=size + 1,
                    before_id=key or None,
                    entity_id=owner.entity_id if owner else None,
                    since=_utc(since),
                    until=_utc(until),
                    key_prefix=key_prefix,
                )
            except LedgerError as exc:
                raise Refused(str(exc)) from None
        return connection(page, size, KIND, lambda e: e.id, JournalEntry.of)

    @strawberry.field(
        permission_classes=[InTenant],
        description="Usage recorded for the customer's services in a billing period (records started in it).",
    )
    async def usage(
        self,
        info: Info[Any, Any],
        customer: Annotated[str, strawberry.argument(description="Number, code or login.")],
        period: Annotated[str, strawberry.argument(description="The billing month, YYYY-MM.")],
    ) -> UsageResult:
        try:
            month = parse_period(period)
            async with info.context.unit() as conn:
                owner = await visible_customer(info, conn, customer)
                found = [
                    ServiceUsage(
                        service=strawberry.ID(str(u.service_id)),
                        login=u.login,
                        seconds=BigInt(u.seconds),
                        octets_in=BigInt(u.octets_in),
                        octets_out=BigInt(u.octets_out),
                        records=u.records,
                    )
                    for u in await usage_in_period(conn, owner.id, month)
                ]
        except EXPECTED as exc:
            return refusal(exc)
        return Usage(customer=owner.number, period=month.name, services=found)
