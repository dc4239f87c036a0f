"""Fulfilment tests: the API on the time-skipping Temporal (`fulfilment_env`), a fake Shopify,
staff, orders."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from helpers.api import asgi_api, password_login, till_login
from helpers.fake_shopify import FakeShopifyServer
from helpers.fulfilment import Orders, shopify_store
from sqlalchemy import select

from api.auth import hash_secret
from db.models import Location, User, UserLocation
from db.session import Database


@pytest.fixture(scope="session")
async def fapi(db: Database, fulfilment_env, test_settings, gateway) -> AsyncIterator[Any]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """httpx client on the ASGI app whose Temporal client is the time-skipping server's."""
    async with asgi_api(
        test_settings, db=db, client=fulfilment_env.client, gateway=gateway
    ) as http:
        yield http


@pytest.fixture(scope="session")
def shopify() -> Iterator[FakeShopifyServer]:
    """One fake shop for every fulfilment test (session-wide: late status updates always find
    it)."""
    server = FakeShopifyServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def shop(db: Database, shopify: FakeShopifyServer) -> Iterator[Any]:
    with shopify_store(db, shopify) as store:
        yield store


@pytest.fixture(scope="session")
async def finn(fapi) -> dict[str, str]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """Fulfilment staff of BER, LIS and WH1."""
    return await password_login(fapi, "finn", "fulfil-demo")


@pytest.fixture(scope="session")
async def mia(fapi) -> dict[str, str]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """A manager of every location."""
    return await password_login(fapi, "mia", "manager-demo")


@pytest.fixture(scope="session")
async def lisbon_picker(fapi, db: Database) -> dict[str, str]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """Fulfilment staff of LIS only."""
    with db.unit_of_work() as s:
        if s.scalar(select(User).where(User.username == "lena")) is None:
            user = User(
                username="lena",
                display_name="Lena Lisboa",
                role="fulfilment",
                password_hash=hash_secret("lena-demo"),
            )
            s.add(user)
            s.flush()
            s.add(
                UserLocation(
                    user_id=user.id,
                    location_id=s.scalar(select(Location.id).where(Location.code == "LIS")),
                )
            )
    return await password_login(fapi, "lena", "lena-demo")


@pytest.fixture(scope="session")
async def carl(fapi) -> dict[str, str]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """A cashier (signed in at BER1)."""
    return await till_login(fapi)


@pytest.fixture
def orders(fulfilment_env, db: Database, shop, shopify: FakeShopifyServer, fapi) -> Orders:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    # Orders a test leaves waiting stay: a later test's time skip may expire them, which is
    # harmless. (Terminating them mid-activity would leak the test server's time-skipping lock.)
    return Orders(fulfilment_env, db, shop, shopify, fapi)
