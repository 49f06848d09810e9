"""Expected ledger outcomes that a caller may show to a person.

A raised LedgerError means the unit of work it happened in must be rolled back (the
services' callers do so by leaving their transaction with the exception); nothing of
the refused operation is ever committed.
"""

from __future__ import annotations


class LedgerError(ValueError):
    """Base of the ledger's expected, user-facing errors."""


class InvalidEntry(LedgerError):
    """The entry is malformed (no postings, a zero or non-integer amount, ...)."""


class UnbalancedEntry(LedgerError):
    """Postings do not sum to zero in every unit."""


class CurrencyMismatch(LedgerError):
    """A posting's unit is not its account's unit."""


class UnknownAccount(LedgerError):
    """A posting names an account that does not exist in this tenant."""


class IdempotencyConflict(LedgerError):
    """The idempotency key was used before for an entry with different content."""


class InsufficientFunds(LedgerError):
    """A guarded account (e.g. a prepaid main balance) would go below its floor."""

    def __init__(self, message: str, account_ids: tuple[int, ...]) -> None:
        super().__init__(message)
        self.account_ids = account_ids


class EntityNotFound(LedgerError):
    """No entity matches the given reference."""


class InvalidEntity(LedgerError):
    """Entity fields that cannot be accepted."""
