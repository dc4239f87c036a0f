"""Loyalty at an offline till (a real agent under uvicorn, the real central API): the till shows
the last balance it saw of a customer it looked up online, an offline sale naming the customer
earns their points when it is replayed, and points offered as a tender offline are refused."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from helpers.tills import AgentUnderTest, Served, wait_until
from helpers.webstore import eventually

from db.repositories import customers, loyalty
from db.session import Database
from tills.agent import create_agent_app
from tills.config import AgentConfig
from tills.till import TillAgent


@pytest.fixture
async def central(db, temporal_client, api, test_settings, gateway) -> AsyncIterator[Served]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """The central API on a real port (its workflows run on the `api` fixture's sale worker)."""
    from api.app import create_app

    server = Served(
        lambda: create_app(
            test_settings, db=db, client=temporal_client, gateway=gateway, run_worker=False
        )
    )
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def till(central: Served, tmp_path: Path) -> AsyncIterator[AgentUnderTest]:
    """The BER2 till's agent, signed in online as Cora."""
    config = AgentConfig(
        till="BER2",
        api_url=central.url,
        data_dir=tmp_path / "till-BER2",
        printer_url=f"file:{tmp_path / 'till-BER2' / 'receipts.bin'}",
        probe_interval=0.2,
        upload_interval=0.3,
        upload_batch=20,
        upload_wait=10,
        printer_poll=0.2,
    )
    agent = TillAgent(config)
    server = Served(lambda: create_agent_app(config, agent=agent))
    await server.start()
    under_test = AgentUnderTest(agent, server)
    await under_test.login("1002", "2345")
    await wait_until(lambda: agent.snapshot is not None and agent.online, 10, "snapshot")
    yield under_test
    await under_test.http.aclose()
    await server.stop()


def points(db: Database, customer_id: int) -> int:
    with db.unit_of_work() as s:
        return loyalty.balance(s, customer_id).balance


async def test_offline_the_till_shows_the_last_balance_earns_at_replay_and_refuses_points(
    central: Served, till: AgentUnderTest, db: Database
) -> None:
    name = f"Offline Points {uuid.uuid4().hex[:8]}"
    with db.unit_of_work() as s:
        cid = customers.create(s, name=name).id
        loyalty.adjust(s, cid, 700, f"test:{uuid.uuid4().hex}", reason="test", actor_user_id=None)

    online = await till.http.get("/api/customers", params={"q": name}, headers=till.session)
    assert online.status_code == 200, online.text
    assert [(c["customer_id"], c["points_balance"]) for c in online.json()] == [(cid, 700)]
    bal = await till.http.get(f"/api/customers/{cid}/points", headers=till.session)
    assert bal.status_code == 200, bal.text
    assert (bal.json()["points_balance"], bal.json()["offline"]) == (700, False)

    await central.stop()  # the link goes down
    found = await till.http.get("/api/customers", params={"q": name}, headers=till.session)
    assert found.status_code == 200, found.text
    [known] = found.json()
    assert (known["customer_id"], known["points_balance"], known["offline"]) == (cid, 700, True)
    assert known["points_as_of"]
    last = await till.http.get(f"/api/customers/{cid}/points", headers=till.session)
    assert (last.json()["points_balance"], last.json()["offline"]) == (700, True)
    never = await till.http.get("/api/customers", params={"q": "nobody-x"}, headers=till.session)
    assert never.status_code == 503 and never.json()["error"]["code"] == "offline"

    refused = await till.post(
        "/api/sales",
        {
            "client_sale_id": f"offpts-{uuid.uuid4().hex[:10]}",
            "lines": [{"sku": "NOTEBOOK-A5", "quantity": 1}],
            "tenders": [{"kind": "points", "amount": 500, "reference": str(cid)}],
            "customer_id": cid,
        },
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "offline_refused"
    assert (
        "points can't be redeemed while the till is offline" in refused.json()["error"]["message"]
    )

    client_sale_id = f"offpts-{uuid.uuid4().hex[:10]}"
    sold = await till.post(
        "/api/sales",
        {
            "client_sale_id": client_sale_id,
            "lines": [{"sku": "NOTEBOOK-A5", "quantity": 2}],
            "tenders": [{"kind": "cash", "amount": 5000}],
            "customer_id": cid,
        },
    )
    assert sold.status_code == 200, sold.text
    assert sold.json()["offline"] is True
    entry = till.agent.journal.entry(client_sale_id)
    assert entry is not None and entry.body["customer_id"] == cid
    assert points(db, cid) == 700  # nothing earned until the sale reaches the central system

    await central.start()  # back: the journal uploads, the replayed Sale names the customer
    await wait_until(
        lambda: till.agent.journal.counts().get("waiting", 0) == 0, 60, "the journal to upload"
    )
    earned = sold.json()["total"] // 100
    assert await eventually(lambda: points(db, cid) == 700 + earned or None)
