"""Billing errors: each says what was wrong and, where it helps, what is allowed."""

from __future__ import annotations


class BillingError(ValueError):
    """Bad input to the billing cycle; nothing was written."""


class InvalidPeriod(BillingError):
    pass


class InvalidUsageRecord(BillingError):
    pass


class InvoiceNotFound(BillingError):
    pass


class InvalidPayment(BillingError):
    pass


class InvalidCredit(BillingError):
    pass
