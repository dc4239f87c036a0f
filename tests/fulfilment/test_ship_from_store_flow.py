"""Ship from store: the whole flow with a label, rejection and re-routing, and the pick SLA
escalating."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from helpers.fulfilment import in_order, trail
from helpers.stock import assert_ledger_balanced, on_hand
from helpers.webstore import (
    assert_reservations_balanced,
    atp,
    barcode_of,
    eventually,
    holds,
    new_product,
)

from workflows.online_order import OnlineOrderWorkflow
from workflows.ship_from_store import ShipFromStoreWorkflow


async def pick(orders, fapi, db, staff, store: str, wf: str, lines: list[tuple[str, int]]) -> dict:  # type: ignore[no-untyped-def]  # takes untyped fixture values
    task = await orders.task(store, wf, "pick", staff)
    r = await fapi.post(
        f"/fulfilment/{store}/tasks/{task['id']}/picked",
        headers=staff,
        json={"scans": [{"barcode": barcode_of(db, sku), "quantity": q} for sku, q in lines]},
    )
    assert r.status_code == 200, r.text
    return r.json()


async def test_full_ship_from_store_flow(orders, fapi, db, finn, fulfilment_env) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    a, b = new_product(db, {"BER": 4}), new_product(db, {"BER": 2})
    wf = await orders.place([(a, 2), (b, 1)])
    assert (await pick(orders, fapi, db, finn, "BER", wf, [(a, 2), (b, 1)]))["phase"] == "packing"
    pack = await orders.task("BER", wf, "pack", finn)
    assert sorted((ln["sku"], ln["quantity"]) for ln in pack["lines"]) == sorted([(a, 2), (b, 1)])
    bad = await fapi.post(
        f"/fulfilment/BER/tasks/{pack['id']}/pack",
        headers=finn,
        json={"weight_g": 0, "length_cm": 30, "width_cm": 20, "height_cm": 10},
    )
    assert bad.status_code == 422
    packed = await fapi.post(
        f"/fulfilment/BER/tasks/{pack['id']}/pack",
        headers=finn,
        json={"weight_g": 1450, "length_cm": 30, "width_cm": 20, "height_cm": 10},
    )
    assert packed.status_code == 200, packed.text
    state = packed.json()
    assert state["phase"] == "labelled"
    (parcel,) = state["parcels"]
    assert parcel["tracking_number"].startswith("TF") and parcel["carrier"] == "tillflow-local"
    label = await fapi.get(parcel["label_url"], headers=finn)
    assert label.status_code == 200 and label.content.startswith(b"%PDF-1.4")
    assert parcel["tracking_number"].encode() in label.content
    # Nothing left the shelf before the carrier has it.
    assert on_hand(db, "BER", a) == 4 and holds(db, "order", wf) == {("BER", a): 2, ("BER", b): 1}

    ship = await orders.task("BER", wf, "ship", finn)
    assert ship["detail"]["tracking"] == parcel["tracking_number"]
    shipped = await fapi.post(f"/fulfilment/BER/tasks/{ship['id']}/ship", headers=finn)
    assert shipped.status_code == 200 and shipped.json()["phase"] == "shipped", shipped.text
    parent = fulfilment_env.client.get_workflow_handle_for(OnlineOrderWorkflow.run, wf)
    assert (await asyncio.wait_for(parent.result(), 30)).status == "completed"
    # Stock left on_hand, the reservation is closed, the customer and Shopify have the tracking
    # number.
    assert (
        on_hand(db, "BER", a) == 2 and on_hand(db, "BER", b) == 1 and holds(db, "order", wf) == {}
    )
    (fulfilled,) = orders.shopify_order(wf)["_fulfillments"]
    assert fulfilled["tracking_number"] == parcel["tracking_number"]
    (note,) = orders.notices(f"ship:{wf}:BER", "shipped")
    assert parcel["tracking_number"] in note.body and note.recipient == "kim@example.test"
    assert [(t.kind, t.outcome) for t in orders.tasks(f"ship:{wf}:BER")] == [
        ("pick", "picked"),
        ("pack", "packed"),
        ("ship", "shipped"),
    ]
    assert_ledger_balanced(db)
    assert_reservations_balanced(db)
    steps = await trail(fulfilment_env.client.get_workflow_handle(f"ship:{wf}:BER"))
    assert in_order(
        steps,
        [
            "fulfilment.setup",
            "fulfilment.open_task",
            "update:report_picked",
            "fulfilment.close_task",
            "fulfilment.open_task",
            "update:pack",
            "shipping.buy_label",
            "fulfilment.close_task",
            "fulfilment.open_task",
            "update:ship",
            "fulfilment.close_task",
            "notices.send",
        ],
    ), steps


async def test_a_rejected_order_is_re_routed_and_the_first_reservation_released(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    orders, fapi, db, finn, fulfilment_env
) -> None:
    sku = new_product(db, {"BER": 2, "WH1": 5})
    wf = await orders.place([(sku, 2)])
    task = await orders.task("BER", wf, "pick", finn)  # the nearest store with everything
    assert holds(db, "order", wf) == {("BER", sku): 2} and atp(db, "BER", sku) == 0
    empty = await fapi.post(
        f"/fulfilment/BER/tasks/{task['id']}/reject", headers=finn, json={"reason": " "}
    )
    assert empty.status_code == 422
    r = await fapi.post(
        f"/fulfilment/BER/tasks/{task['id']}/reject",
        headers=finn,
        json={"reason": "no staff today"},
    )
    assert r.status_code == 200 and r.json()["phase"] == "rejected", r.text
    # The parent moves the hold to the warehouse; Berlin's units are free again; Berlin's board is
    # clear.
    await eventually(lambda: holds(db, "order", wf) == {("WH1", sku): 2})
    assert atp(db, "BER", sku) == 2 and on_hand(db, "BER", sku) == 2
    listed = (await fapi.get("/fulfilment/BER/tasks", headers=finn)).json()
    assert task["id"] not in [t["id"] for t in listed]
    await pick(orders, fapi, db, finn, "WH1", wf, [(sku, 2)])
    pack = await orders.task("WH1", wf, "pack", finn)
    await fapi.post(
        f"/fulfilment/WH1/tasks/{pack['id']}/pack",
        headers=finn,
        json={"weight_g": 800, "length_cm": 20, "width_cm": 15, "height_cm": 10},
    )
    ship = await orders.task("WH1", wf, "ship", finn)
    assert (
        await fapi.post(f"/fulfilment/WH1/tasks/{ship['id']}/ship", headers=finn)
    ).status_code == 200
    parent = fulfilment_env.client.get_workflow_handle_for(OnlineOrderWorkflow.run, wf)
    assert (await asyncio.wait_for(parent.result(), 30)).status == "completed"
    assert on_hand(db, "WH1", sku) == 3 and on_hand(db, "BER", sku) == 2
    parent_steps = await trail(parent)
    assert "signal:add_lines" not in parent_steps  # the warehouse got a child of its own
    assert_reservations_balanced(db)


async def test_a_pick_not_done_within_the_sla_escalates(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    orders, fapi, db, finn, fulfilment_env
) -> None:
    env = fulfilment_env
    sku = new_product(db, {"BER": 3})
    wf = await orders.place([(sku, 1)])
    task = await orders.task("BER", wf, "pick", finn)
    assert not task["escalated"]
    handle = env.client.get_workflow_handle_for(ShipFromStoreWorkflow.run, f"ship:{wf}:BER")
    await env.sleep(timedelta(minutes=119))
    assert not (await handle.query(ShipFromStoreWorkflow.status)).escalated
    await env.sleep(timedelta(minutes=2))  # the SLA is 120 minutes
    await eventually(lambda: orders.notices(f"ship:{wf}:BER", "pick_overdue"))
    assert (await handle.query(ShipFromStoreWorkflow.status)).escalated
    board = (await fapi.get("/fulfilment/BER/board", headers=finn)).json()
    flagged = next(t for t in board["picks"] if t["id"] == task["id"])
    assert flagged["escalated"] and flagged["overdue"]
    assert board["picks"][0]["overdue"], "overdue picks come first"
    (notice,) = orders.notices(f"ship:{wf}:BER", "pick_overdue")
    assert notice.channel == "store" and notice.recipient == "BER"
    assert "fulfilment.escalate" in await trail(handle)
    # Escalated, not cancelled: the pick can still be done.
    state = await pick(orders, fapi, db, finn, "BER", wf, [(sku, 1)])
    assert state["phase"] == "packing" and state["escalated"]
