"""Customer queries: a page of customers (search, prepaid), one customer."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry.types import Info

from bureau.platform.billing.invoices import latest_invoices
from bureau.platform.ledger.entities import MAIN_BALANCE, list_accounts_of, main_balances_of
from bureau.platform.subscribers import customers as domain
from bureau.platform.subscribers.errors import NotFound as SubscriberNotFound
from bureau.platform.subscribers.services import services_of

from ..errors import NotFound
from ..lookahead import node_fields, own_fields
from ..pagination import DEFAULT_PAGE, Connection, after_key, connection, page_size
from ..permissions import InTenant
from ..scope import visible_customer
from .types import Customer


async def prefetch(info: Info[Any, Any], conn: AsyncConnection, page: list[domain.Customer], wanted: set[str]) -> None:
    """What the query asks of each customer (`wanted`), for the whole page in this unit of
    work: the DataLoaders then answer from memory instead of opening a unit each."""
    loaders = info.context.loaders
    if "accounts" in wanted:
        charts = await list_accounts_of(conn, (c.entity_id for c in page))
        loaders.accounts.prime_many(charts)
        main = {entity: a for entity, found in charts.items() for a in found if a.code == MAIN_BALANCE}
    elif "balance" in wanted:  # the main balance alone: one row per customer, not six
        main = await main_balances_of(conn, (c.entity_id for c in page))
    if "balance" in wanted:
        loaders.main_balance.prime_many({c.entity_id: main.get(c.entity_id) for c in page})
    if "services" in wanted:
        loaders.services.prime_many(await services_of(conn, (c.id for c in page)))
    if "lastInvoice" in wanted:
        latest = await latest_invoices(conn, (c.id for c in page))
        loaders.last_invoice.prime_many({c.id: latest.get(c.id) for c in page})


CustomerResult = Annotated[Customer | NotFound, strawberry.union("CustomerResult")]


@strawberry.type
class CustomerQueries:
    @strawberry.field(permission_classes=[InTenant], description="Customers by number, newest last.")
    async def customers(
        self,
        info: Info[Any, Any],
        first: int = DEFAULT_PAGE,
        after: str | None = None,
        search: Annotated[str | None, strawberry.argument(description="In name, email, number or a login.")] = None,
        prepaid: bool | None = None,
    ) -> Connection[Customer]:
        size = page_size(first)
        async with info.context.unit() as conn:
            currency = info.context.currency
            page = await domain.customer_page(
                conn,
                after_id=after_key("customer", after),
                limit=size + 1,
                resellers=await info.context.resellers(conn),
                search=search,
                prepaid=prepaid,
            )
            await prefetch(info, conn, page[:size], node_fields(info))
        return connection(page, size, "customer", lambda c: c.id, lambda c: Customer.of(c, currency))

    @strawberry.field(permission_classes=[InTenant], description="One customer by number, code or login.")
    async def customer(self, info: Info[Any, Any], ref: str) -> CustomerResult:
        try:
            async with info.context.unit() as conn:
                found = await visible_customer(info, conn, ref)
                await prefetch(info, conn, [found], own_fields(info))
                return Customer.of(found, info.context.currency)
        except SubscriberNotFound as exc:
            return NotFound(message=str(exc))
