"""Catalogue tests: an API of their own (fresh sign-in counters), back-office users made in the
test database, unique codes per test."""

from __future__ import annotations

import httpx
import pytest
from helpers.api import own_api, password_login, till_login
from helpers.catalog import Codes, make_user

from db.session import Database


@pytest.fixture(scope="module")
async def capi(db: Database, temporal_client, test_settings, gateway):  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """The real ASGI app (lifespan run) with its own rate-limit counters."""
    async with own_api(test_settings, db=db, client=temporal_client, gateway=gateway) as at:
        yield at("127.0.0.31")


@pytest.fixture(scope="module")
async def admin(capi: httpx.AsyncClient) -> dict[str, str]:
    return await password_login(capi, "admin", "admin-demo")


@pytest.fixture(scope="module")
async def catalog_manager(capi: httpx.AsyncClient, db: Database) -> dict[str, str]:
    """A manager of BER holding the "catalog" permission."""
    return await password_login(capi, *make_user(db, "manager", ["catalog"]))


@pytest.fixture(scope="module")
async def plain_manager(capi: httpx.AsyncClient, db: Database) -> dict[str, str]:
    """A manager of BER without the "catalog" permission."""
    return await password_login(capi, *make_user(db, "manager", []))


@pytest.fixture(scope="module")
async def till_cashier(capi: httpx.AsyncClient) -> dict[str, str]:
    """Carl, a cashier signed in at till BER1."""
    return await till_login(capi)


@pytest.fixture
def codes() -> Codes:
    return Codes()
