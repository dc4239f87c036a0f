"""Health reports each dependency; OpenAPI documents every route with its errors."""

from __future__ import annotations

import httpx

from api.app import create_app
from db.session import Database
from tillflow.settings import Settings


async def test_health_all_ok(api: httpx.AsyncClient) -> None:
    r = await api.get("/health")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ok" and body["postgres"]["ok"] and body["temporal"]["ok"]
    assert body["workers"]["ok"] and body["workers"]["pollers"]


async def test_health_reports_a_dead_database_as_503(temporal_client) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    dead = Database("postgresql://nobody@127.0.0.1:1/none")
    app = create_app(Settings(), db=dead, client=temporal_client, run_worker=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
    ):
        r = await c.get("/health")
    assert r.status_code == 503
    assert r.json()["postgres"]["ok"] is False and r.json()["temporal"]["ok"] is True


async def test_openapi_documents_errors_of_every_route(api: httpx.AsyncClient) -> None:
    spec = (await api.get("/openapi.json")).json()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            assert op.get("summary") and op.get("description"), (method, path)
            shell = not op.get("parameters") and "text/html" in op["responses"]["200"].get(
                "content", {}
            )  # a page shell takes nothing and refuses nothing: it signs in on the page
            if path != "/health" and not shell:
                codes = set(op["responses"])
                assert codes & {"401", "404", "422"}, (method, path, codes)
    assert (await api.get("/docs")).status_code == 200
