"""What a subscription sends: a customer's balances after they moved, a session after it changed."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from bureau.platform.ledger.entities import AccountBalance
from bureau.platform.subscribers.customers import Customer

from ..customers.types import Account, Money
from ..sessions.types import Session


@strawberry.type(description="A customer's accounts as they stand after a change was committed.")
class BalanceChange:
    customer: str = strawberry.field(description="The customer's number.")
    name: str
    balance: Money | None = strawberry.field(description="The main balance (1000).")
    reserved: Money | None = strawberry.field(description="Prepaid funds held for live sessions (1010).")
    accounts: list[Account]
    observed_at: datetime = strawberry.field(description="When the server read these balances.")

    @classmethod
    def of(cls, customer: Customer, accounts: list[AccountBalance], at: datetime) -> BalanceChange:
        by_code = {a.code: a for a in accounts}

        def money(code: str) -> Money | None:
            found = by_code.get(code)
            return Money.of(found.balance, found.unit) if found is not None else None

        return cls(
            customer=customer.number,
            name=customer.name,
            balance=money("1000"),
            reserved=money("1010"),
            accounts=[Account.of(a) for a in accounts],
            observed_at=at,
        )


@strawberry.enum(description="What happened to a session, as this subscription saw it.")
class SessionChangeKind(Enum):
    OPENED = "opened"  # first seen live (authorised, or started)
    UPDATED = "updated"  # seen before and still live (started, an interim update, a Disconnect asked)
    CLOSED = "closed"  # stopped, aborted or closed by a NAS reboot


@strawberry.type(description="A RADIUS session after a change was committed.")
class SessionChange:
    change: SessionChangeKind
    session: Session
    observed_at: datetime
