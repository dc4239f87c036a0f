"""Signing in through the API in tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx


async def till_login(
    api: Any, till: str = "BER1", staff_code: str = "1001", pin: str = "1234"
) -> dict[str, str]:
    response = await api.post(f"/tills/{till}/login", json={"staff_code": staff_code, "pin": pin})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def password_login(api: Any, username: str, password: str) -> dict[str, str]:
    response = await api.post("/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


Clients = Callable[[str], httpx.AsyncClient]


@asynccontextmanager
async def own_api(
    settings: Any, *, db: Any, client: Any, gateway: Any, **overrides: Any
) -> AsyncIterator[Clients]:
    """An API of its own (its in-memory rate-limit counters start at zero) with these settings
    overridden; yields a maker of clients, each calling from the given source address."""
    from api.app import create_app

    app = create_app(
        settings.model_copy(update=overrides),
        db=db,
        client=client,
        gateway=gateway,
        run_worker=False,
    )
    made: list[httpx.AsyncClient] = []

    def at(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        made.append(httpx.AsyncClient(transport=transport, base_url="http://tillflow.test"))
        return made[-1]

    async with app.router.lifespan_context(app):
        yield at
        for c in made:
            await c.aclose()


@asynccontextmanager
async def asgi_api(
    settings: Any, *, db: Any, client: Any, gateway: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """One httpx client on an API of its own (lifespan run, no in-process worker) whose Temporal
    client is `client`: a test environment's (time-skipping, a stack of its own)."""
    async with own_api(settings, db=db, client=client, gateway=gateway) as at:
        yield at("127.0.0.1")
