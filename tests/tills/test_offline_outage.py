"""Selling through an outage: the central API stops mid-day, the till sells 50 sales, and when the
API is back every one of them lands exactly once, with its original time and the right stock."""

from __future__ import annotations

import sqlite3
import uuid
from collections import Counter
from datetime import datetime

from helpers.stock import assert_ledger_balanced, on_hand
from helpers.tills import wait_until
from sqlalchemy import select

from contracts.sale import sale_workflow_id
from db.models import Order, StockMovement

SKUS = ["SOCKS-01", "SOCKS-02", "KEYRING", "JAM-APRICOT", "APRON"]


async def test_offline_mid_day_50_sales_land_exactly_once(central, start_agent, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    skus = SKUS
    before = {sku: on_hand(db, "BER", sku) for sku in skus}
    agent = await start_agent("BER2", central.url)
    await agent.login("1002", "2345")  # cora, online: the till fetches its catalogue snapshot
    await wait_until(
        lambda: agent.agent.snapshot is not None and agent.agent.online, 10, "snapshot"
    )

    # Mid-day, still online: a normal sale through the central API.
    first = await agent.post(
        "/api/sales",
        {
            "client_sale_id": f"on-{uuid.uuid4().hex[:8]}",
            "lines": [{"sku": skus[0], "quantity": 1}],
            "tenders": [{"kind": "cash", "amount": 5000}],
        },
    )
    assert first.status_code == 200, first.text
    assert first.json()["sale_id"].startswith("BER2-") and not first.json().get("offline")

    await central.stop()  # the central API goes away
    sold: dict[str, dict[str, object]] = {}
    quantities: Counter[str] = Counter({skus[0]: 1})
    for i in range(50):
        cid = f"off-{uuid.uuid4().hex[:10]}-{i}"
        lines = [{"sku": skus[i % len(skus)], "quantity": 1 + i % 3}]
        if i % 4 == 0:
            lines.append({"sku": skus[(i + 2) % len(skus)], "quantity": 1})
        r = await agent.post(
            "/api/sales",
            {"client_sale_id": cid, "lines": lines, "tenders": [{"kind": "cash", "amount": 20000}]},
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert (
            body["offline"] is True
            and body["sale_id"] == cid
            and body["change_due"] == 20000 - body["total"]
        )
        assert body["receipt_printed"] is True
        sold[cid] = body
        for ln in lines:
            quantities[str(ln["sku"])] += int(ln["quantity"])  # type: ignore[call-overload]  # JSON values
    # A double tap offline returns the same sale and journals nothing new.
    again = await agent.post(
        "/api/sales",
        {"client_sale_id": cid, "lines": lines, "tenders": [{"kind": "cash", "amount": 20000}]},
    )
    assert again.json()["sale_id"] == cid

    status = await agent.status()
    assert status["online"] is False and status["waiting"] == 50
    printed = (agent.agent.config.data_dir / "receipts.bin").read_bytes()
    assert all(cid.encode() in printed for cid in sold)  # receipts printed straight from the agent
    # The journal is on disk, fsync'd on commit (synchronous=FULL), before each receipt printed.
    with sqlite3.connect(agent.agent.config.journal_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM entries WHERE status = 'waiting'").fetchone() == (
            50,
        )

    await central.start()  # the link is back: the uploader hands the journal over in batches
    await wait_until(
        lambda: agent.agent.journal.counts().get("waiting", 0) == 0, 120, "the journal to upload"
    )
    assert (await agent.status())["waiting"] == 0

    ids = [sale_workflow_id("BER2", cid) for cid in sold]
    with db.unit_of_work() as s:
        rows = s.scalars(select(Order).where(Order.workflow_id.in_(ids))).all()
        assert len(rows) == 50 and len({r.workflow_id for r in rows}) == 50  # all 50, each once
        for r in rows:
            original = datetime.fromisoformat(str(sold[r.workflow_id.split(":", 2)[2]]["sold_at"]))
            assert r.placed_at == original  # the original time, not the upload's
            assert r.total == sold[r.workflow_id.split(":", 2)[2]]["total"]
        moves = s.scalars(select(StockMovement).where(StockMovement.workflow_id.in_(ids))).all()
        by_wf = Counter(m.workflow_id for m in moves)
        assert all(n in (1, 2) for n in by_wf.values()) and len(by_wf) == 50
        for m in moves:
            original = datetime.fromisoformat(str(sold[m.workflow_id.split(":", 2)[2]]["sold_at"]))
            assert m.occurred_at == original  # the ledger carries the original time too
    # The journal now knows each sale's central number.
    entry = agent.agent.journal.entry(next(iter(sold)))
    assert (
        entry is not None
        and entry.status == "applied"
        and entry.central_sale_id.startswith("BER2-")
    )
    for sku in skus:
        assert on_hand(db, "BER", sku) == before[sku] - quantities[sku], sku
    assert_ledger_balanced(db)
