"""Fixtures of the places-and-staff tests: admin sign-in, a fresh store per test with its own
manager, and helpers to create people through the API."""

from __future__ import annotations

import pytest
from backoffice_admin_helpers import Store, make_store
from helpers.api import password_login


@pytest.fixture
async def admin(api) -> dict[str, str]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    return await password_login(api, "admin", "admin-demo")


@pytest.fixture
async def store(api, admin) -> Store:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    return await make_store(api, admin)
