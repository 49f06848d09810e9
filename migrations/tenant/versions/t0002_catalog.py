"""Catalog: plan categories, plans, plan versions and their price components, subscriber
classes and the plans linked to them, tax rates by locale.

Plan versions and price components are append-only (the `refuse_change` trigger of
t0001): a price change is a new version, never a rewrite of one a subscriber could
have been billed on. Usage rates are JSONB of integers and strings only.

Revision ID: t0002
Revises: t0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects.postgresql import JSONB

revision = "t0002"
down_revision = "t0001"
branch_labels = None
depends_on = None

T = "tenant"  # placeholder, translated to the tenant's schema
APPEND_ONLY = ("plan_versions", "price_components")


def _now() -> sa.sql.elements.TextClause:
    return sa.text("now()")


def _created_at() -> sa.Column[object]:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now())


def upgrade() -> None:
    op.create_table(
        "plan_categories",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("code", sa.Text, nullable=False, unique=True),
        sa.Column("name", sa.Text, nullable=False),
        _created_at(),
        schema=T,
    )
    op.create_table(
        "plans",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("code", sa.Text, nullable=False, unique=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("category_id", sa.BigInteger, sa.ForeignKey(f"{T}.plan_categories.id"), nullable=False),
        sa.Column("billing", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="active"),
        _created_at(),
        sa.CheckConstraint("billing IN ('prepaid', 'postpaid')", name="ck_plans_billing"),
        sa.CheckConstraint("status IN ('active', 'retired')", name="ck_plans_status"),
        schema=T,
    )
    op.create_index("ix_plans_category_id", "plans", ["category_id"], schema=T)
    op.create_table(
        "plan_versions",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("plan_id", sa.BigInteger, sa.ForeignKey(f"{T}.plans.id"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("effective_to", sa.DateTime(timezone=True)),
        _created_at(),
        sa.UniqueConstraint("plan_id", "version", name="uq_plan_versions_plan_id_version"),
        sa.UniqueConstraint("plan_id", "effective_from", name="uq_plan_versions_plan_id_effective_from"),
        sa.CheckConstraint("version >= 1", name="ck_plan_versions_version"),
        sa.CheckConstraint("effective_to IS NULL OR effective_to > effective_from", name="ck_plan_versions_period"),
        schema=T,
    )
    op.create_table(
        "price_components",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("plan_version_id", sa.BigInteger, sa.ForeignKey(f"{T}.plan_versions.id"), nullable=False),
        sa.Column("position", sa.SmallInteger, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("amount_micros", sa.BigInteger),
        sa.Column("recurring_period", sa.Text),
        sa.Column("tax_class", sa.Text, nullable=False),
        sa.Column("rate", JSONB),
        sa.UniqueConstraint("plan_version_id", "position", name="uq_price_components_plan_version_id_position"),
        sa.CheckConstraint("kind IN ('signup_fee', 'recurring', 'usage')", name="ck_price_components_kind"),
        sa.CheckConstraint("amount_micros IS NULL OR amount_micros >= 0", name="ck_price_components_amount"),
        sa.CheckConstraint(
            "recurring_period IS NULL OR recurring_period IN ('month', 'year')", name="ck_price_components_period"
        ),
        sa.CheckConstraint(
            "(kind = 'usage' AND rate IS NOT NULL AND amount_micros IS NULL)"
            " OR (kind <> 'usage' AND rate IS NULL AND amount_micros IS NOT NULL)",
            name="ck_price_components_usage",
        ),
        sa.CheckConstraint(
            "(kind = 'recurring') = (recurring_period IS NOT NULL)", name="ck_price_components_recurring"
        ),
        schema=T,
    )
    op.create_table(
        "subscriber_classes",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("code", sa.Text, nullable=False, unique=True),
        sa.Column("name", sa.Text, nullable=False),
        _created_at(),
        schema=T,
    )
    op.create_table(
        "class_plans",
        sa.Column("class_id", sa.BigInteger, sa.ForeignKey(f"{T}.subscriber_classes.id"), primary_key=True),
        sa.Column("plan_id", sa.BigInteger, sa.ForeignKey(f"{T}.plans.id"), primary_key=True),
        _created_at(),
        schema=T,
    )
    op.create_index("ix_class_plans_plan_id", "class_plans", ["plan_id"], schema=T)
    op.create_table(
        "tax_rates",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("country", sa.Text, nullable=False),
        sa.Column("region", sa.Text),
        sa.Column("city", sa.Text),
        sa.Column("tax_class", sa.Text, nullable=False),
        sa.Column("rate_bp", sa.Integer, nullable=False),
        sa.Column("inclusive", sa.Boolean, nullable=False),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("effective_to", sa.DateTime(timezone=True)),
        _created_at(),
        sa.CheckConstraint("country ~ '^[A-Z]{2}$'", name="ck_tax_rates_country"),
        sa.CheckConstraint("rate_bp BETWEEN 0 AND 10000", name="ck_tax_rates_rate_bp"),
        sa.CheckConstraint("effective_to IS NULL OR effective_to > effective_from", name="ck_tax_rates_period"),
        schema=T,
    )
    op.create_index("ix_tax_rates_country_tax_class", "tax_rates", ["country", "tax_class"], schema=T)
    _append_only_triggers(context.config.attributes["tenant_schema"])


def _append_only_triggers(schema: str) -> None:
    s = f'"{schema}"'  # derived by tenant routing from a validated slug
    for table in APPEND_ONLY:
        # refuse_change() is the trigger function of t0001.
        op.execute(
            f"CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON {s}.{table} "
            f"FOR EACH ROW EXECUTE FUNCTION {s}.refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON {s}.{table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {s}.refuse_change()"
        )


def downgrade() -> None:
    schema = f'"{context.config.attributes["tenant_schema"]}"'
    for table in (
        "tax_rates",
        "class_plans",
        "subscriber_classes",
        "price_components",
        "plan_versions",
        "plans",
        "plan_categories",
    ):
        op.execute(f"DROP TABLE {schema}.{table}")
