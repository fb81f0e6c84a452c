"""Alembic environment: migrations run on the connection handed over by `database.migrate`."""

from __future__ import annotations

from alembic import context

from sockdojo.storage.models import Base

config = context.config
connection = config.attributes.get("connection")

if connection is None:
    # Run from the `alembic` command line: take the URL from the ini file or the environment,
    # and hold the lock a sockdojo starting at the same time would take to migrate.
    from sockdojo.config import Settings
    from sockdojo.storage.database import Store

    url = config.get_main_option("sqlalchemy.url") or Settings.from_environment().database_url
    store = Store(url, auto_migrate=False)
    try:
        with store.schema_lock(), store.engine.begin() as own_connection:
            context.configure(connection=own_connection, target_metadata=Base.metadata)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        store.dispose()
else:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
