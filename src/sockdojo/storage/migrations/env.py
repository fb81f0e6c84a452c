"""Alembic environment: migrations run on the connection handed over by `database.migrate`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from sockdojo.storage.models import Base

config = context.config
connection = config.attributes.get("connection")

if connection is None:
    # Run from the `alembic` command line: take the URL from the ini file or the environment.
    from sockdojo.config import Settings

    url = config.get_main_option("sqlalchemy.url") or Settings.from_environment().database_url
    with create_engine(url).begin() as own_connection:
        context.configure(connection=own_connection, target_metadata=Base.metadata)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
