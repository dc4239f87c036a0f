"""Buy online, pick up in store: the whole flow, wrong codes, expiry in opening hours, extension,
shortage re-sourcing and curbside — on the time-skipping Temporal server."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

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

from workflows.bopis import BopisWorkflow
from workflows.online_order import OnlineOrderWorkflow

BERLIN = ZoneInfo("Europe/Berlin")


async def ready_pickup(orders, fapi, db, staff, store: str, wf: str, sku: str, qty: int) -> dict:  # type: ignore[no-untyped-def]  # takes untyped fixture values
    """Pick the order at the store; returns the pickup's state once it waits for the customer."""
    task = await orders.task(store, wf, "pick", staff)
    r = await fapi.post(
        f"/fulfilment/{store}/tasks/{task['id']}/picked",
        headers=staff,
        json={"scans": [{"barcode": barcode_of(db, sku), "quantity": qty}]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["phase"] == "ready"
    return r.json()


def pickup_code(orders, wf: str, store: str) -> str:  # type: ignore[no-untyped-def]  # takes untyped fixture values
    (ready,) = orders.notices(f"bopis:{wf}:{store}", "ready_for_pickup")
    return ready.data["code"]


async def test_full_bopis_flow(orders, fapi, db, finn, fulfilment_env) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    sku = new_product(db, {"BER": 3, "LIS": 5})
    other = new_product(db, {"BER": 1})
    wf = await orders.place([(sku, 2)], pickup="BER")
    number = await eventually(lambda: orders.number(wf))
    task = await orders.task("BER", wf, "pick", finn)
    assert task["order_number"] == number and task["status"] == "open"
    assert [(ln["sku"], ln["quantity"]) for ln in task["lines"]] == [(sku, 2)]
    assert datetime.fromisoformat(task["due_at"]) > datetime.fromisoformat(task["created_at"])
    assert holds(db, "order", wf) == {("BER", sku): 2}

    claimed = await fapi.post(f"/fulfilment/BER/tasks/{task['id']}/claim", headers=finn)
    assert claimed.status_code == 200, claimed.text
    listed = (await fapi.get("/fulfilment/BER/tasks", params={"kind": "pick"}, headers=finn)).json()
    assert next(t for t in listed if t["id"] == task["id"])["assignee"] == "Finn Fulfilment"

    # A wrong item is refused with what it is; so is an incomplete pick.
    wrong = await fapi.post(
        f"/fulfilment/BER/tasks/{task['id']}/picked",
        headers=finn,
        json={"scans": [{"barcode": barcode_of(db, other)}]},
    )
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "wrong_item"
    assert other in wrong.json()["error"]["message"] and number in wrong.json()["error"]["message"]
    short = await fapi.post(
        f"/fulfilment/BER/tasks/{task['id']}/picked",
        headers=finn,
        json={"scans": [{"barcode": barcode_of(db, sku)}]},
    )
    assert short.status_code == 422 and "Still to pick: 1 ×" in short.json()["error"]["message"]

    state = await ready_pickup(orders, fapi, db, finn, "BER", wf, sku, 2)
    deadline = datetime.fromisoformat(state["deadline"])
    # The order hold became a held-for-pickup allocation; nothing left the shelf yet.
    assert holds(db, "order", wf) == {} and holds(db, "pickup", wf) == {("BER", sku): 2}
    assert on_hand(db, "BER", sku) == 3 and atp(db, "BER", sku) == 1
    code = pickup_code(orders, f"{wf}", "BER")
    (ready,) = orders.notices(f"bopis:{wf}:BER", "ready_for_pickup")
    assert ready.recipient == "kim@example.test" and code in ready.body and len(code) == 6
    assert ready.data["barcode"] == f"PU:{number}:{code}"
    assert datetime.fromisoformat(ready.data["deadline"]) == deadline
    board = (await fapi.get("/fulfilment/BER/board", headers=finn)).json()
    (waiting,) = [t for t in board["pickups"] if t["order_number"] == number]
    assert waiting["kind"] == "handover" and datetime.fromisoformat(waiting["due_at"]) == deadline

    # Hand-over with the code: the goods leave on_hand, the order completes, Shopify hears it.
    done = await fapi.post(
        f"/fulfilment/BER/pickups/{number}/handover", headers=finn, json={"code": code}
    )
    assert done.status_code == 200, done.text
    assert done.json()["phase"] == "collected"
    parent = fulfilment_env.client.get_workflow_handle_for(OnlineOrderWorkflow.run, wf)
    assert (await asyncio.wait_for(parent.result(), 30)).status == "completed"
    assert on_hand(db, "BER", sku) == 1 and atp(db, "BER", sku) == 1
    assert holds(db, "pickup", wf) == {} and holds(db, "order", wf) == {}
    assert orders.shopify_order(wf)["_fulfillments"], "Shopify was told the order was picked up"
    assert [t.status for t in orders.tasks(f"bopis:{wf}:BER")] == ["done", "done"]
    assert_ledger_balanced(db)
    assert_reservations_balanced(db)

    # Every step is in the child's history, in order.
    steps = await trail(fulfilment_env.client.get_workflow_handle(f"bopis:{wf}:BER"))
    assert in_order(
        steps,
        [
            "fulfilment.setup",
            "fulfilment.open_task",
            "update:claim",
            "fulfilment.claim",
            "update:report_picked",
            "fulfilment.resolve_barcodes",
            "update:report_picked",
            "fulfilment.close_task",
            "fulfilment.pickup_deadline",
            "fulfilment.hold_for_pickup",
            "fulfilment.open_task",
            "notices.send",
            "update:hand_over",
            "fulfilment.hand_over",
            "notices.send",
        ],
    ), steps


async def test_wrong_pickup_codes_are_refused_counted_and_lock(orders, fapi, db, finn, mia) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    sku = new_product(db, {"BER": 2})
    wf = await orders.place([(sku, 1)], pickup="BER")
    await ready_pickup(orders, fapi, db, finn, "BER", wf, sku, 1)
    number = orders.number(wf)
    code = pickup_code(orders, wf, "BER")
    wrong = str((int(code) + 1) % 10**6).zfill(6)
    url = f"/fulfilment/BER/pickups/{number}/handover"

    first = await fapi.post(url, headers=finn, json={"code": wrong})
    assert first.status_code == 422 and first.json()["error"]["code"] == "wrong_code"
    assert "2 more attempts" in first.json()["error"]["message"]
    other = await fapi.post(url, headers=finn, json={"barcode": f"PU:SHOP-999999:{code}"})
    assert other.status_code == 422 and other.json()["error"]["code"] == "wrong_order"
    bad_scan = await fapi.post(url, headers=finn, json={"barcode": f"PU:{number}:{wrong}"})
    assert bad_scan.status_code == 422 and bad_scan.json()["error"]["code"] == "wrong_code"
    state = (await fapi.get(f"/fulfilment/BER/pickups/{number}", headers=finn)).json()
    assert state["wrong_codes"] == 2 and not state["locked"] and state["phase"] == "ready"
    board = (await fapi.get("/fulfilment/BER/board", headers=finn)).json()
    assert (
        next(t for t in board["pickups"] if t["order_number"] == number)["detail"]["wrong_codes"]
        == "2"
    )

    # The third wrong code locks it: even the right code is refused until a manager checks ID.
    third = await fapi.post(url, headers=finn, json={"code": wrong})
    assert third.status_code == 422 and "locked" in third.json()["error"]["message"]
    locked = await fapi.post(url, headers=finn, json={"code": code})
    assert locked.status_code == 409 and "manager" in locked.json()["error"]["message"]
    not_manager = await fapi.post(url, headers=finn, json={"id_checked": True})
    assert not_manager.status_code == 422
    assert holds(db, "pickup", wf) == {("BER", sku): 1}
    handed = await fapi.post(url, headers=mia, json={"id_checked": True})
    assert handed.status_code == 200 and handed.json()["phase"] == "collected", handed.text
    again = await fapi.post(url, headers=mia, json={"code": code})
    assert again.status_code in (409, 404)


async def test_hand_over_by_scanning_the_pickup_barcode(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    orders, fapi, db, finn, fulfilment_env
) -> None:
    sku = new_product(db, {"LIS": 2})
    wf = await orders.place([(sku, 1)], pickup="LIS")
    await ready_pickup(orders, fapi, db, finn, "LIS", wf, sku, 1)
    number = orders.number(wf)
    (ready,) = orders.notices(f"bopis:{wf}:LIS", "ready_for_pickup")
    r = await fapi.post(
        f"/fulfilment/LIS/pickups/{number}/handover",
        headers=finn,
        json={"barcode": ready.data["barcode"]},
    )
    assert r.status_code == 200 and r.json()["phase"] == "collected", r.text
    parent = fulfilment_env.client.get_workflow_handle_for(OnlineOrderWorkflow.run, wf)
    assert (await asyncio.wait_for(parent.result(), 30)).status == "completed"
    assert on_hand(db, "LIS", sku) == 1


def _next_thursday_1500(now: datetime) -> datetime:
    local = now.astimezone(BERLIN)
    days = (3 - local.weekday()) % 7 or 7
    return datetime.combine(
        local.date() + timedelta(days=days), datetime.min.time().replace(hour=15), tzinfo=BERLIN
    )


async def test_expiry_honours_store_hours(orders, fapi, db, finn, fulfilment_env) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    env = fulfilment_env
    await env.sleep(
        _next_thursday_1500(await env.get_current_time()) - await env.get_current_time()
    )
    sku = new_product(db, {"BER": 2})
    wf = await orders.place([(sku, 2)], pickup="BER")
    state = await ready_pickup(orders, fapi, db, finn, "BER", wf, sku, 2)
    ready_at = await env.get_current_time()
    deadline = datetime.fromisoformat(state["deadline"])
    # 3 days = 3 × 11 opening hours: Thu 5 h + Fri 11 h + Sat 11 h; Sunday closed;
    # Monday 09:00 + 6 h.
    local = deadline.astimezone(BERLIN)
    assert (ready_at + timedelta(days=3)).astimezone(
        BERLIN
    ).weekday() == 6  # 72 h later is a closed Sunday
    assert local.weekday() == 0 and (local.hour, local.minute) == (15, 0), local
    bopis = env.client.get_workflow_handle_for(BopisWorkflow.run, f"bopis:{wf}:BER")

    # The reminder goes out 24 h before the deadline (Sunday 15:00), once.
    await env.sleep(
        deadline - timedelta(hours=24) + timedelta(minutes=1) - await env.get_current_time()
    )
    await eventually(lambda: orders.notices(f"bopis:{wf}:BER", "pickup_reminder"))
    assert (await fapi.get(f"/fulfilment/BER/pickups/{orders.number(wf)}", headers=finn)).json()[
        "reminded"
    ]
    # A minute before the deadline it still waits.
    await env.sleep(deadline - timedelta(minutes=1) - await env.get_current_time())
    assert (await bopis.query(BopisWorkflow.status)).phase == "ready"
    assert holds(db, "pickup", wf) == {("BER", sku): 2}

    await env.sleep(timedelta(minutes=2))
    result = await asyncio.wait_for(bopis.result(), 30)
    assert result.status == "expired" and "not collected" in result.message.lower()
    parent = env.client.get_workflow_handle_for(OnlineOrderWorkflow.run, wf)
    assert (await asyncio.wait_for(parent.result(), 30)).status == "cancelled"
    # Back on the shelf, the customer refunded through Shopify and told.
    assert holds(db, "pickup", wf) == {} and holds(db, "order", wf) == {}
    assert atp(db, "BER", sku) == 2 and on_hand(db, "BER", sku) == 2
    shop_order = orders.shopify_order(wf)
    assert shop_order["_refunds"] and shop_order["cancelled_at"]
    assert orders.notices(f"bopis:{wf}:BER", "pickup_expired")
    assert [n.kind for n in orders.notices(f"bopis:{wf}:BER")] == [
        "ready_for_pickup",
        "pickup_reminder",
        "pickup_expired",
    ]
    assert [t.outcome for t in orders.tasks(f"bopis:{wf}:BER")] == ["picked", "expired"]
    assert_reservations_balanced(db)
    steps = await trail(bopis)
    assert in_order(
        steps,
        [
            "fulfilment.hold_for_pickup",
            "notices.send",
            "notices.send",
            "fulfilment.release_pickup",
            "fulfilment.cancel_tasks",
            "notices.send",
        ],
    ), steps


async def test_a_manager_extends_the_pickup(orders, fapi, db, finn, mia, fulfilment_env) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    env = fulfilment_env
    sku = new_product(db, {"BER": 1})
    wf = await orders.place([(sku, 1)], pickup="BER")
    state = await ready_pickup(orders, fapi, db, finn, "BER", wf, sku, 1)
    number = orders.number(wf)
    first = datetime.fromisoformat(state["deadline"])
    url = f"/fulfilment/BER/pickups/{number}/extend"
    assert (await fapi.post(url, headers=finn, json={"days": 1})).status_code == 403
    assert (await fapi.post(url, headers=mia, json={"days": 0})).status_code == 422
    r = await fapi.post(url, headers=mia, json={"days": 2, "reason": "customer on holiday"})
    assert r.status_code == 200, r.text
    extended = datetime.fromisoformat(r.json()["deadline"])
    assert r.json()["extensions"] == 1 and extended > first
    # Two more opening days of 11 h: the same local time of day, two opening days later.
    assert extended.astimezone(BERLIN).time() == first.astimezone(BERLIN).time()
    assert orders.notices(f"bopis:{wf}:BER", "pickup_extended")
    with_hold = holds(db, "pickup", wf)
    assert with_hold == {("BER", sku): 1}

    # The old deadline passes: still waiting; then the customer comes.
    await env.sleep(first + timedelta(minutes=5) - await env.get_current_time())
    assert (
        await env.client.get_workflow_handle_for(BopisWorkflow.run, f"bopis:{wf}:BER").query(
            BopisWorkflow.status
        )
    ).phase == "ready"
    code = pickup_code(orders, wf, "BER")
    done = await fapi.post(
        f"/fulfilment/BER/pickups/{number}/handover", headers=finn, json={"code": code}
    )
    assert done.status_code == 200 and done.json()["phase"] == "collected"
    steps = await trail(env.client.get_workflow_handle(f"bopis:{wf}:BER"))
    assert in_order(
        steps,
        [
            "update:extend",
            "fulfilment.pickup_deadline",
            "fulfilment.extend_pickup",
            "notices.send",
            "update:hand_over",
            "fulfilment.hand_over",
        ],
    ), steps


async def test_curbside_arrival_goes_to_the_top_of_the_board(orders, fapi, db, finn) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    early, late = new_product(db, {"BER": 2}), new_product(db, {"BER": 2})
    wf_early = await orders.place([(early, 1)], pickup="BER")
    wf_late = await orders.place([(late, 1)], pickup="BER")
    number = await eventually(lambda: orders.number(wf_late))
    # Not ready yet: the customer is told so.
    not_yet = await fapi.post(
        f"/fulfilment/BER/pickups/{number}/arrived", json={"code": "000000", "bay": "4"}
    )
    assert not_yet.status_code in (404, 409)
    await ready_pickup(orders, fapi, db, finn, "BER", wf_early, early, 1)
    await ready_pickup(orders, fapi, db, finn, "BER", wf_late, late, 1)
    code = pickup_code(orders, wf_late, "BER")
    wrong = await fapi.post(
        f"/fulfilment/BER/pickups/{number}/arrived",
        json={"code": str((int(code) + 7) % 10**6).zfill(6), "bay": "4"},
    )
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "wrong_code"
    bad_bay = await fapi.post(
        f"/fulfilment/BER/pickups/{number}/arrived", json={"code": code, "bay": "<b>"}
    )
    assert bad_bay.status_code == 422
    here = await fapi.post(
        f"/fulfilment/BER/pickups/{number}/arrived", json={"code": code, "bay": "4"}
    )
    assert here.status_code == 200, here.text
    assert here.json()["bay"] == "4" and "bay 4" in here.json()["message"]
    board = (await fapi.get("/fulfilment/BER/board", headers=finn)).json()
    assert (
        board["curbside"][0]["order_number"] == number
        and board["curbside"][0]["curbside_bay"] == "4"
    )
    assert number not in [t["order_number"] for t in board["pickups"]]
    assert orders.number(wf_early) in [t["order_number"] for t in board["pickups"]]
    done = await fapi.post(
        f"/fulfilment/BER/pickups/{number}/handover", headers=finn, json={"code": code}
    )
    assert done.status_code == 200


async def test_a_shortage_at_pick_time_re_sources_the_order(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    orders, fapi, db, finn, fulfilment_env
) -> None:
    sku = new_product(db, {"BER": 1, "LIS": 3})
    wf = await orders.place([(sku, 1)], pickup="BER")
    task = await orders.task("BER", wf, "pick", finn)
    bad = await fapi.post(
        f"/fulfilment/BER/tasks/{task['id']}/shortage",
        headers=finn,
        json={"missing": [{"sku": sku, "quantity": 2}]},
    )
    assert bad.status_code == 422
    r = await fapi.post(
        f"/fulfilment/BER/tasks/{task['id']}/shortage",
        headers=finn,
        json={"missing": [{"sku": sku, "quantity": 1}], "note": "shelf empty"},
    )
    assert r.status_code == 200 and r.json()["phase"] == "rejected", r.text
    # The shelf had none: on_hand is corrected; the order moves to Lisbon instead of failing.
    await eventually(lambda: holds(db, "order", wf) == {("LIS", sku): 1})
    assert on_hand(db, "BER", sku) == 0 and atp(db, "BER", sku) == 0
    result = await asyncio.wait_for(
        fulfilment_env.client.get_workflow_handle_for(
            BopisWorkflow.run, f"bopis:{wf}:BER"
        ).result(),
        10,
    )
    assert (
        result.status == "rejected"
        and result.short[0].sku == sku
        and "short of 1" in result.message
    )
    parent = fulfilment_env.client.get_workflow_handle_for(OnlineOrderWorkflow.run, wf)
    assert (await parent.query(OnlineOrderWorkflow.status)).status == "fulfilling"
    state = await ready_pickup(orders, fapi, db, finn, "LIS", wf, sku, 1)
    assert state["location"] == "LIS"
    code = pickup_code(orders, wf, "LIS")
    done = await fapi.post(
        f"/fulfilment/LIS/pickups/{orders.number(wf)}/handover", headers=finn, json={"code": code}
    )
    assert done.status_code == 200
    assert (await asyncio.wait_for(parent.result(), 30)).status == "completed"
    assert on_hand(db, "LIS", sku) == 2
    assert_ledger_balanced(db)
    assert_reservations_balanced(db)


async def test_an_order_cancelled_by_the_web_store_gives_the_pickup_back(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    orders,
    fapi,
    db,
    finn,
    fulfilment_env,
) -> None:
    from contracts.online import WebStoreEvent

    sku = new_product(db, {"BER": 2})
    wf = await orders.place([(sku, 2)], pickup="BER")
    await ready_pickup(orders, fapi, db, finn, "BER", wf, sku, 2)
    assert holds(db, "pickup", wf) == {("BER", sku): 2} and atp(db, "BER", sku) == 0
    parent = fulfilment_env.client.get_workflow_handle_for(OnlineOrderWorkflow.run, wf)
    await parent.signal(
        OnlineOrderWorkflow.web_store_event,
        WebStoreEvent(topic="orders/cancelled", version_us=2, cancelled=True),
    )
    assert (await asyncio.wait_for(parent.result(), 30)).status == "cancelled"
    # The child was cancelled by the parent's compensation and put the goods back itself.
    await eventually(lambda: holds(db, "pickup", wf) == {})
    assert atp(db, "BER", sku) == 2 and on_hand(db, "BER", sku) == 2
    await eventually(
        lambda: [t.status for t in orders.tasks(f"bopis:{wf}:BER")] == ["done", "cancelled"]
    )
    number = orders.number(wf)
    gone = await fapi.post(
        f"/fulfilment/BER/pickups/{number}/handover", headers=finn, json={"code": "123456"}
    )
    assert gone.status_code == 409
    assert_reservations_balanced(db)
