"""Dunning: steps taken on overdue invoices, customers' cases, what was suspended, events.

- `dunning_steps`: the tenant's policy, one row per step: at so many days overdue,
  remind the customer or suspend their active services; a step waits while less than
  its minimum is overdue. Every tenant starts with reminders at 7 and 14 days and a
  suspension at 21; `bureau dunning steps --set` changes them (an empty set turns
  dunning off).
- `dunning_cases`: each customer with something overdue that dunning acted on: the
  highest step taken and whether their services are suspended for non-payment. The
  row goes when nothing is overdue any more.
- `dunning_suspensions`: the services dunning suspended, so that payment restores those
  and never one that staff suspended for another reason.
- `dunning_events`: reminders, suspensions and restorations with what was overdue, as
  sent (append-only).

Revision ID: t0010
Revises: t0009
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects.postgresql import JSONB

revision = "t0010"
down_revision = "t0009"
branch_labels = None
depends_on = None

T = "tenant"
DEFAULT_STEPS = ((7, "remind"), (14, "remind"), (21, "suspend"))


def _created_at() -> sa.Column[object]:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    schema = f'"{context.config.attributes["tenant_schema"]}"'
    steps = op.create_table(
        "dunning_steps",
        sa.Column("days", sa.SmallInteger, primary_key=True),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("min_overdue_micros", sa.BigInteger, nullable=False, server_default="0"),
        sa.CheckConstraint("days BETWEEN 1 AND 365", name="ck_dunning_steps_days"),
        sa.CheckConstraint("action IN ('remind', 'suspend')", name="ck_dunning_steps_action"),
        sa.CheckConstraint("min_overdue_micros >= 0", name="ck_dunning_steps_min"),
        schema=T,
    )
    op.bulk_insert(steps, [{"days": days, "action": action} for days, action in DEFAULT_STEPS])
    op.create_table(
        "dunning_cases",
        sa.Column("customer_id", sa.BigInteger, sa.ForeignKey(f"{T}.customers.id"), primary_key=True),
        sa.Column("level", sa.SmallInteger, nullable=False),
        sa.Column("suspended", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("opened_on", sa.Date, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=T,
    )
    op.create_table(
        "dunning_suspensions",
        sa.Column("service_id", sa.BigInteger, sa.ForeignKey(f"{T}.services.id"), primary_key=True),
        sa.Column("customer_id", sa.BigInteger, sa.ForeignKey(f"{T}.customers.id"), nullable=False),
        _created_at(),
        schema=T,
    )
    op.create_index("ix_dunning_suspensions_customer_id", "dunning_suspensions", ["customer_id"], schema=T)
    op.create_table(
        "dunning_events",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("customer_id", sa.BigInteger, sa.ForeignKey(f"{T}.customers.id"), nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("step_days", sa.SmallInteger),
        sa.Column("on_date", sa.Date, nullable=False),
        sa.Column("days_overdue", sa.Integer, nullable=False),
        sa.Column("overdue_micros", sa.BigInteger, nullable=False),
        sa.Column("document", JSONB, nullable=False),
        _created_at(),
        sa.CheckConstraint("action IN ('remind', 'suspend', 'restore')", name="ck_dunning_events_action"),
        schema=T,
    )
    op.create_index("ix_dunning_events_customer_id", "dunning_events", ["customer_id", "id"], schema=T)
    op.execute(
        f"CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON {schema}.dunning_events "
        f"FOR EACH ROW EXECUTE FUNCTION {schema}.refuse_change()"
    )
    # Finding overdue invoices: open ones by due date (the daily run's first query).
    op.execute(
        f"CREATE INDEX ix_invoices_open_due ON {schema}.invoices (due_date, customer_id) "
        "WHERE gross_micros > paid_micros + credited_micros"
    )


def downgrade() -> None:
    schema = f'"{context.config.attributes["tenant_schema"]}"'
    op.execute(f"DROP INDEX {schema}.ix_invoices_open_due")
    for table in ("dunning_events", "dunning_suspensions", "dunning_cases", "dunning_steps"):
        op.execute(f"DROP TABLE {schema}.{table}")
