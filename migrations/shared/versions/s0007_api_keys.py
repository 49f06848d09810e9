"""API keys for the GraphQL API: who calls, in which scope, never the key itself.

A key is `bureau_<key_id>_<secret>`. Only the key id (public, to find the row and to
name the key in lists and logs) and the SHA-256 of the secret are stored; the secret is
32 random bytes, shown once when the key is made. Scopes: `operator` (every tenant's
administration), `isp` (one tenant, with a role) and `reseller` (one reseller of one
tenant, with its sub-resellers).

Revision ID: s0007
Revises: s0006
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "s0007"
down_revision = "s0006"
branch_labels = None
depends_on = None

SHARED = "bureau_shared"


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("key_id", sa.Text, nullable=False, unique=True),
        sa.Column("secret_sha256", sa.LargeBinary, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("tenant_id", sa.BigInteger, sa.ForeignKey(f"{SHARED}.tenants.id")),
        sa.Column("reseller_id", sa.BigInteger),  # the tenant schema's resellers.id
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("last_used_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("scope IN ('operator', 'isp', 'reseller')", name="ck_api_keys_scope"),
        sa.CheckConstraint("role IN ('admin', 'care', 'finance', 'read_only')", name="ck_api_keys_role"),
        sa.CheckConstraint(
            "(scope = 'operator' AND tenant_id IS NULL AND reseller_id IS NULL)"
            " OR (scope = 'isp' AND tenant_id IS NOT NULL AND reseller_id IS NULL)"
            " OR (scope = 'reseller' AND tenant_id IS NOT NULL AND reseller_id IS NOT NULL)",
            name="ck_api_keys_scope_owner",
        ),
        sa.CheckConstraint("octet_length(secret_sha256) = 32", name="ck_api_keys_secret"),
        schema=SHARED,
    )
    op.create_index("ix_api_keys_tenant_id", "api_keys", ["tenant_id"], schema=SHARED)


def downgrade() -> None:
    op.drop_table("api_keys", schema=SHARED)
