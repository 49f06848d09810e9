"""What a caller may see inside its tenant: everything (ISP keys), or the customers of a
reseller subtree (reseller keys). Whatever lies outside is answered as missing."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry.types import Info

from bureau.platform.billing import payments
from bureau.platform.billing.errors import InvoiceNotFound
from bureau.platform.billing.invoices import Invoice, get_invoice
from bureau.platform.subscribers import customers, services
from bureau.platform.subscribers.errors import NotFound


async def visible_customer(info: Info[Any, Any], conn: AsyncConnection, ref: str) -> customers.Customer:
    """The customer `ref` (number, code or login) if the caller may see it; otherwise the
    NotFound a customer that does not exist gets."""
    found = await customers.get_customer(conn, ref)
    allowed = await info.context.resellers(conn)
    if allowed is not None and found.reseller_id not in allowed:
        raise NotFound(f"no customer has number, code or login {ref!r}")
    return found


def service_id(value: str) -> int:
    if not value.isdigit() or len(value) > 18:
        raise NotFound(f"no service has id {value}")
    return int(value)


async def visible_service(
    info: Info[Any, Any], conn: AsyncConnection, ref: str, *, for_update: bool = False
) -> services.Service:
    """The service with id `ref` if the caller may see its customer; else NotFound."""
    found = await services.get_service(conn, service_id(ref), for_update=for_update)
    allowed = await info.context.resellers(conn)
    if allowed is not None:
        owner = await customers.get_customer(conn, found.customer_number)
        if owner.reseller_id not in allowed:
            raise NotFound(f"no service has id {found.id}")  # the words of get_service for a missing one
    return found


async def visible_invoice(info: Info[Any, Any], conn: AsyncConnection, number: str) -> Invoice:
    """Invoice `number` if the caller may see it; else the InvoiceNotFound of a missing one."""
    found = await get_invoice(conn, number)
    allowed = await info.context.resellers(conn)
    if allowed is not None and found.reseller_id not in allowed:
        raise InvoiceNotFound(f"no invoice has number {number!r}")
    return found


async def visible_payment(info: Info[Any, Any], conn: AsyncConnection, ref: str) -> payments.Payment:
    """Payment `ref` (its id) if the caller may see its customer; else PaymentNotFound."""
    if not ref.isdigit() or len(ref) > 18:
        raise payments.PaymentNotFound(f"no payment has id {ref}")
    found = await payments.get_payment(conn, int(ref))
    allowed = await info.context.resellers(conn)
    if allowed is not None and (await customers.get_customer(conn, found.customer)).reseller_id not in allowed:
        raise payments.PaymentNotFound(f"no payment has id {ref}")
    return found
