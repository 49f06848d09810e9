"""Catalog tables of a tenant schema (declared in the placeholder schema, see db.schema).

Mirrors migration t0002, with the price component kinds t0005 added (volume_discount
and range_pricing keep their rule as JSON in `rate`). Plan versions and price components
are append-only (a trigger refuses UPDATE and DELETE): a price change is a new version.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
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

plan_categories = Table(
    "plan_categories",
    tenant_metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("code", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    created_at(),
)

plans = Table(
    "plans",
    tenant_metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("code", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("category_id", BigInteger, ForeignKey("plan_categories.id"), nullable=False, index=True),
    Column("billing", Text, nullable=False),
    Column("status", Text, nullable=False, server_default="active"),
    Column("radius_attributes", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("max_sessions", Integer, nullable=False, server_default="1"),
    Column("interim_interval", Integer),
    created_at(),
    CheckConstraint("billing IN ('prepaid', 'postpaid')", name="billing"),
    CheckConstraint("status IN ('active', 'retired')", name="status"),
)

plan_versions = Table(
    "plan_versions",
    tenant_metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("plan_id", BigInteger, ForeignKey("plans.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("effective_from", DateTime(timezone=True), nullable=False),
    Column("effective_to", DateTime(timezone=True)),
    created_at(),
    UniqueConstraint("plan_id", "version"),
    UniqueConstraint("plan_id", "effective_from"),
    CheckConstraint("version >= 1", name="version"),
    CheckConstraint("effective_to IS NULL OR effective_to > effective_from", name="period"),
)

price_components = Table(
    "price_components",
    tenant_metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("plan_version_id", BigInteger, ForeignKey("plan_versions.id"), nullable=False),
    Column("position", SmallInteger, nullable=False),
    Column("kind", Text, nullable=False),
    Column("amount_micros", BigInteger),
    Column("recurring_period", Text),
    Column("tax_class", Text, nullable=False),
    Column("rate", JSONB(none_as_null=True)),
    UniqueConstraint("plan_version_id", "position"),
    CheckConstraint(
        "kind IN ('signup_fee', 'recurring', 'usage', 'volume_discount', 'range_pricing')",
        name="kind",
    ),
    CheckConstraint("amount_micros IS NULL OR amount_micros >= 0", name="amount"),
    CheckConstraint("recurring_period IS NULL OR recurring_period IN ('month', 'year')", name="period"),
    CheckConstraint(
        "(kind IN ('usage', 'volume_discount', 'range_pricing') AND rate IS NOT NULL AND amount_micros IS NULL)"
        " OR (kind IN ('signup_fee', 'recurring') AND rate IS NULL AND amount_micros IS NOT NULL)",
        name="usage",
    ),
    CheckConstraint("(kind = 'recurring') = (recurring_period IS NOT NULL)", name="recurring"),
)

subscriber_classes = Table(
    "subscriber_classes",
    tenant_metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("code", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    created_at(),
)

class_plans = Table(
    "class_plans",
    tenant_metadata,
    Column("class_id", BigInteger, ForeignKey("subscriber_classes.id"), primary_key=True),
    Column("plan_id", BigInteger, ForeignKey("plans.id"), primary_key=True, index=True),
    created_at(),
)

tax_rates = Table(
    "tax_rates",
    tenant_metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("name", Text, nullable=False),
    Column("country", Text, nullable=False),
    Column("region", Text),
    Column("city", Text),
    Column("tax_class", Text, nullable=False),
    Column("rate_bp", Integer, nullable=False),
    Column("inclusive", Boolean, nullable=False),
    Column("effective_from", DateTime(timezone=True), nullable=False),
    Column("effective_to", DateTime(timezone=True)),
    created_at(),
    CheckConstraint("country ~ '^[A-Z]{2}$'", name="country"),
    CheckConstraint("rate_bp BETWEEN 0 AND 10000", name="rate_bp"),
    CheckConstraint("effective_to IS NULL OR effective_to > effective_from", name="period"),
    Index("ix_tax_rates_country_tax_class", "country", "tax_class"),
)
