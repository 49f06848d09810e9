"""Entities, chart of accounts, journal, postings, balances and the audit log.

Tables are declared in the placeholder schema "tenant", which the tenant routing module
maps onto the tenant's own schema. Journal entries, postings and audit records are
append-only: triggers refuse UPDATE, DELETE and TRUNCATE (an audit record may only
gain its chain link, once).

Revision ID: t0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects.postgresql import JSONB

revision = "t0001"
down_revision = None
branch_labels = None
depends_on = None

T = "tenant"  # placeholder, translated to the tenant's schema
APPEND_ONLY = ("journal_entries", "postings", "audit_log")


def _now() -> sa.sql.elements.TextClause:
    return sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "entities",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("code", sa.Text, nullable=False, unique=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("parent_id", sa.BigInteger, sa.ForeignKey(f"{T}.entities.id")),
        sa.Column("reseller_id", sa.BigInteger, sa.ForeignKey(f"{T}.entities.id")),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("prepaid", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("credit_limit_micros", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("status", sa.Text, nullable=False, server_default="active"),
        sa.Column("attributes", JSONB, nullable=False, server_default="{}"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
        sa.CheckConstraint("kind IN ('isp', 'reseller', 'subscriber')", name="ck_entities_kind"),
        sa.CheckConstraint("status IN ('active', 'suspended', 'closed')", name="ck_entities_status"),
        sa.CheckConstraint("credit_limit_micros >= 0", name="ck_entities_credit_limit"),
        schema=T,
    )
    op.create_index(
        "uq_entities_one_isp",
        "entities",
        [sa.text("(kind = 'isp')")],
        unique=True,
        postgresql_where=sa.text("kind = 'isp'"),
        schema=T,
    )
    op.create_index("ix_entities_reseller_id", "entities", ["reseller_id"], schema=T)
    op.create_table(
        "accounts",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("entity_id", sa.BigInteger, sa.ForeignKey(f"{T}.entities.id"), nullable=False),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("unit", sa.Text, nullable=False),
        sa.Column("sign", sa.SmallInteger, nullable=False),
        sa.Column("shards", sa.SmallInteger, nullable=False, server_default="1"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
        sa.UniqueConstraint("entity_id", "code", name="uq_accounts_entity_id_code"),
        sa.CheckConstraint("sign IN (-1, 1)", name="ck_accounts_sign"),
        sa.CheckConstraint("shards BETWEEN 1 AND 64", name="ck_accounts_shards"),
        schema=T,
    )
    op.create_table(
        "account_balances",
        sa.Column("account_id", sa.BigInteger, sa.ForeignKey(f"{T}.accounts.id"), primary_key=True),
        sa.Column("shard", sa.SmallInteger, primary_key=True),
        sa.Column("balance", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("floor", sa.BigInteger),
        sa.CheckConstraint("floor IS NULL OR balance >= floor", name="ck_account_balances_floor"),
        schema=T,
    )
    op.create_table(
        "journal_entries",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("idempotency_key", sa.Text, nullable=False, unique=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("content_hash", sa.LargeBinary, nullable=False),
        sa.Column("metadata", JSONB, nullable=False, server_default="{}"),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
        schema=T,
    )
    op.create_index("ix_journal_entries_posted_at", "journal_entries", ["posted_at"], schema=T)
    op.create_table(
        "postings",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("entry_id", sa.BigInteger, sa.ForeignKey(f"{T}.journal_entries.id"), nullable=False),
        sa.Column("account_id", sa.BigInteger, sa.ForeignKey(f"{T}.accounts.id"), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("unit", sa.Text, nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount <> 0", name="ck_postings_nonzero"),
        schema=T,
    )
    op.create_index("ix_postings_account_id_posted_at", "postings", ["account_id", "posted_at"], schema=T)
    op.create_index("ix_postings_entry_id", "postings", ["entry_id"], schema=T)
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("details", JSONB, nullable=False),
        sa.Column("row_hash", sa.LargeBinary, nullable=False),
        sa.Column("txid", sa.BigInteger, nullable=False, server_default=sa.text("txid_current()")),
        sa.Column("chain_seq", sa.BigInteger, unique=True),
        sa.Column("chain_hash", sa.LargeBinary),
        schema=T,
    )
    op.create_index(
        "ix_audit_log_unsealed", "audit_log", ["id"], postgresql_where=sa.text("chain_seq IS NULL"), schema=T
    )
    _append_only_triggers(context.config.attributes["tenant_schema"])


def _append_only_triggers(schema: str) -> None:
    s = f'"{schema}"'  # derived by tenant routing from a validated slug
    op.execute(f"""
        CREATE FUNCTION {s}.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% on %.% is not allowed: the table is append-only',
                TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
        END $$""")
    op.execute(f"""
        CREATE FUNCTION {s}.audit_seal_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF OLD.chain_seq IS NULL AND NEW.chain_seq IS NOT NULL
               AND (NEW.id, NEW.at, NEW.actor, NEW.action, NEW.subject, NEW.details, NEW.row_hash, NEW.txid)
                   IS NOT DISTINCT FROM
                   (OLD.id, OLD.at, OLD.actor, OLD.action, OLD.subject, OLD.details, OLD.row_hash, OLD.txid)
            THEN
                RETURN NEW;
            END IF;
            RAISE EXCEPTION 'audit records are append-only; only sealing may add a chain link'
                USING ERRCODE = 'insufficient_privilege';
        END $$""")
    for table in APPEND_ONLY:
        if table == "audit_log":
            op.execute(
                f"CREATE TRIGGER audit_seal_only BEFORE UPDATE ON {s}.audit_log "
                f"FOR EACH ROW EXECUTE FUNCTION {s}.audit_seal_only()"
            )
            op.execute(
                f"CREATE TRIGGER append_only BEFORE DELETE ON {s}.audit_log "
                f"FOR EACH ROW EXECUTE FUNCTION {s}.refuse_change()"
            )
        else:
            op.execute(
                f"CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON {s}.{table} "
                f"FOR EACH ROW EXECUTE FUNCTION {s}.refuse_change()"
            )
        op.execute(
            f"CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON {s}.{table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {s}.refuse_change()"
        )


def downgrade() -> None:
    raise NotImplementedError("the first tenant revision is not reversible: drop the tenant instead")
