"""Alembic environment of one tenant schema.

The connection handed in `config.attributes["connection"]` is already scoped to the
tenant by the tenant routing module: tables declared in the placeholder schema land in
the tenant's schema. `config.attributes["tenant_schema"]` carries the schema name that
routing derived, for the version table and for raw DDL (triggers) that the translate
map cannot reach.
"""

from alembic import context

connection = context.config.attributes["connection"]
schema = context.config.attributes["tenant_schema"]
context.configure(connection=connection, version_table_schema=schema, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
