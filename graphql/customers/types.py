"""Customers, their services and balances as the API shows them (built from domain values)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from bureau.platform.billing.invoices import Invoice as DomainInvoice
from bureau.platform.ledger.entities import AccountBalance
from bureau.platform.money import MoneyError, format_amount
from bureau.platform.subscribers import customers as domain
from bureau.platform.subscribers.services import Service as DomainService

from ..loaders import now_or_later
from ..scalars import BigInt

if TYPE_CHECKING:
    from ..billing.types import Invoice


@strawberry.type(description="An amount in the tenant's currency.")
class Money:
    micros: BigInt
    currency: str
    formatted: str

    @classmethod
    def of(cls, micros: int, currency: str) -> Money:
        return cls(micros=BigInt(micros), currency=currency, formatted=format_amount(micros, currency))


@strawberry.type(description="One account of the customer's chart: 1000 main balance, 1010 reserve, 8000 sessions…")
class Account:
    code: str
    name: str
    unit: str = strawberry.field(description="The currency, or what is counted (SESSIONS on 8000).")
    balance: BigInt = strawberry.field(description="Micro-units of a currency; a plain count otherwise.")
    formatted: str

    @classmethod
    def of(cls, account: AccountBalance) -> Account:
        try:
            shown = format_amount(account.balance, account.unit)
        except MoneyError:
            shown = f"{account.balance} {account.unit.lower()}"
        return cls(
            code=account.code, name=account.name, unit=account.unit, balance=BigInt(account.balance), formatted=shown
        )


@strawberry.type
class Service:
    id: strawberry.ID
    kind: str
    login: str
    plan: str
    state: str

    @classmethod
    def of(cls, service: DomainService) -> Service:
        return cls(
            id=strawberry.ID(str(service.id)),
            kind=service.kind.value,
            login=service.login,
            plan=service.plan,
            state=service.state.value,
        )


@strawberry.type
class Address:
    country: str
    state: str | None
    city: str | None
    postal_code: str | None
    lines: list[str]


@strawberry.type
class Customer:
    number: strawberry.ID
    name: str
    email: str
    phone: str | None
    address: Address
    reseller: str | None
    prepaid: bool
    credit_limit: Money
    entity_id: strawberry.Private[int]
    customer_id: strawberry.Private[int]

    @classmethod
    def of(cls, customer: domain.Customer, currency: str) -> Customer:
        a = customer.address
        return cls(
            number=strawberry.ID(customer.number),
            name=customer.name,
            email=customer.email,
            phone=customer.phone,
            address=Address(
                country=a.country, state=a.state, city=a.city, postal_code=a.postal_code, lines=list(a.lines)
            ),
            reseller=customer.reseller,
            prepaid=customer.prepaid,
            credit_limit=Money.of(customer.credit_limit_micros, currency),
            entity_id=customer.entity_id,
            customer_id=customer.id,
        )

    # These four answer at once when the page's resolver primed the loaders (now_or_later).
    @strawberry.field(description="Every account of the customer with its balance.")
    def accounts(self, info: Info[Any, Any]) -> list[Account]:
        return now_or_later(info.context.loaders.accounts, self.entity_id, _accounts)  # type: ignore[no-any-return]

    @strawberry.field(
        description="The main balance (1000): a prepaid customer's funds. A post-paid customer's payments on"
        " account are a credit on 1100 Receivable (see accounts) until invoices take them."
    )
    def balance(self, info: Info[Any, Any]) -> Money | None:
        return now_or_later(info.context.loaders.main_balance, self.entity_id, _money)  # type: ignore[no-any-return]

    @strawberry.field
    def services(self, info: Info[Any, Any]) -> list[Service]:
        return now_or_later(info.context.loaders.services, self.customer_id, _services)  # type: ignore[no-any-return]

    @strawberry.field(description="The customer's newest invoice, if any.")
    def last_invoice(
        self, info: Info[Any, Any]
    ) -> Annotated[Invoice, strawberry.lazy("bureau.graphql.billing.types")] | None:
        return now_or_later(info.context.loaders.last_invoice, self.customer_id, _invoice)  # type: ignore[no-any-return]


def _accounts(found: list[AccountBalance]) -> list[Account]:
    return [Account.of(a) for a in found]


def _money(found: AccountBalance | None) -> Money | None:
    return Money.of(found.balance, found.unit) if found is not None else None


def _services(found: list[DomainService]) -> list[Service]:
    return [Service.of(s) for s in found]


def _invoice(found: DomainInvoice | None) -> Invoice | None:
    from ..billing.types import Invoice  # billing's types use Money from here

    return Invoice.of(found) if found is not None else None
