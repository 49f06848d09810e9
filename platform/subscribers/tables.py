"""Subscriber tables of a tenant schema (declared in the placeholder schema, see db.schema).

Mirrors migration t0003. A reseller and a customer each own one ledger entity
(`entity_id`); `reseller_id` here is a `resellers.id` (NULL: the ISP itself).
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
    LargeBinary,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from ..db.columns import created_at, updated_at
from ..db.schema import tenant_metadata

resellers = Table(
    "resellers",
    tenant_metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("entity_id", BigInteger, ForeignKey("entities.id"), nullable=False, unique=True),
    Column("parent_id", BigInteger, ForeignKey("resellers.id")),
    Column("branding", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("commission_bp", Integer, nullable=False, server_default="0"),
    created_at(),
    CheckConstraint("commission_bp BETWEEN 0 AND 10000", name="ck_resellers_commission_bp"),
    CheckConstraint("parent_id IS NULL OR parent_id <> id", name="ck_resellers_parent"),
    Index("ix_resellers_parent_id", "parent_id"),
)

realms = Table(
    "realms",
    tenant_metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("realm", Text, nullable=False, unique=True),
    Column("reseller_id", BigInteger, ForeignKey("resellers.id")),
    Column("strip_realm", Boolean, nullable=False, server_default="false"),
    created_at(),
    CheckConstraint("realm = lower(realm)", name="ck_realms_lower"),
    Index("ix_realms_reseller_id", "reseller_id"),
)

reseller_plans = Table(
    "reseller_plans",
    tenant_metadata,
    Column("reseller_id", BigInteger, ForeignKey("resellers.id"), primary_key=True),
    Column("plan_id", BigInteger, ForeignKey("plans.id"), primary_key=True),
    created_at(),
    Index("ix_reseller_plans_plan_id", "plan_id"),
)

customers = Table(
    "customers",
    tenant_metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("entity_id", BigInteger, ForeignKey("entities.id"), nullable=False, unique=True),
    Column("number", BigInteger, nullable=False, unique=True),
    Column("customer_number", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("email", Text, nullable=False),
    Column("phone", Text),
    Column("country", Text, nullable=False),
    Column("state", Text),
    Column("city", Text),
    Column("postal_code", Text),
    Column("address_lines", ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")),
    Column("class_id", BigInteger, ForeignKey("subscriber_classes.id")),
    Column("reseller_id", BigInteger, ForeignKey("resellers.id")),
    created_at(),
    updated_at(),
    CheckConstraint("number >= 1", name="ck_customers_number"),
    CheckConstraint("country ~ '^[A-Z]{2}$'", name="ck_customers_country"),
    Index("ix_customers_reseller_id", "reseller_id"),
)

services = Table(
    "services",
    tenant_metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("customer_id", BigInteger, ForeignKey("customers.id"), nullable=False),
    Column("kind", Text, nullable=False),
    Column("login", Text, nullable=False),
    Column("plan_id", BigInteger, ForeignKey("plans.id"), nullable=False),
    Column("state", Text, nullable=False, server_default="pending"),
    Column("password_hash", Text),
    Column("password_secret", LargeBinary),
    Column("password_crypt", Text),  # SHA-512 crypt(3), for exports (migration t0009)
    Column("quota_mb", Integer),
    created_at(),
    updated_at(),
    UniqueConstraint("kind", "login", name="uq_services_kind_login"),
    CheckConstraint(
        "kind IN ('radius_login', 'mailbox', 'web', 'ftp', 'disk_quota', 'domain')", name="ck_services_kind"
    ),
    CheckConstraint("state IN ('pending', 'active', 'suspended', 'cancelled')", name="ck_services_state"),
    CheckConstraint("quota_mb IS NULL OR quota_mb >= 0", name="ck_services_quota_mb"),
    CheckConstraint(
        "kind <> 'radius_login' OR (password_hash IS NOT NULL AND password_secret IS NOT NULL)",
        name="ck_services_radius_password",
    ),
    Index("ix_services_customer_id", "customer_id"),
    Index("ix_services_plan_id", "plan_id"),
)

# When each service was billable (active or suspended) and on which plan (migration t0005).
# At most one open period (ended_at NULL) per service.
service_periods = Table(
    "service_periods",
    tenant_metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("service_id", BigInteger, ForeignKey("services.id"), nullable=False),
    Column("plan_id", BigInteger, ForeignKey("plans.id"), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True)),
    CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="ck_service_periods_order"),
    Index("ix_service_periods_service_id", "service_id", "started_at"),
)
