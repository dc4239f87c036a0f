"""Fixtures of the back-office page tests: the API over ASGI and under uvicorn, staff to sign in
as, one headless Chromium per module."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from helpers.api import password_login
from helpers.chromium import CHROMIUM, launch
from helpers.tills import Served
from sqlalchemy import select

from api.auth import hash_secret
from db.models import Location, User, UserLocation
from db.session import Database

LISBON_MANAGER = ("bo-lis-manager", "Leonor Lisboa", "bo-lis-demo-Pass1")


def _make_app(db: Database, client: Any, settings: Any, gateway: Any) -> Any:
    from api.app import create_app

    return create_app(settings, db=db, client=client, gateway=gateway, run_worker=False)


@pytest.fixture(scope="module")
async def bo(db: Database, temporal_client, test_settings, gateway) -> AsyncIterator[Any]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """httpx client on the ASGI app (no worker of its own: pages only read and call the API)."""
    import httpx

    app = _make_app(db, temporal_client, test_settings, gateway)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://tillflow.test"
        ) as http,
    ):
        yield http


@pytest.fixture(scope="module")
async def served(db: Database, temporal_client, test_settings, gateway) -> AsyncIterator[Served]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """The API under uvicorn on an ephemeral 127.0.0.1 port, for the browser."""
    server = Served(lambda: _make_app(db, temporal_client, test_settings, gateway))
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    """One headless Chromium for the module (a fresh context per test)."""
    if not CHROMIUM.exists():
        pytest.skip(
            "Debian chromium is not installed at /usr/bin/chromium "
            "(`make test` installs it when run as root)"
        )
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        chromium = await launch(pw)
        yield chromium
        await chromium.close()


@pytest.fixture
async def page(browser) -> AsyncIterator[Any]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """A fresh browser context (its own sessionStorage) and page. The test's own probes are
    evaluated scripts, which the pages' Content-Security-Policy forbids: the context lets them
    through (one test signs in under the policy as it is)."""
    context = await browser.new_context(bypass_csp=True)
    tab = await context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    await context.close()


def lisbon_manager(db: Database) -> tuple[str, str]:
    """A manager of LIS only (username, password)."""
    username, display, password = LISBON_MANAGER
    with db.unit_of_work() as s:
        if s.scalar(select(User).where(User.username == username)) is None:
            user = User(
                username=username,
                display_name=display,
                role="manager",
                password_hash=hash_secret(password),
            )
            s.add(user)
            s.flush()
            lis = s.scalar(select(Location.id).where(Location.code == "LIS"))
            s.add(UserLocation(user_id=user.id, location_id=lis))
    return username, password


@pytest.fixture(scope="module")
async def admin(bo) -> dict[str, str]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    return await password_login(bo, "admin", "admin-demo")


@pytest.fixture(scope="module")
async def mia(bo) -> dict[str, str]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """A manager of BER, LIS and WH1 (no catalogue permission)."""
    return await password_login(bo, "mia", "manager-demo")


@pytest.fixture(scope="module")
async def leonor(bo, db: Database) -> dict[str, str]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """A manager of LIS only."""
    return await password_login(bo, *lisbon_manager(db))


@pytest.fixture
def sign_in() -> Any:
    """Open a back-office screen and sign in on it with the keyboard."""
    return _sign_in


async def _sign_in(page: Any, url: str, username: str, password: str) -> None:
    await page.goto(url)
    await page.wait_for_selector("#signin:not([hidden])")
    await page.wait_for_function("document.activeElement.id === 'username'")
    await page.keyboard.type(username)
    await page.keyboard.press("Tab")
    await page.keyboard.type(password)
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#signin", state="hidden")
    await page.wait_for_selector("#view h1")
