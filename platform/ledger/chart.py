"""Chart-of-accounts templates, one per entity type (DESIGN.md §3 "Ledger").

Pure data. Every entity gets its template's accounts when it is created. Codes follow
the usual numbering: 1xxx balances and assets, 2xxx liabilities, 3xxx equity, 4xxx
revenue, 8xxx/9xxx statistical counters that still balance (each subscriber counter
is paired with an ISP control account).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

SESSIONS = "SESSIONS"  # the unit of session counters; never mixed with money
HOT_ACCOUNT_SHARDS = 16


class EntityKind(StrEnum):
    ISP = "isp"
    RESELLER = "reseller"
    SUBSCRIBER = "subscriber"


class Side(StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"

    @property
    def sign(self) -> int:
        """+1 when a debit raises the balance, -1 when a credit does."""
        return 1 if self is Side.DEBIT else -1


class Guard(StrEnum):
    NONE = "none"  # may go either way
    NEVER_NEGATIVE = "never_negative"  # balance on its normal side may not go below zero
    IF_PREPAID = "if_prepaid"  # never negative while the entity is prepaid


@dataclass(frozen=True, slots=True)
class AccountTemplate:
    code: str
    name: str
    side: Side
    sessions: bool = False  # unit SESSIONS instead of the tenant currency
    guard: Guard = Guard.NONE
    hot: bool = False  # spread over HOT_ACCOUNT_SHARDS balance rows

    def unit(self, currency: str) -> str:
        return SESSIONS if self.sessions else currency

    def floor(self, prepaid: bool) -> int | None:
        if self.guard is Guard.NEVER_NEGATIVE or (self.guard is Guard.IF_PREPAID and prepaid):
            return 0
        return None

    @property
    def shards(self) -> int:
        return HOT_ACCOUNT_SHARDS if self.hot else 1


D, C = Side.DEBIT, Side.CREDIT

SUBSCRIBER = (
    AccountTemplate("1000", "Main balance", C, guard=Guard.IF_PREPAID),
    AccountTemplate("1010", "Reserve", C, guard=Guard.NEVER_NEGATIVE),
    AccountTemplate("1020", "Deposit", C, guard=Guard.NEVER_NEGATIVE),
    AccountTemplate("1100", "Receivable", D),
    AccountTemplate("8000", "Active sessions", D, sessions=True, guard=Guard.NEVER_NEGATIVE),
    AccountTemplate("9000", "Amount used", D),
)

RESELLER = (
    AccountTemplate("1000", "Reseller balance", C),
    AccountTemplate("2300", "Commission earned", C),
    AccountTemplate("9000", "Amount sold", D),
)

ISP = (
    AccountTemplate("1100", "Cash clearing: card", D, hot=True),
    AccountTemplate("1110", "Cash clearing: bank transfer", D),
    AccountTemplate("1120", "Cash clearing: cash and cheque", D),
    AccountTemplate("2100", "Tax payable", C, hot=True),
    AccountTemplate("2200", "Voucher liability", C),
    AccountTemplate("2300", "Reseller commission payable", C),
    AccountTemplate("3900", "Opening balances", C),
    AccountTemplate("4000", "Revenue: usage", C, hot=True),
    AccountTemplate("4010", "Revenue: recurring charges", C, hot=True),
    AccountTemplate("4020", "Revenue: sign-up fees", C),
    AccountTemplate("4030", "Revenue: voucher breakage", C),
    AccountTemplate("4090", "Rounding differences", C),
    AccountTemplate("4900", "Revenue: adjustments", C),
    AccountTemplate("5000", "Reseller commission expense", D),
    AccountTemplate("8900", "Total active sessions", C, sessions=True, hot=True),
    AccountTemplate("9900", "Amount used control", C, hot=True),
)

TEMPLATES: dict[EntityKind, tuple[AccountTemplate, ...]] = {
    EntityKind.ISP: ISP,
    EntityKind.RESELLER: RESELLER,
    EntityKind.SUBSCRIBER: SUBSCRIBER,
}


def template_for(kind: EntityKind) -> tuple[AccountTemplate, ...]:
    return TEMPLATES[kind]


def template_account(kind: EntityKind, code: str) -> AccountTemplate:
    for account in TEMPLATES[kind]:
        if account.code == code:
            return account
    raise KeyError(f"{kind} chart has no account {code}")
