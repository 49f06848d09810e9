"""Alembic environment of the shared schema (`bureau_shared`).

Bureau runs migrations itself (`bureau migrate`, `bureau up`), handing Alembic an open
connection in `config.attributes["connection"]`.
"""

from alembic import context

from bureau.platform.db.schema import SHARED

connection = context.config.attributes["connection"]
context.configure(connection=connection, version_table_schema=SHARED, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
