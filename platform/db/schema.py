"""Schema names as Table metadata sees them.

Tenant tables are declared in the placeholder schema `TENANT`. No real schema has that
name: a statement only reaches a tenant's data when the tenant routing module
(`bureau.tenants.routing`) maps the placeholder onto `tenant_<slug>` with SQLAlchemy's
`schema_translate_map`. A statement run without that map fails instead of touching
another tenant's rows.
"""

from sqlalchemy import MetaData

TENANT = "tenant"
SHARED = "bureau_shared"

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

tenant_metadata = MetaData(schema=TENANT, naming_convention=NAMING)
shared_metadata = MetaData(schema=SHARED, naming_convention=NAMING)
