"""Fiscal signing tests' helpers: the Berlin store configured with a fiskaly TSE
(FakeFiskalyServer) for one test only, and a sales worker of the test's own with that signer."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from helpers.fake_fiskaly import FakeFiskalyServer
from sqlalchemy import select
from temporalio.client import Client

from activities.fiscal import FiscalActivities
from contracts.fiscal import FiscalScheme
from db.models import Location
from db.repositories import fiscal
from db.session import Database
from integrations.fiscal import FiscalSigner, FiscalSigners
from integrations.fiskaly import FiskalySigner
from tillflow.workers import sale_activities, sales_worker


class FiscalStore:
    """A demo store given a fiscal unit for one test (and no shift needed to sell); `restore`
    takes both back."""

    def __init__(
        self, db: Database, code: str, scheme: FiscalScheme, options: dict[str, str]
    ) -> None:
        self.db = db
        with db.unit_of_work() as s:
            loc = s.scalar(select(Location).where(Location.code == code))
            assert loc is not None
            self.location_id = loc.id
            self._shift_required = loc.shift_required
            loc.shift_required = False  # sold without opening a shift (the shift test opens one)
            fiscal.set_unit(s, loc.id, scheme, options)

    def restore(self) -> None:
        with self.db.unit_of_work() as s:
            fiscal.remove_unit(s, self.location_id)
            loc = s.get(Location, self.location_id)
            assert loc is not None
            loc.shift_required = self._shift_required


class Berlin(FiscalStore):
    """BER with a fiscal unit of scheme de-fiskaly (its TSS and client on the fake)."""

    def __init__(self, db: Database, server: FakeFiskalyServer) -> None:
        self.server = server
        self.tss_id, self.client_id = server.provision()
        super().__init__(
            db, "BER", "de-fiskaly", {"tss_id": self.tss_id, "client_id": self.client_id}
        )


@asynccontextmanager
async def fiscal_worker(
    client: Client,
    db: Database,
    gateway: Any,
    fiskaly: FakeFiskalyServer,
    *,
    till_wait_s: float = 2.0,
    queue: str = "",
    more: dict[str, FiscalSigner] | None = None,
) -> AsyncIterator[str]:
    """The sales worker with a fiskaly signer on the fake (and the signers in `more`), on a
    queue of its own (or `queue`)."""
    queue = queue or f"sales-fiscal-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient() as http:
        signer = FiskalySigner(
            http, fiskaly.url, fiskaly.api_key, fiskaly.api_secret, db, timeout_s=2.0
        )
        signers = FiscalSigners({"de-fiskaly": signer, **(more or {})})
        acts = FiscalActivities(db, signers, till_wait_s=till_wait_s)
        activities = sale_activities(db, gateway, fiscal=acts)
        async with sales_worker(client, db, gateway, task_queue=queue, activities=activities):
            yield queue
