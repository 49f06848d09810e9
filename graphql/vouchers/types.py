"""Voucher batches, newly issued codes and redemptions as the API shows them (built from
domain values). A voucher's code exists only in the answer to the batch's creation."""

from __future__ import annotations

import asyncio
import base64
from datetime import datetime

import strawberry

from bureau.platform.vouchers.batches import Batch, IssuedCode
from bureau.platform.vouchers.export import export_batch_csv, export_batch_pdf
from bureau.platform.vouchers.listing import BatchCounts, BatchDetails
from bureau.platform.vouchers.redeem import Redemption

from ..customers.types import Money


@strawberry.type(description="How many of a batch's vouchers are in each state.")
class VoucherCounts:
    created: int
    sold: int = strawberry.field(description="All of the batch once it is sold, else 0.")
    unredeemed: int = strawberry.field(description="Still redeemable (sold) or awaiting sale.")
    redeemed: int
    void: int
    expired: int = strawberry.field(description="Expired unredeemed, including those awaiting the expiry run.")

    @classmethod
    def of(cls, counts: BatchCounts) -> VoucherCounts:
        return cls(
            created=counts.created,
            sold=counts.sold,
            unredeemed=counts.unredeemed,
            redeemed=counts.redeemed,
            void=counts.void,
            expired=counts.expired,
        )


@strawberry.type(description="A batch of prepaid vouchers of one face value, currency and expiry.")
class VoucherBatch:
    id: strawberry.ID
    name: str
    face_value: Money = strawberry.field(description="What each voucher credits when redeemed.")
    total: Money = strawberry.field(description="Count x face value: what selling the batch takes in.")
    count: int
    expires_at: datetime
    reseller: str | None = strawberry.field(description="The code of the reseller it is for; null: the ISP's own.")
    status: str = strawberry.field(description="active or void")
    sold_at: datetime | None
    created_at: datetime
    counts: VoucherCounts

    @classmethod
    def of(cls, batch: Batch, details: BatchDetails) -> VoucherBatch:
        return cls(
            id=strawberry.ID(str(batch.id)),
            name=batch.name,
            face_value=Money.of(batch.value_micros, batch.currency),
            total=Money.of(batch.value_micros * batch.count, batch.currency),
            count=batch.count,
            expires_at=batch.expires_at,
            reseller=details.reseller_code,
            status=batch.status,
            sold_at=batch.sold_at,
            created_at=batch.created_at,
            counts=VoucherCounts.of(details.counts),
        )


@strawberry.type(description="One voucher as printed: its serial (not secret) and its code.")
class IssuedVoucher:
    serial: str
    code: str


@strawberry.type(
    description="A new batch with its codes: shown in this answer and never again (only digests are stored)."
)
class NewVoucherBatch:
    batch: VoucherBatch
    codes: list[IssuedVoucher] = strawberry.field(description="Every voucher of the batch, by serial.")
    issued: strawberry.Private[tuple[IssuedCode, ...]]
    source: strawberry.Private[Batch]

    @classmethod
    def of(cls, batch: Batch, details: BatchDetails, issued: list[IssuedCode]) -> NewVoucherBatch:
        return cls(
            batch=VoucherBatch.of(batch, details),
            codes=[IssuedVoucher(serial=item.serial, code=item.code) for item in issued],
            issued=tuple(issued),
            source=batch,
        )

    @strawberry.field(description="The codes as CSV: serial, code, value, currency, expires_at.")
    def csv(self) -> str:
        return export_batch_csv(self.issued, self.source)

    @strawberry.field(description="The codes as printable A4 cards (24 a page): a PDF, base64-encoded.")
    async def pdf_base64(self) -> str:
        document = await asyncio.to_thread(export_batch_pdf, self.issued, self.source)
        return base64.b64encode(document).decode("ascii")


@strawberry.type(description="A voucher credited to a customer's main balance.")
class VoucherRedemption:
    serial: str
    batch_id: strawberry.ID
    customer: str = strawberry.field(description="The customer's number.")
    value: Money
    redeemed_at: datetime
    replayed: bool = strawberry.field(
        description="True when this customer had already redeemed this code: the first redemption, nothing new."
    )

    @classmethod
    def of(cls, redemption: Redemption, customer: str) -> VoucherRedemption:
        return cls(
            serial=redemption.serial,
            batch_id=strawberry.ID(str(redemption.batch_id)),
            customer=customer,
            value=Money.of(redemption.value_micros, redemption.currency),
            redeemed_at=redemption.redeemed_at,
            replayed=redemption.replayed,
        )
