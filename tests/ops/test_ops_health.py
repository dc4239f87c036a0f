"""The anonymous health check says ok / degraded per dependency and nothing about the hosts; an
admin's token adds the details."""

from __future__ import annotations

import httpx
from helpers.api import password_login
from helpers.webstore import eventually

from api.app import create_app
from db.session import Database
from tillflow.settings import Settings

DEAD_URL = "postgresql://nobody@127.0.0.1:1/none"


async def _healthy(api: httpx.AsyncClient, **headers: str) -> httpx.Response:
    """/health once the in-process worker polls (it starts with the session's API)."""

    async def ok() -> httpx.Response | None:
        r = await api.get("/health", headers=headers)
        return r if r.status_code == 200 else None

    answer: httpx.Response = await eventually(ok)
    return answer


async def test_anonymous_health_is_plain(api: httpx.AsyncClient) -> None:
    r = await _healthy(api)
    body = r.json()
    assert body == {
        "status": "ok",
        "postgres": {"ok": True, "status": "ok"},
        "temporal": {"ok": True, "status": "ok"},
        "workers": {"ok": True, "status": "ok", "pollers": body["workers"]["pollers"]},
    }
    assert isinstance(body["workers"]["pollers"], int) and body["workers"]["pollers"] >= 1
    assert "@" not in r.text and "namespace" not in r.text  # no worker identity (pid@host)


async def test_admin_sees_details_others_are_refused(api: httpx.AsyncClient, cashier) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    admin = await password_login(api, "admin", "admin-demo")
    r = await _healthy(api, **admin)
    body = r.json()
    assert body["temporal"]["namespace"] == "default"
    assert body["workers"]["pollers"] and all("@" in p for p in body["workers"]["pollers"])
    assert (await api.get("/health", headers=cashier)).status_code == 403
    unknown = await api.get("/health", headers={"Authorization": "Bearer not-a-token"})
    assert unknown.status_code == 401


async def test_dead_database_anonymous_sees_no_error_text_admin_does(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    temporal_client, api: httpx.AsyncClient, db: Database
) -> None:
    admin = await password_login(api, "admin", "admin-demo")
    # The same app twice: anonymous on a dead database; the admin's token is checked against the
    # live one, then the checks run on the dead one.
    dead = Database(DEAD_URL)
    app = create_app(Settings(), db=dead, client=temporal_client, run_worker=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
    ):
        r = await c.get("/health")
    assert r.status_code == 503
    assert r.json()["status"] == "degraded"
    assert r.json()["postgres"] == {"ok": False, "status": "degraded"}
    assert "127.0.0.1" not in r.text and "nobody" not in r.text and "error" not in r.text
    dead.dispose()

    # With a live database but an unreachable Temporal, the admin reads why.
    class Unreachable:
        namespace = "default"

        @property
        def service_client(self) -> object:
            raise ConnectionError("connection refused by temporal.internal:7233")

    app = create_app(Settings(), db=db, client=Unreachable(), run_worker=False)  # type: ignore[arg-type]  # a stand-in client that cannot connect
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
    ):
        plain = await c.get("/health")
        detailed = await c.get("/health", headers=admin)
    assert plain.status_code == detailed.status_code == 503
    assert "temporal.internal" not in plain.text
    assert "temporal.internal" in detailed.json()["temporal"]["error"]
