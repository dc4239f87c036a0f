"""Pooled connections that died while idle (a database restart, a dropped link) are replaced
unseen."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import exc, text

from db.session import Database


def _backend_pid(db: Database) -> int:
    with db.unit_of_work() as s:
        return int(s.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _kill(db: Database, pid: int) -> None:
    with db.unit_of_work() as s:
        assert s.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()


def test_a_connection_killed_while_idle_is_replaced_before_use(
    db: Database, database_url: str
) -> None:
    pooled = Database(database_url, pool_size=1, ping_after_idle=0.2)
    try:
        first = _backend_pid(pooled)
        _kill(db, first)
        time.sleep(0.3)  # idle long enough to be pinged at the next checkout
        assert _backend_pid(pooled) != first  # no error reached the caller
    finally:
        pooled.dispose()


def test_a_connection_in_steady_use_is_not_pinged_and_a_dead_one_fails_once(
    db: Database, database_url: str
) -> None:
    pooled = Database(database_url, pool_size=1, ping_after_idle=60)
    pings: list[int] = []
    original = pooled.engine.dialect.do_ping
    pooled.engine.dialect.do_ping = lambda conn: pings.append(1) or original(conn)  # type: ignore[assignment,func-returns-value]  # counts, then pings
    try:
        first = _backend_pid(pooled)
        assert _backend_pid(pooled) == first and pings == []  # hot connection: no extra round trip
        _kill(db, first)
        with pytest.raises(exc.OperationalError):
            _backend_pid(pooled)  # the statement in flight fails (an activity retries it) ...
        assert _backend_pid(pooled) != first  # ... and the pool has been replaced
    finally:
        pooled.dispose()


async def test_the_api_answers_503_when_the_database_drops_a_request() -> None:
    import httpx
    from fastapi import FastAPI

    from api import errors

    app = FastAPI()
    errors.install(app)

    @app.get("/boom")
    def boom() -> None:
        raise exc.OperationalError(
            "SELECT 1", {}, Exception("server closed the connection unexpectedly")
        )

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        r = await http.get("/boom")
    assert r.status_code == 503 and r.headers["Retry-After"] == "1"
    assert r.json()["error"]["code"] == "unavailable"
