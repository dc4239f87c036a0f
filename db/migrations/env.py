"""Alembic environment: the URL comes from db.migrate.alembic_config, the schema from db.models."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from db.schema import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None, "db.migrate.alembic_config sets sqlalchemy.url"
    connectable = create_engine(url, poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
