"""Stock that went short while the till was offline becomes a flagged variance for a manager; the
sale stands."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
from helpers.stock import assert_ledger_balanced, location_id, on_hand
from helpers.tills import TcpLink, login, wait_until

from db.repositories import stock

SKU = "UMBRELLA"


def set_on_hand(db, code: str, sku: str, target: int) -> None:  # type: ignore[no-untyped-def]  # takes untyped fixture values
    """A stock count: one adjustment movement in the ledger."""
    delta = target - on_hand(db, code, sku)
    with db.unit_of_work() as s:
        stock.apply_movements(
            s,
            location_id(db, code),
            [stock.Movement(sku, delta, "count", "test count", f"test:count:{uuid.uuid4().hex}")],
            workflow_id=None,
            occurred_at=datetime.now(UTC),
        )


async def test_stock_sold_online_meanwhile_is_flagged_never_dropped(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    central, start_agent, db
) -> None:
    set_on_hand(db, "BER", SKU, 2)
    link = TcpLink(central.port)
    await link.up()
    agent = await start_agent("BER2", link.url)
    await agent.login("1002", "2345")
    await wait_until(lambda: agent.agent.snapshot is not None, 10, "snapshot")

    await link.cut()  # the store's line goes down; the central system carries on
    await wait_until(lambda: not agent.agent.online, 10, "the till to notice")
    cid = f"short-{uuid.uuid4().hex[:8]}"
    r = await agent.post(
        "/api/sales",
        {
            "client_sale_id": cid,
            "lines": [{"sku": SKU, "quantity": 3}],
            "tenders": [{"kind": "cash", "amount": 10000}],
        },
    )
    assert r.status_code == 200 and r.json()["offline"], r.text

    async with httpx.AsyncClient(base_url=central.url, timeout=30) as api:
        # Meanwhile the last two umbrellas sell at the other till.
        other = await login(api, "BER1", "1001", "1234")
        online = await api.post(
            "/tills/BER1/sales",
            headers=other,
            json={
                "client_sale_id": f"web-{uuid.uuid4().hex[:8]}",
                "lines": [{"sku": SKU, "quantity": 2}],
                "tenders": [{"kind": "cash", "amount": 10000}],
            },
        )
        assert online.status_code == 200, online.text
        assert on_hand(db, "BER", SKU) == 0

        await link.up()  # back: the uploader sends the journal
        await wait_until(lambda: agent.agent.journal.counts().get("waiting", 0) == 0, 60, "upload")
        entry = agent.agent.journal.entry(cid)
        assert entry is not None and entry.status == "applied" and "flagged" in entry.message
        assert on_hand(db, "BER", SKU) == -3  # the sale was not dropped
        assert_ledger_balanced(db)

        manager = await login(api, "BER1", "9001", "9001")
        variances = (await api.get("/stores/BER/variances", headers=manager)).json()
        mine = [v for v in variances if v["order_number"] == entry.central_sale_id]
        assert len(mine) == 1
        v = mine[0]
        assert (
            v["sku"],
            v["quantity_sold"],
            v["on_hand_before"],
            v["quantity_short"],
            v["till"],
        ) == (SKU, 3, 0, 3, "BER2")
        assert v["status"] == "open" and v["reason"] == "offline_sale_short"
        # Managers only, and only of their stores.
        assert (await api.get("/stores/BER/variances", headers=other)).status_code == 403
        assert (await api.get("/stores/NOPE/variances", headers=manager)).status_code == 404
        assert (
            await api.get("/stores/BER/variances", params={"status": "lost"}, headers=manager)
        ).status_code == 422
    await link.cut()
