"""The models and the Alembic migrations agree, and migrating down and up again works."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from db import migrate
from db.schema import Base
from db.session import sqlalchemy_url


def test_autogenerate_finds_no_difference(database_url: str) -> None:
    engine = create_engine(sqlalchemy_url(database_url))
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    engine.dispose()
    assert diff == []


def test_upgrade_downgrade_upgrade(scratch_database) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    url = scratch_database("tillflow_migrations")
    engine = create_engine(sqlalchemy_url(url))
    migrate.upgrade(url)
    assert "stock_movements" in inspect(engine).get_table_names()
    migrate.downgrade(url, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(url)
    heads = set(ScriptDirectory.from_config(migrate.alembic_config(url)).get_heads())
    with engine.connect() as conn:
        assert set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars()) == heads
    engine.dispose()


def test_ledger_is_append_only(db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    import pytest
    from sqlalchemy.exc import DBAPIError

    with pytest.raises(DBAPIError, match="append-only"), db.unit_of_work() as s:
        s.execute(text("UPDATE stock_movements SET delta = delta + 1"))
