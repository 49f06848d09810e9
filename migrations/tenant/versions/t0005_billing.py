"""The billing cycle: service history, usage, invoices, payments, credit notes.

- `service_periods`: when each service was billable (active or suspended) and on which
  plan; the bill run prorates recurring charges from it.
- `usage_records`: post-paid usage per service (seconds, octets, time-of-day seconds),
  one row per source (an accounting session, an import line), idempotent on it.
- `counters`: gapless per-tenant sequences (invoice and credit note numbers); a number
  is drawn in the transaction that uses it, so a rollback leaves no gap.
- `bill_runs`, `invoices`, `invoice_lines`: the month-end and what it issued; one invoice
  per customer and period.
- `payments`, `payment_allocations`, `credit_notes`, `adjustments`.
- Price components gain `volume_discount` and `range_pricing` kinds (their rule is JSON
  in `rate`).
- The ISP chart gains 4900 Revenue: adjustments and 5000 Reseller commission expense.

Revision ID: t0005
Revises: t0004
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert

revision = "t0005"
down_revision = "t0004"
branch_labels = None
depends_on = None

T = "tenant"  # placeholder, translated to the tenant's schema
MICROS = sa.BigInteger
NEW_ISP_ACCOUNTS = (("4900", "Revenue: adjustments", -1), ("5000", "Reseller commission expense", 1))


def _table(name: str, *columns: sa.Column[object], schema: str) -> sa.Table:
    """A table to read or write in a data step; a Table (not a lightweight table()) so that
    the tenant connection's schema translate map applies to it."""
    return sa.Table(name, sa.MetaData(), *columns, schema=schema)


def _column(name: str) -> sa.Column[object]:
    return sa.Column(name)


def _now() -> sa.sql.elements.TextClause:
    return sa.text("now()")


def _created_at() -> sa.Column[object]:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now())


def _id() -> sa.Column[object]:
    return sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True)


def _money(name: str, **kw: object) -> sa.Column[object]:
    return sa.Column(name, MICROS, nullable=False, server_default="0", **kw)  # type: ignore[arg-type]


def upgrade() -> None:
    schema = f'"{context.config.attributes["tenant_schema"]}"'
    _catalog(schema)
    _history_and_usage()
    _invoices()
    _payments()
    _isp_accounts()
    for table in ("invoice_lines", "credit_notes", "payment_allocations", "adjustments", "usage_records"):
        op.execute(
            f"CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON {schema}.{table} "
            f"FOR EACH ROW EXECUTE FUNCTION {schema}.refuse_change()"
        )
    for table in ("invoices", "payments"):
        op.execute(
            f"CREATE TRIGGER no_delete BEFORE DELETE ON {schema}.{table} "
            f"FOR EACH ROW EXECUTE FUNCTION {schema}.refuse_change()"
        )


def _catalog(schema: str) -> None:
    op.execute(f"ALTER TABLE {schema}.price_components DROP CONSTRAINT ck_price_components_kind")
    op.execute(f"ALTER TABLE {schema}.price_components DROP CONSTRAINT ck_price_components_usage")
    op.create_check_constraint(
        "ck_price_components_kind",
        "price_components",
        "kind IN ('signup_fee', 'recurring', 'usage', 'volume_discount', 'range_pricing')",
        schema=T,
    )
    op.create_check_constraint(
        "ck_price_components_usage",
        "price_components",
        "(kind IN ('usage', 'volume_discount', 'range_pricing') AND rate IS NOT NULL AND amount_micros IS NULL)"
        " OR (kind IN ('signup_fee', 'recurring') AND rate IS NULL AND amount_micros IS NOT NULL)",
        schema=T,
    )


def _history_and_usage() -> None:
    op.create_table(
        "service_periods",
        _id(),
        sa.Column("service_id", sa.BigInteger, sa.ForeignKey(f"{T}.services.id"), nullable=False),
        sa.Column("plan_id", sa.BigInteger, sa.ForeignKey(f"{T}.plans.id"), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="ck_service_periods_order"),
        schema=T,
    )
    op.create_index("ix_service_periods_service_id", "service_periods", ["service_id", "started_at"], schema=T)
    op.create_index(
        "uq_service_periods_open",
        "service_periods",
        ["service_id"],
        unique=True,
        schema=T,
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    periods = _table("service_periods", _column("service_id"), _column("plan_id"), _column("started_at"), schema=T)
    services = _table("services", _column("id"), _column("plan_id"), _column("updated_at"), _column("state"), schema=T)
    op.execute(
        periods.insert().from_select(
            ["service_id", "plan_id", "started_at"],
            sa.select(services.c.id, services.c.plan_id, services.c.updated_at).where(
                services.c.state.in_(["active", "suspended"])
            ),
        )
    )
    op.create_table(
        "usage_records",
        _id(),
        sa.Column("service_id", sa.BigInteger, sa.ForeignKey(f"{T}.services.id"), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seconds", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("octets_in", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("octets_out", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("band_seconds", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        _created_at(),
        sa.UniqueConstraint("service_id", "source", name="uq_usage_records_source"),
        sa.CheckConstraint("seconds >= 0 AND octets_in >= 0 AND octets_out >= 0", name="ck_usage_records_positive"),
        schema=T,
    )
    op.create_index("ix_usage_records_service_id", "usage_records", ["service_id", "started_at"], schema=T)


def _invoices() -> None:
    op.create_table(
        "counters",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False, server_default="0"),
        schema=T,
    )
    op.create_table(
        "bill_runs",
        _id(),
        sa.Column("period_start", sa.Date, nullable=False, unique=True),
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="running"),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("passes", sa.Integer, nullable=False, server_default="1"),
        sa.Column("cursor_customer_id", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("invoices", sa.Integer, nullable=False, server_default="0"),
        sa.Column("skipped", sa.Integer, nullable=False, server_default="0"),
        sa.CheckConstraint("status IN ('running', 'finished')", name="ck_bill_runs_status"),
        schema=T,
    )
    op.create_table(
        "invoices",
        _id(),
        sa.Column("seq", sa.BigInteger, nullable=False, unique=True),
        sa.Column("number", sa.Text, nullable=False, unique=True),
        sa.Column("customer_id", sa.BigInteger, sa.ForeignKey(f"{T}.customers.id"), nullable=False),
        sa.Column("reseller_id", sa.BigInteger, sa.ForeignKey(f"{T}.resellers.id")),
        sa.Column("bill_run_id", sa.BigInteger, sa.ForeignKey(f"{T}.bill_runs.id"), nullable=False),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("issue_date", sa.Date, nullable=False),
        sa.Column("due_date", sa.Date, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("prepaid", sa.Boolean, nullable=False),
        _money("net_micros"),
        _money("tax_micros"),
        _money("gross_micros"),
        _money("opening_balance_micros"),
        _money("payments_received_micros"),
        _money("balance_due_micros"),
        _money("paid_micros"),
        _money("credited_micros"),
        sa.Column("entry_id", sa.BigInteger),  # NULL: nothing to post (an invoice of 0.00)
        sa.Column("document", JSONB, nullable=False),
        _created_at(),
        sa.UniqueConstraint("customer_id", "period_start", name="uq_invoices_customer_period"),
        sa.CheckConstraint("paid_micros >= 0 AND credited_micros >= 0", name="ck_invoices_settled"),
        sa.CheckConstraint(
            "paid_micros <= gross_micros AND credited_micros <= gross_micros", name="ck_invoices_overpaid"
        ),
        schema=T,
    )
    op.create_index("ix_invoices_reseller_id", "invoices", ["reseller_id"], schema=T)
    op.create_index("ix_invoices_bill_run_id", "invoices", ["bill_run_id"], schema=T)
    op.create_table(
        "invoice_lines",
        sa.Column("invoice_id", sa.BigInteger, sa.ForeignKey(f"{T}.invoices.id"), primary_key=True),
        sa.Column("position", sa.SmallInteger, primary_key=True),
        sa.Column("service_id", sa.BigInteger, sa.ForeignKey(f"{T}.services.id")),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("quantity", sa.Text, nullable=False),
        sa.Column("unit", sa.Text, nullable=False),
        sa.Column("unit_price_micros", MICROS, nullable=False),
        sa.Column("net_micros", MICROS, nullable=False),
        sa.Column("tax_rate_bp", sa.Integer, nullable=False),
        sa.Column("tax_micros", MICROS, nullable=False),
        sa.Column("gross_micros", MICROS, nullable=False),
        sa.Column("account_code", sa.Text, nullable=False),
        schema=T,
    )
    op.create_table(
        "credit_notes",
        _id(),
        sa.Column("seq", sa.BigInteger, nullable=False, unique=True),
        sa.Column("number", sa.Text, nullable=False, unique=True),
        sa.Column("invoice_id", sa.BigInteger, sa.ForeignKey(f"{T}.invoices.id"), nullable=False),
        sa.Column("line_position", sa.SmallInteger, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("net_micros", MICROS, nullable=False),
        sa.Column("tax_micros", MICROS, nullable=False),
        sa.Column("gross_micros", MICROS, nullable=False),
        sa.Column("entry_id", sa.BigInteger, nullable=False),
        _created_at(),
        sa.CheckConstraint("gross_micros > 0", name="ck_credit_notes_positive"),
        schema=T,
    )
    op.create_index("ix_credit_notes_invoice_id", "credit_notes", ["invoice_id"], schema=T)


def _payments() -> None:
    op.create_table(
        "payments",
        _id(),
        sa.Column("customer_id", sa.BigInteger, sa.ForeignKey(f"{T}.customers.id"), nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("method", sa.Text, nullable=False),
        sa.Column("amount_micros", MICROS, nullable=False),
        sa.Column("unallocated_micros", MICROS, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reference", sa.Text),
        sa.Column("idempotency_key", sa.Text, nullable=False, unique=True),
        sa.Column("entry_id", sa.BigInteger, nullable=False),
        sa.Column("commission_entry_id", sa.BigInteger),
        _created_at(),
        sa.CheckConstraint("kind IN ('payment', 'topup')", name="ck_payments_kind"),
        sa.CheckConstraint("method IN ('cash', 'cheque', 'bank_transfer', 'card')", name="ck_payments_method"),
        sa.CheckConstraint("amount_micros > 0", name="ck_payments_positive"),
        sa.CheckConstraint("unallocated_micros BETWEEN 0 AND amount_micros", name="ck_payments_unallocated"),
        schema=T,
    )
    op.create_index("ix_payments_customer_id", "payments", ["customer_id"], schema=T)
    op.create_table(
        "payment_allocations",
        sa.Column("payment_id", sa.BigInteger, sa.ForeignKey(f"{T}.payments.id"), primary_key=True),
        sa.Column("invoice_id", sa.BigInteger, sa.ForeignKey(f"{T}.invoices.id"), primary_key=True),
        sa.Column("amount_micros", MICROS, nullable=False),
        _created_at(),
        sa.CheckConstraint("amount_micros > 0", name="ck_payment_allocations_positive"),
        schema=T,
    )
    op.create_index("ix_payment_allocations_invoice_id", "payment_allocations", ["invoice_id"], schema=T)
    op.create_table(
        "adjustments",
        _id(),
        sa.Column("customer_id", sa.BigInteger, sa.ForeignKey(f"{T}.customers.id"), nullable=False),
        sa.Column("amount_micros", MICROS, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("idempotency_key", sa.Text, nullable=False, unique=True),
        sa.Column("entry_id", sa.BigInteger, nullable=False),
        _created_at(),
        sa.CheckConstraint("amount_micros <> 0", name="ck_adjustments_nonzero"),
        schema=T,
    )
    op.create_index("ix_adjustments_customer_id", "adjustments", ["customer_id"], schema=T)


def _isp_accounts() -> None:
    """Give existing ISP entities the accounts the chart template gained."""
    entities = _table("entities", _column("id"), _column("kind"), _column("currency"), schema=T)
    accounts = _table(
        "accounts",
        _column("id"),
        _column("entity_id"),
        _column("code"),
        _column("name"),
        _column("unit"),
        _column("sign"),
        _column("shards"),
        schema=T,
    )
    balances = _table("account_balances", _column("account_id"), _column("shard"), _column("balance"), schema=T)
    for code, name, sign in NEW_ISP_ACCOUNTS:
        op.execute(
            pg_insert(accounts)
            .from_select(
                ["entity_id", "code", "name", "unit", "sign", "shards"],
                sa.select(
                    entities.c.id,
                    sa.literal(code),
                    sa.literal(name),
                    entities.c.currency,
                    sa.literal(sign),
                    sa.literal(1),
                ).where(entities.c.kind == "isp"),
            )
            .on_conflict_do_nothing()
        )
        op.execute(
            pg_insert(balances)
            .from_select(
                ["account_id", "shard", "balance"],
                sa.select(accounts.c.id, sa.literal(0), sa.literal(0))
                .join(entities, entities.c.id == accounts.c.entity_id)
                .where(entities.c.kind == "isp", accounts.c.code == code),
            )
            .on_conflict_do_nothing()
        )


def downgrade() -> None:
    schema = f'"{context.config.attributes["tenant_schema"]}"'
    for table in (
        "adjustments",
        "payment_allocations",
        "payments",
        "credit_notes",
        "invoice_lines",
        "invoices",
        "bill_runs",
        "counters",
        "usage_records",
        "service_periods",
    ):
        op.execute(f"DROP TABLE {schema}.{table}")
