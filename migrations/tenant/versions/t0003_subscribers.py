"""Resellers, customers and their services.

Resellers (VISPs) with their branding, commission, realms and the plans they may sell;
customers (the owner of a subscriber entity) with their billing address, which sets the
tax locale; services on a customer (RADIUS login, mailbox, ...), each with a plan and a
state. Passwords are stored hashed (argon2id) and, for CHAP/MS-CHAP, encrypted; never
in plain text.

Revision ID: t0003
Revises: t0002
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "t0003"
down_revision = "t0002"
branch_labels = None
depends_on = None

T = "tenant"  # placeholder, translated to the tenant's schema


def _now() -> sa.sql.elements.TextClause:
    return sa.text("now()")


def _created_at() -> sa.Column[object]:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now())


def _updated_at() -> sa.Column[object]:
    return sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=_now())


def upgrade() -> None:
    op.create_table(
        "resellers",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("entity_id", sa.BigInteger, sa.ForeignKey(f"{T}.entities.id"), nullable=False, unique=True),
        sa.Column("parent_id", sa.BigInteger, sa.ForeignKey(f"{T}.resellers.id")),
        sa.Column("branding", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("commission_bp", sa.Integer, nullable=False, server_default="0"),
        _created_at(),
        sa.CheckConstraint("commission_bp BETWEEN 0 AND 10000", name="ck_resellers_commission_bp"),
        sa.CheckConstraint("parent_id IS NULL OR parent_id <> id", name="ck_resellers_parent"),
        schema=T,
    )
    op.create_index("ix_resellers_parent_id", "resellers", ["parent_id"], schema=T)
    op.create_table(
        "realms",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("realm", sa.Text, nullable=False, unique=True),
        sa.Column("reseller_id", sa.BigInteger, sa.ForeignKey(f"{T}.resellers.id")),
        sa.Column("strip_realm", sa.Boolean, nullable=False, server_default="false"),
        _created_at(),
        sa.CheckConstraint("realm = lower(realm)", name="ck_realms_lower"),
        schema=T,
    )
    op.create_index("ix_realms_reseller_id", "realms", ["reseller_id"], schema=T)
    op.create_table(
        "reseller_plans",
        sa.Column("reseller_id", sa.BigInteger, sa.ForeignKey(f"{T}.resellers.id"), primary_key=True),
        sa.Column("plan_id", sa.BigInteger, sa.ForeignKey(f"{T}.plans.id"), primary_key=True),
        _created_at(),
        schema=T,
    )
    op.create_index("ix_reseller_plans_plan_id", "reseller_plans", ["plan_id"], schema=T)
    op.create_table(
        "customers",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("entity_id", sa.BigInteger, sa.ForeignKey(f"{T}.entities.id"), nullable=False, unique=True),
        sa.Column("number", sa.BigInteger, nullable=False, unique=True),
        sa.Column("customer_number", sa.Text, nullable=False, unique=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("phone", sa.Text),
        sa.Column("country", sa.Text, nullable=False),
        sa.Column("state", sa.Text),
        sa.Column("city", sa.Text),
        sa.Column("postal_code", sa.Text),
        sa.Column("address_lines", ARRAY(sa.Text), nullable=False, server_default=sa.text("'{}'::text[]")),
        sa.Column("class_id", sa.BigInteger, sa.ForeignKey(f"{T}.subscriber_classes.id")),
        sa.Column("reseller_id", sa.BigInteger, sa.ForeignKey(f"{T}.resellers.id")),
        _created_at(),
        _updated_at(),
        sa.CheckConstraint("number >= 1", name="ck_customers_number"),
        sa.CheckConstraint("country ~ '^[A-Z]{2}$'", name="ck_customers_country"),
        schema=T,
    )
    op.create_index("ix_customers_reseller_id", "customers", ["reseller_id"], schema=T)
    op.create_table(
        "services",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("customer_id", sa.BigInteger, sa.ForeignKey(f"{T}.customers.id"), nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("login", sa.Text, nullable=False),
        sa.Column("plan_id", sa.BigInteger, sa.ForeignKey(f"{T}.plans.id"), nullable=False),
        sa.Column("state", sa.Text, nullable=False, server_default="pending"),
        sa.Column("password_hash", sa.Text),
        sa.Column("password_secret", sa.LargeBinary),
        sa.Column("quota_mb", sa.Integer),
        _created_at(),
        _updated_at(),
        sa.UniqueConstraint("kind", "login", name="uq_services_kind_login"),
        sa.CheckConstraint(
            "kind IN ('radius_login', 'mailbox', 'web', 'ftp', 'disk_quota', 'domain')", name="ck_services_kind"
        ),
        sa.CheckConstraint("state IN ('pending', 'active', 'suspended', 'cancelled')", name="ck_services_state"),
        sa.CheckConstraint("quota_mb IS NULL OR quota_mb >= 0", name="ck_services_quota_mb"),
        sa.CheckConstraint(
            "kind <> 'radius_login' OR (password_hash IS NOT NULL AND password_secret IS NOT NULL)",
            name="ck_services_radius_password",
        ),
        schema=T,
    )
    op.create_index("ix_services_customer_id", "services", ["customer_id"], schema=T)
    op.create_index("ix_services_plan_id", "services", ["plan_id"], schema=T)


def downgrade() -> None:
    schema = f'"{context.config.attributes["tenant_schema"]}"'
    for table in ("services", "customers", "reseller_plans", "realms", "resellers"):
        op.execute(f"DROP TABLE {schema}.{table}")
