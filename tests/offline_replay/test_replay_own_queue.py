"""Issue 21: with TILLFLOW_OFFLINE_REPLAY_TASK_QUEUE set, a till's journal replays on the replay
worker's own queue (tillflow/replay_worker.py), its Sales too, and each entry still applies once."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from helpers.stock import assert_ledger_balanced, on_hand
from helpers.tills import login, wait_until
from sqlalchemy import func, select

from contracts.sale import sale_workflow_id
from db.models import Order, StockMovement

PRICES = {"CHOC-DARK": 390, "CHOC-MILK": 350}


def _entries(n: int) -> list[dict[str, Any]]:
    start = datetime.now(UTC) - timedelta(seconds=n + 5)
    out = []
    for i in range(n):
        sku = list(PRICES)[i % 2]
        out.append(
            {
                "client_sale_id": f"own-q-{uuid.uuid4().hex[:8]}-{i}",
                "sold_at": (start + timedelta(seconds=i)).isoformat(),
                "cashier": "cora",
                "lines": [{"sku": sku, "quantity": 1, "unit_price": PRICES[sku]}],
                "tenders": [{"kind": "cash", "amount": PRICES[sku], "tendered": 500}],
                "total": PRICES[sku],
                "change_due": 500 - PRICES[sku],
            }
        )
    return out


async def test_a_journal_replays_on_its_own_queue_each_entry_once(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db, temporal_client, gateway, test_settings, api
) -> None:
    from api.app import create_app
    from tillflow.replay_worker import offline_replay_worker

    queue = f"replay-own-{uuid.uuid4().hex[:8]}"
    settings = test_settings.model_copy(
        update={
            "offline_replay_task_queue": queue,
            "offline_replay_window": 3,
            "offline_replay_max_tasks": 2,
        }
    )
    worker = offline_replay_worker(temporal_client, db, gateway, settings)
    assert worker is not None
    assert offline_replay_worker(temporal_client, db, gateway, test_settings) is None  # unset
    app = create_app(settings, db=db, client=temporal_client, gateway=gateway, run_worker=False)
    sent = _entries(7)
    before = {sku: on_hand(db, "BER", sku) for sku in PRICES}
    running = asyncio.create_task(worker.run())
    try:
        await _journal_applied_on(queue, app, sent, temporal_client, db)
    finally:
        # As `tillflow worker` stops it: a long poll in flight may hold a graceful shutdown for
        # up to a minute, and nothing is left undone by not waiting for it.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(worker.shutdown(), timeout=5)
        running.cancel()
    ids = [sale_workflow_id("BER2", e["client_sale_id"]) for e in sent]
    with db.unit_of_work() as s:
        moves = Counter(
            s.scalars(select(StockMovement.workflow_id).where(StockMovement.workflow_id.in_(ids)))
        )
    assert sorted(moves) == sorted(ids) and set(moves.values()) == {1}
    drop = Counter(e["lines"][0]["sku"] for e in sent)
    assert {sku: on_hand(db, "BER", sku) for sku in PRICES} == {
        sku: before[sku] - drop[sku] for sku in PRICES
    }
    assert_ledger_balanced(db)


async def _journal_applied_on(
    queue: str, app: Any, sent: list[dict[str, Any]], client: Any, db: Any
) -> None:
    """BER2 uploads the journal; every entry applies, once, and ran on `queue`."""
    ids = [sale_workflow_id("BER2", e["client_sale_id"]) for e in sent]
    body = {"batch_id": queue, "entries": sent}
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://tillflow.test") as http,
    ):
        auth = await login(http, "BER2", "1002", "2345")
        r = await http.post("/tills/BER2/journal", json=body, headers=auth)
        assert r.status_code in (200, 202), r.text

        def applied() -> bool:
            with db.unit_of_work() as s:
                n = s.scalar(
                    select(func.count()).select_from(Order).where(Order.workflow_id.in_(ids))
                )
            return n == len(ids)

        await wait_until(applied, 60, "the journal to apply")
        again = await http.post("/tills/BER2/journal", json=body, headers=auth)
        assert again.status_code == 200, again.text
        assert {e["status"] for e in again.json()["entries"]} == {"applied"}
        replay = await client.get_workflow_handle(r.json()["workflow_id"]).describe()
        assert replay.task_queue == queue
        for wf in ids:  # the replayed Sales ran on the replay's queue, not the sales queue
            assert (await client.get_workflow_handle(wf).describe()).task_queue == queue


def test_one_workflow_task_slot_is_refused(test_settings) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """A replay and the Sales it starts each need a slot: with one they waited on each other's
    task timeouts, seconds per entry, so the setting refuses it."""
    import pydantic

    from tillflow.settings import Settings

    with pytest.raises(pydantic.ValidationError, match="offline_replay_max_tasks"):
        Settings.model_validate({**test_settings.model_dump(), "offline_replay_max_tasks": 1})
