"""DataLoaders: the balances, services and invoices of a page in one query each."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from strawberry.dataloader import DataLoader

from bureau.platform.billing.invoices import Invoice, latest_invoices, lines_of
from bureau.platform.invoicing.document import InvoiceLine
from bureau.platform.ledger.entities import AccountBalance, list_accounts_of, main_balances_of
from bureau.platform.subscribers.services import Service, services_of

if TYPE_CHECKING:
    from .context import Context


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
R = TypeVar("R")


def now_or_later(loader: DataLoader[K, V], key: K, shape: Callable[[V], R]) -> Any:
    """`shape` of the loader's value for `key`, at once when the loader already holds it (a
    page's resolver primed it), else an awaitable of it. A field resolver that answers a
    plain value spares graphql-core the future, task and callbacks an awaitable costs,
    which for a page of 100 customers was most of the page's time (docs/benchmarks.md).
    Typed Any: the field's own annotation says what the value is, either way."""
    future = loader.cache_map.get(key) if loader.cache else None
    if future is not None and future.done() and not future.cancelled() and future.exception() is None:
        return shape(future.result())

    async def later() -> R:
        return shape(await loader.load(key))

    awaitable: Awaitable[R] = later()
    return awaitable


class Loaders:
    """One set per request, so nothing cached outlives the request or crosses callers."""

    def __init__(self, context: Context) -> None:
        self._context = context
        self.accounts = DataLoader[int, list[AccountBalance]](self._accounts)
        self.main_balance = DataLoader[int, AccountBalance | None](self._main_balance)
        self.services = DataLoader[int, list[Service]](self._services)
        self.last_invoice = DataLoader[int, Invoice | None](self._last_invoice)
        self.invoice_lines = DataLoader[int, list[InvoiceLine]](self._invoice_lines)

    async def _accounts(self, entity_ids: Sequence[int]) -> list[list[AccountBalance]]:
        async with self._context.unit() as conn:
            found = await list_accounts_of(conn, entity_ids)
        return [found.get(i, []) for i in entity_ids]

    async def _main_balance(self, entity_ids: Sequence[int]) -> list[AccountBalance | None]:
        async with self._context.unit() as conn:
            found = await main_balances_of(conn, entity_ids)
        return [found.get(i) for i in entity_ids]

    async def _services(self, customer_ids: Sequence[int]) -> list[list[Service]]:
        async with self._context.unit() as conn:
            found = await services_of(conn, customer_ids)
        return [found.get(i, []) for i in customer_ids]

    async def _last_invoice(self, customer_ids: Sequence[int]) -> list[Invoice | None]:
        async with self._context.unit() as conn:
            found = await latest_invoices(conn, customer_ids)
        return [found.get(i) for i in customer_ids]

    async def _invoice_lines(self, invoice_ids: Sequence[int]) -> list[list[InvoiceLine]]:
        async with self._context.unit() as conn:
            found = await lines_of(conn, invoice_ids)
        return [found.get(i, []) for i in invoice_ids]
