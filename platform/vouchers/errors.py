"""Expected voucher outcomes a caller may show to a person."""

from __future__ import annotations

from datetime import datetime


class VoucherError(ValueError):
    """Base of the voucher service's expected, user-facing errors."""


class InvalidBatch(VoucherError):
    """A batch name, value, count, expiry or reseller that is not acceptable."""


class BatchNotFound(VoucherError):
    """No voucher batch has that id."""


class BatchVoid(VoucherError):
    """The batch was voided; it can be neither sold nor redeemed."""


class VoucherNotFound(VoucherError):
    """No voucher has that code (or the text is not a code at all)."""


class VoucherNotSold(VoucherError):
    """The voucher's batch has not been sold yet, so it holds no value."""


class VoucherExpired(VoucherError):
    """The voucher's expiry has passed."""


class VoucherVoid(VoucherError):
    """The voucher (or its batch) was voided."""


class VoucherAlreadyRedeemed(VoucherError):
    """The voucher was redeemed before (by this account or another)."""


class InvalidRedeemer(VoucherError):
    """The account to credit is not an active subscriber in the batch's currency."""


class VoucherThrottled(VoucherError):
    """Too many failed attempts by this account; `retry_at` says when it may try again."""

    def __init__(self, message: str, retry_at: datetime) -> None:
        super().__init__(message)
        self.retry_at = retry_at
