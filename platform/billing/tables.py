"""Billing tables of a tenant schema (mirrors migration t0005; placeholder schema, see db.schema).

Amounts are BIGINT micro-units; everything an invoice, payment or credit note shows is a
whole number of the currency's minor unit. Invoice lines, credit notes, allocations,
adjustments and usage records are append-only (database triggers); invoices and payments
only ever gain settlement figures, never lose rows.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from ..db.columns import created_at
from ..db.schema import tenant_metadata


def _money(name: str) -> Column[int]:
    return Column(name, BigInteger, nullable=False, server_default="0")


usage_records = Table(
    "usage_records",
    tenant_metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("service_id", BigInteger, ForeignKey("services.id"), nullable=False),
    Column("source", Text, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("seconds", BigInteger, nullable=False, server_default="0"),
    Column("octets_in", BigInteger, nullable=False, server_default="0"),
    Column("octets_out", BigInteger, nullable=False, server_default="0"),
    Column("band_seconds", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    created_at(),
    UniqueConstraint("service_id", "source", name="uq_usage_records_source"),
    Index("ix_usage_records_service_id", "service_id", "started_at"),
)

counters = Table(
    "counters",
    tenant_metadata,
    Column("name", Text, primary_key=True),
    Column("value", BigInteger, nullable=False, server_default="0"),
)

bill_runs = Table(
    "bill_runs",
    tenant_metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("period_start", Date, nullable=False, unique=True),
    Column("period_end", Date, nullable=False),
    Column("status", Text, nullable=False, server_default="running"),
    Column("started_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("finished_at", DateTime(timezone=True)),
    Column("passes", Integer, nullable=False, server_default="1"),
    Column("cursor_customer_id", BigInteger, nullable=False, server_default="0"),
    Column("invoices", Integer, nullable=False, server_default="0"),
    Column("skipped", Integer, nullable=False, server_default="0"),
    CheckConstraint("status IN ('running', 'finished')", name="ck_bill_runs_status"),
)

invoices = Table(
    "invoices",
    tenant_metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("seq", BigInteger, nullable=False, unique=True),
    Column("number", Text, nullable=False, unique=True),
    Column("customer_id", BigInteger, ForeignKey("customers.id"), nullable=False),
    Column("reseller_id", BigInteger, ForeignKey("resellers.id")),
    Column("bill_run_id", BigInteger, ForeignKey("bill_runs.id"), nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("issue_date", Date, nullable=False),
    Column("due_date", Date, nullable=False),
    Column("currency", Text, nullable=False),
    Column("prepaid", Boolean, nullable=False),
    _money("net_micros"),
    _money("tax_micros"),
    _money("gross_micros"),
    _money("opening_balance_micros"),
    _money("payments_received_micros"),
    _money("balance_due_micros"),
    _money("paid_micros"),
    _money("credited_micros"),
    Column("entry_id", BigInteger),
    Column("document", JSONB, nullable=False),
    created_at(),
    Column("voided_at", DateTime(timezone=True)),  # t0015: the first void's time and reason, both or neither
    Column("void_reason", Text),
    UniqueConstraint("customer_id", "period_start", name="uq_invoices_customer_period"),
    CheckConstraint("(voided_at IS NULL) = (void_reason IS NULL)", name="ck_invoices_void"),
    Index("ix_invoices_reseller_id", "reseller_id"),
    Index("ix_invoices_bill_run_id", "bill_run_id"),
)

invoice_lines = Table(
    "invoice_lines",
    tenant_metadata,
    Column("invoice_id", BigInteger, ForeignKey("invoices.id"), primary_key=True),
    Column("position", SmallInteger, primary_key=True),
    Column("service_id", BigInteger, ForeignKey("services.id")),
    Column("kind", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("quantity", Text, nullable=False),
    Column("unit", Text, nullable=False),
    Column("unit_price_micros", BigInteger, nullable=False),
    Column("net_micros", BigInteger, nullable=False),
    Column("tax_rate_bp", Integer, nullable=False),
    Column("tax_micros", BigInteger, nullable=False),
    Column("gross_micros", BigInteger, nullable=False),
    Column("account_code", Text, nullable=False),
)

credit_notes = Table(
    "credit_notes",
    tenant_metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("seq", BigInteger, nullable=False, unique=True),
    Column("number", Text, nullable=False, unique=True),
    Column("invoice_id", BigInteger, ForeignKey("invoices.id"), nullable=False),
    Column("line_position", SmallInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("net_micros", BigInteger, nullable=False),
    Column("tax_micros", BigInteger, nullable=False),
    Column("gross_micros", BigInteger, nullable=False),
    Column("entry_id", BigInteger, nullable=False),
    Column("idempotency_key", Text, unique=True),  # t0013: the caller's, when given
    created_at(),
    Index("ix_credit_notes_invoice_id", "invoice_id"),
)

payments = Table(
    "payments",
    tenant_metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("customer_id", BigInteger, ForeignKey("customers.id"), nullable=False),
    Column("kind", Text, nullable=False),
    Column("method", Text, nullable=False),
    Column("amount_micros", BigInteger, nullable=False),
    Column("unallocated_micros", BigInteger, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("reference", Text),
    Column("idempotency_key", Text, nullable=False, unique=True),
    Column("entry_id", BigInteger, nullable=False),
    Column("commission_entry_id", BigInteger),
    created_at(),
    Index("ix_payments_customer_id", "customer_id"),
)

payment_allocations = Table(
    "payment_allocations",
    tenant_metadata,
    Column("id", BigInteger, Identity(), primary_key=True),  # t0011: a pair may be allocated in parts
    Column("payment_id", BigInteger, ForeignKey("payments.id"), nullable=False),
    Column("invoice_id", BigInteger, ForeignKey("invoices.id"), nullable=False),
    Column("amount_micros", BigInteger, nullable=False),
    Column("idempotency_key", Text, unique=True),  # t0013: an allocation by hand, when the caller gave one
    created_at(),
    Index("ix_payment_allocations_invoice_id", "invoice_id"),
    Index("ix_payment_allocations_payment_id", "payment_id"),
)

adjustments = Table(
    "adjustments",
    tenant_metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("customer_id", BigInteger, ForeignKey("customers.id"), nullable=False),
    Column("amount_micros", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("idempotency_key", Text, nullable=False, unique=True),
    Column("entry_id", BigInteger, nullable=False),
    created_at(),
    Index("ix_adjustments_customer_id", "customer_id"),
)

# --- Dunning (mirrors migration t0010; `dunning.py`) ---

dunning_steps = Table(
    "dunning_steps",
    tenant_metadata,
    Column("days", SmallInteger, primary_key=True),  # days overdue at which the step is taken
    Column("action", Text, nullable=False),  # remind | suspend
    _money("min_overdue_micros"),  # the step waits while less than this is overdue
    CheckConstraint("days BETWEEN 1 AND 365", name="ck_dunning_steps_days"),
    CheckConstraint("action IN ('remind', 'suspend')", name="ck_dunning_steps_action"),
    CheckConstraint("min_overdue_micros >= 0", name="ck_dunning_steps_min"),
)

dunning_cases = Table(
    "dunning_cases",
    tenant_metadata,
    Column("customer_id", BigInteger, ForeignKey("customers.id"), primary_key=True),
    Column("level", SmallInteger, nullable=False),  # days of the highest step taken; 0: none
    Column("suspended", Boolean, nullable=False, server_default="false"),
    Column("opened_on", Date, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)

dunning_suspensions = Table(
    "dunning_suspensions",
    tenant_metadata,
    Column("service_id", BigInteger, ForeignKey("services.id"), primary_key=True),
    Column("customer_id", BigInteger, ForeignKey("customers.id"), nullable=False),
    created_at(),
    Index("ix_dunning_suspensions_customer_id", "customer_id"),
)

dunning_events = Table(
    "dunning_events",
    tenant_metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("customer_id", BigInteger, ForeignKey("customers.id"), nullable=False),
    Column("action", Text, nullable=False),  # remind | suspend | restore
    Column("step_days", SmallInteger),
    Column("on_date", Date, nullable=False),
    Column("days_overdue", Integer, nullable=False),
    Column("overdue_micros", BigInteger, nullable=False),
    Column("document", JSONB, nullable=False),
    created_at(),
    CheckConstraint("action IN ('remind', 'suspend', 'restore')", name="ck_dunning_events_action"),
    Index("ix_dunning_events_customer_id", "customer_id", "id"),
)
