"""Change events: balances and RADIUS sessions announce their changes with NOTIFY.

Statement-level triggers on `account_balances` and `radius_sessions` send, on the tenant's
channel `bureau:<schema>` (`bureau.tenants.routing.event_channel`), which rows changed:
`b:<entity ids>` for balances (the owners of the accounts that moved) and `s:<session
ids>` for sessions. NOTIFY is transactional: a listener hears a change only once it is
committed, and never one that was rolled back. Ids go 500 to a notification, well inside
PostgreSQL's 8000-byte payload limit. The API's subscriptions (`bureau.tenants.events`)
listen; nothing else depends on the notifications.

Revision ID: t0012
Revises: t0011
Create Date: 2026-12-02
"""

from alembic import context, op

revision = "t0012"
down_revision = "t0011"
branch_labels = None
depends_on = None

CHUNK = 500


def _function(schema: str, name: str, kind: str, ids_query: str) -> str:
    return f"""
CREATE FUNCTION {schema}.{name}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
BEGIN
    {ids_query}
    FOR i IN 1 .. coalesce(array_length(ids, 1), 0) BY {CHUNK} LOOP
        PERFORM pg_notify('bureau:' || TG_TABLE_SCHEMA, '{kind}:' || array_to_string(ids[i:i + {CHUNK - 1}], ','));
    END LOOP;
    RETURN NULL;
END
$$"""


def upgrade() -> None:
    schema = f'"{context.config.attributes["tenant_schema"]}"'
    # The schema is the migration's own (tenant routing names it), never input.
    balances = (
        "SELECT array_agg(DISTINCT a.entity_id ORDER BY a.entity_id) INTO ids "  # noqa: S608
        f"FROM changed c JOIN {schema}.accounts a ON a.id = c.account_id;"
    )
    sessions = "SELECT array_agg(DISTINCT c.id ORDER BY c.id) INTO ids FROM changed c;"
    op.execute(_function(schema, "notify_balances", "b", balances))
    op.execute(_function(schema, "notify_sessions", "s", sessions))
    for table, function in (("account_balances", "notify_balances"), ("radius_sessions", "notify_sessions")):
        for event in ("INSERT", "UPDATE"):
            op.execute(
                f"CREATE TRIGGER {function}_{event.lower()} AFTER {event} ON {schema}.{table} "
                f"REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION {schema}.{function}()"
            )


def downgrade() -> None:
    schema = f'"{context.config.attributes["tenant_schema"]}"'
    for table, function in (("account_balances", "notify_balances"), ("radius_sessions", "notify_sessions")):
        for event in ("insert", "update"):
            op.execute(f"DROP TRIGGER {function}_{event} ON {schema}.{table}")
        op.execute(f"DROP FUNCTION {schema}.{function}()")
