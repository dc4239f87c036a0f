"""Endless aisle tests (issue 19): the API on the time-skipping Temporal (`fulfilment_env`) that
runs OnlineOrder with the real ShipFromStore, a cashier of BER1 and fulfilment staff."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest
from helpers.api import asgi_api, password_login, till_login
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    StartWorkflowUpdateWithStartInput,
    WorkflowUpdateHandle,
)

from db.session import Database


class _NoSearchAttributes(Interceptor):
    """The time-skipping test server defines no search attributes: the ship-order route's
    update-with-start goes there without them (everything else as the route sends it)."""

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _Strip(next)


class _Strip(OutboundInterceptor):
    async def start_update_with_start_workflow(
        self, input: StartWorkflowUpdateWithStartInput
    ) -> WorkflowUpdateHandle[Any]:
        start = dataclasses.replace(input.start_workflow_input, search_attributes=None)
        return await super().start_update_with_start_workflow(
            dataclasses.replace(input, start_workflow_input=start)
        )


@pytest.fixture(scope="session")
async def aisle_api(db: Database, fulfilment_env, test_settings, gateway) -> AsyncIterator[Any]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """httpx client on the ASGI app whose Temporal client is the time-skipping server's."""
    config = fulfilment_env.client.config()
    config["interceptors"] = [*config["interceptors"], _NoSearchAttributes()]
    client = Client(**config)
    async with asgi_api(test_settings, db=db, client=client, gateway=gateway) as http:
        yield http


@pytest.fixture(scope="session")
async def aisle_cashier(aisle_api) -> dict[str, str]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """Carl, a cashier of BER, signed in at till BER1."""
    return await till_login(aisle_api)


@pytest.fixture(scope="session")
async def aisle_picker(aisle_api) -> dict[str, str]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """Finn, fulfilment staff of BER, LIS and WH1."""
    return await password_login(aisle_api, "finn", "fulfil-demo")
