"""The tenant's append-only audit log.

Each record stores `row_hash`, the hash of its own content, when it is written. The
chain (`chain_seq`, `chain_hash`) is added by sealing (see audit.chain), in commit
order, so writers never queue on a chain head; the sealed head is mirrored in the
shared schema so that deleting the newest records is caught too.
"""

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    LargeBinary,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

from ..db.schema import tenant_metadata

audit_log = Table(
    "audit_log",
    tenant_metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("details", JSONB, nullable=False),
    Column("row_hash", LargeBinary, nullable=False),
    Column("txid", BigInteger, nullable=False, server_default=func.txid_current()),
    Column("chain_seq", BigInteger, unique=True),
    Column("chain_hash", LargeBinary),
)

from ..db.schema import shared_metadata  # noqa: E402 - the shared half, kept beside its chain

audit_heads = Table(
    "audit_heads",
    shared_metadata,
    Column("tenant_id", BigInteger, primary_key=True),
    Column("last_seq", BigInteger, nullable=False),
    Column("last_hash", LargeBinary, nullable=False),
    Column("sealed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
