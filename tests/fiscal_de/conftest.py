"""Fixtures of the German fiscal tests: a FakeFiskalyServer with one TSS and client per test, and
a FiskalySigner talking to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from helpers.fake_fiskaly import FakeFiskalyServer

from integrations.fiscal import FiscalUnit
from integrations.fiskaly import FiskalySigner


@pytest.fixture
def fiskaly() -> Iterator[FakeFiskalyServer]:
    with FakeFiskalyServer() as server:
        yield server


@pytest.fixture
def unit(fiskaly: FakeFiskalyServer) -> FiscalUnit:
    tss_id, client_id = fiskaly.provision(client_serial="TILLFLOW-BERTEST")
    return FiscalUnit(
        location_code="BER",
        scheme="de-fiskaly",
        country="DE",
        options={"tss_id": tss_id, "client_id": client_id},
    )


@pytest.fixture
async def signer(fiskaly: FakeFiskalyServer) -> AsyncIterator[FiskalySigner]:
    async with httpx.AsyncClient() as http:
        yield FiskalySigner(
            http, fiskaly.url, fiskaly.api_key, fiskaly.api_secret, None, timeout_s=2.0
        )
