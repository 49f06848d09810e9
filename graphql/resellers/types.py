"""Resellers and statements of account as the API shows them (built from domain values)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import strawberry
from strawberry.types import Info

from bureau.platform.billing.payments import BASIS_POINTS, COMMISSION_EARNED
from bureau.platform.ledger import statement as ledger
from bureau.platform.subscribers import resellers as domain
from bureau.platform.subscribers.reseller_listing import ResellerDetails

from ..customers.types import Account, Money


def percent_text(basis_points: int) -> str:
    """Basis points as a percentage: 1500 is "15%", 1250 is "12.5%", 5 is "0.05%"."""
    value = (Decimal(basis_points) * 100 / BASIS_POINTS).normalize()
    return f"{value:f}%"


@strawberry.type(description="How a reseller's customers see it: its name, logo, colours and support contacts.")
class Branding:
    name: str | None
    logo_url: str | None
    primary_colour: str | None
    secondary_colour: str | None
    support_email: str | None
    support_phone: str | None

    @classmethod
    def of(cls, b: domain.Branding) -> Branding:
        return cls(
            name=b.name,
            logo_url=b.logo_url,
            primary_colour=b.primary_colour,
            secondary_colour=b.secondary_colour,
            support_email=b.support_email,
            support_phone=b.support_phone,
        )


@strawberry.type(description="A plan a reseller may sell.")
class ResellerPlan:
    code: str
    name: str


@strawberry.type(description="A reseller (VISP): who sells the ISP's plans under its own brand, for commission.")
class Reseller:
    code: str
    name: str
    parent: str | None = strawberry.field(description="The parent reseller's code; null: sold under the ISP.")
    commission_bp: int = strawberry.field(description="The commission rate in basis points (1500 is 15%).")
    commission_percent: str = strawberry.field(description='The commission rate as text, e.g. "15%".')
    branding: Branding
    realms: list[str] = strawberry.field(description="Its realms by name (at most 100).")
    plans: list[ResellerPlan] = strawberry.field(description="The plans it may sell, by code (at most 100).")
    entity_id: strawberry.Private[int]

    @classmethod
    def of(cls, r: domain.Reseller, details: ResellerDetails) -> Reseller:
        return cls(
            code=r.code,
            name=r.name,
            parent=details.parent_code,
            commission_bp=r.commission_bp,
            commission_percent=percent_text(r.commission_bp),
            branding=Branding.of(r.branding),
            realms=list(details.realms),
            plans=[ResellerPlan(code=p.code, name=p.name) for p in details.plans],
            entity_id=r.entity_id,
        )

    @strawberry.field(description="Commission earned (account 2300): what the ISP owes this reseller.")
    async def commission_earned(self, info: Info[Any, Any]) -> Money | None:
        found = [a for a in await info.context.loaders.accounts.load(self.entity_id) if a.code == COMMISSION_EARNED]
        return Money.of(found[0].balance, found[0].unit) if found else None


@strawberry.type(description="One posting to the account: positive amounts raise the balance.")
class StatementLine:
    entry_id: strawberry.ID
    posted_at: datetime
    description: str
    amount: Money = strawberry.field(description="On the account's normal side: positive raises the balance.")
    debit: Money | None = strawberry.field(description="The amount as a debit, when it is one.")
    credit: Money | None = strawberry.field(description="The amount as a credit, when it is one.")
    balance: Money = strawberry.field(description="The running balance after this line.")


@strawberry.type(description="A statement of account: the opening balance, the period's postings, the closing balance.")
class Statement:
    account: Account
    from_: datetime = strawberry.field(name="from", description="The first instant of the period.")
    to: datetime = strawberry.field(description="The first instant after the period.")
    opening: Money
    closing: Money
    lines: list[StatementLine] = strawberry.field(description="Oldest first; at most 10000 (see truncated).")
    truncated: bool = strawberry.field(description="True when the period had more lines; closing is still exact.")

    @classmethod
    def of(cls, s: ledger.Statement) -> Statement:
        unit = s.account.unit
        raises_on_debit = s.account.side == "debit"

        def line(entry: ledger.StatementLine) -> StatementLine:
            as_debit = (entry.amount > 0) == raises_on_debit
            shown = Money.of(abs(entry.amount), unit)
            return StatementLine(
                entry_id=strawberry.ID(str(entry.entry_id)),
                posted_at=entry.posted_at,
                description=entry.description,
                amount=Money.of(entry.amount, unit),
                debit=shown if as_debit else None,
                credit=None if as_debit else shown,
                balance=Money.of(entry.balance, unit),
            )

        return cls(
            account=Account.of(s.account),
            from_=s.start,
            to=s.end,
            opening=Money.of(s.opening, unit),
            closing=Money.of(s.closing, unit),
            lines=[line(entry) for entry in s.lines],
            truncated=s.truncated,
        )
