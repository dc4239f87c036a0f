"""Fixtures of the fiscal signing tests (helpers in fiscal_helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fiscal_helpers import Berlin
from helpers.fake_fiskaly import FakeFiskalyServer

from db.session import Database


@pytest.fixture
def fiskaly() -> Iterator[FakeFiskalyServer]:
    """The fake fiskaly SIGN DE on a loopback port, stopped after the test."""
    with FakeFiskalyServer() as server:
        yield server


@pytest.fixture
def berlin(db: Database, fiskaly: FakeFiskalyServer) -> Iterator[Berlin]:
    """BER signs with the fake TSE for this test; at teardown it signs nothing again."""
    ber = Berlin(db, fiskaly)
    yield ber
    ber.restore()
