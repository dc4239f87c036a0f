"""A pickup handed over at the till (issue 15): a ready BOPIS order, the cashier at the till agent
looks it up by its order number, a wrong code is refused, the right one hands it over, and the
order completes — the same hand-over the fulfilment board does, from the till's page API."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from helpers.stock import on_hand
from helpers.tills import AgentUnderTest, Served
from helpers.webstore import eventually, new_product
from test_bopis_flow import pickup_code, ready_pickup

from api.app import create_app
from db.session import Database
from tills.agent import create_agent_app
from tills.config import AgentConfig
from tills.till import TillAgent
from workflows.online_order import OnlineOrderWorkflow


async def test_a_cashier_hands_a_pickup_over_at_the_till(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    orders, fapi, db: Database, finn, fulfilment_env, test_settings, gateway, tmp_path: Path
) -> None:
    sku = new_product(db, {"BER": 2})
    wf = await orders.place([(sku, 1)], pickup="BER")
    number = await eventually(lambda: orders.number(wf))
    await ready_pickup(orders, fapi, db, finn, "BER", wf, sku, 1)
    code = pickup_code(orders, wf, "BER")

    # The central API on the time-skipping server the order runs on, and BER1's till agent.
    central = Served(
        lambda: create_app(
            test_settings, db=db, client=fulfilment_env.client, gateway=gateway, run_worker=False
        )
    )
    await central.start()
    config = AgentConfig(
        till="BER1",
        api_url=central.url,
        data_dir=tmp_path / "till-BER1",
        printer_url=f"file:{tmp_path / 'till-BER1' / 'receipts.bin'}",
        probe_interval=0.2,
        upload_interval=0.3,
        printer_poll=0.2,
    )
    agent = TillAgent(config)
    served = Served(lambda: create_agent_app(config, agent=agent))
    await served.start()
    till = AgentUnderTest(agent, served)
    try:
        await till.login("1001", "1234")  # Carl, a cashier: not fulfilment staff

        async def looked_up() -> dict[str, object] | None:
            r = await till.http.get(f"/api/pickups/{number}", headers=till.session)
            return r.json() if r.status_code == 200 else None  # 503 until the till's snapshot

        seen = await eventually(looked_up)
        assert seen["phase"] == "ready", seen
        assert [(ln["sku"], ln["quantity"]) for ln in seen["lines"]] == [(sku, 1)]

        url = f"/api/pickups/{number}/handover"
        wrong = str((int(code) + 1) % 10**6).zfill(len(code))
        refused = await till.http.post(
            url,
            json={"code": wrong},
            headers={**till.session, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "wrong_code"
        done = await till.http.post(
            url, json={"code": code}, headers={**till.session, "Idempotency-Key": uuid.uuid4().hex}
        )
        assert done.status_code == 200, done.text
        assert done.json()["phase"] == "collected" and done.json()["order_number"] == number
    finally:
        await till.http.aclose()
        await served.stop()
        await central.stop()

    parent = fulfilment_env.client.get_workflow_handle_for(OnlineOrderWorkflow.run, wf)
    assert (await asyncio.wait_for(parent.result(), 30)).status == "completed"
    assert on_hand(db, "BER", sku) == 1  # the goods left the store with the customer
