"""Journal entries, adjustments and usage as the API shows them (built from domain values)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from bureau.platform.billing import credits
from bureau.platform.ledger.journal_listing import ListedEntry, ListedPosting
from bureau.platform.money import MoneyError

from ..customers.types import Money
from ..scalars import BigInt


@strawberry.type(description="One line of a journal entry: an account debited or credited.")
class Posting:
    account: str = strawberry.field(description="The account's code: 1000 main balance, 4900 adjustments…")
    account_name: str
    owner: str = strawberry.field(description="The code of the entity owning the account (isp, a reseller, a login).")
    owner_kind: str = strawberry.field(description="isp, reseller or subscriber")
    side: str = strawberry.field(description="debit or credit")
    amount: BigInt = strawberry.field(description="How much, always positive: micro-units of a currency, else a count.")
    unit: str = strawberry.field(description="The currency, or what is counted (SESSIONS).")
    money: Money | None = strawberry.field(description="The amount as money; null when the unit is not a currency.")
    formatted: str = strawberry.field(description='"10.00 USD", or "1 sessions" for a count.')

    @classmethod
    def of(cls, posting: ListedPosting) -> Posting:
        size = abs(posting.amount)
        try:
            money: Money | None = Money.of(size, posting.unit)
        except MoneyError:
            money = None
        return cls(
            account=posting.account_code,
            account_name=posting.account_name,
            owner=posting.entity_code,
            owner_kind=posting.entity_kind,
            side="debit" if posting.amount > 0 else "credit",
            amount=BigInt(size),
            unit=posting.unit,
            money=money,
            formatted=money.formatted if money is not None else f"{size} {posting.unit.lower()}",
        )


@strawberry.type(description="A journal entry: balanced postings (debits equal credits in every unit).")
class JournalEntry:
    id: strawberry.ID
    key: str = strawberry.field(description="The idempotency key it was posted with (invoice:…, adjustment:…).")
    description: str
    posted_at: datetime
    postings: list[Posting]

    @classmethod
    def of(cls, entry: ListedEntry) -> JournalEntry:
        return cls(
            id=strawberry.ID(str(entry.id)),
            key=entry.idempotency_key,
            description=entry.description,
            posted_at=entry.posted_at,
            postings=[Posting.of(p) for p in entry.postings],
        )


@strawberry.type(description="A manual change of a customer's balance, with its reason.")
class Adjustment:
    id: strawberry.ID
    customer: str = strawberry.field(description="The customer number.")
    amount: Money = strawberry.field(description="Positive charges the customer, negative credits them.")
    reason: str
    entry_id: strawberry.ID = strawberry.field(description="The journal entry that moved the balance.")
    replayed: bool = strawberry.field(description="True when this key was already used: the first result.")

    @classmethod
    def of(cls, adjustment: credits.Adjustment, currency: str) -> Adjustment:
        return cls(
            id=strawberry.ID(str(adjustment.id)),
            customer=adjustment.customer,
            amount=Money.of(adjustment.amount_micros, currency),
            reason=adjustment.reason,
            entry_id=strawberry.ID(str(adjustment.entry_id)),
            replayed=adjustment.replayed,
        )


@strawberry.type(description="What one service recorded in the period (post-paid usage records).")
class ServiceUsage:
    service: strawberry.ID = strawberry.field(description="The service's id.")
    login: str
    seconds: BigInt
    octets_in: BigInt = strawberry.field(description="What the subscriber sent (upload).")
    octets_out: BigInt = strawberry.field(description="What the subscriber received (download).")
    records: int = strawberry.field(description="How many usage records (sessions, import lines) were counted.")


@strawberry.type(description="A customer's recorded usage in one billing period, per service.")
class Usage:
    customer: str = strawberry.field(description="The customer number.")
    period: str = strawberry.field(description="YYYY-MM")
    services: list[ServiceUsage]

    @strawberry.field(description="Seconds of every service together.")
    def seconds(self) -> BigInt:
        return BigInt(sum(s.seconds for s in self.services))

    @strawberry.field
    def octets_in(self) -> BigInt:
        return BigInt(sum(s.octets_in for s in self.services))

    @strawberry.field
    def octets_out(self) -> BigInt:
        return BigInt(sum(s.octets_out for s in self.services))

    @strawberry.field
    def records(self) -> int:
        return sum(s.records for s in self.services)
