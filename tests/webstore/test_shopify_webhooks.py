"""Shopify webhooks: signature, dedupe, out-of-order deliveries, unknown SKUs, cancellation with
refund."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from helpers.stock import assert_ledger_balanced
from helpers.webstore import (
    SECRET,
    assert_reservations_balanced,
    at,
    atp,
    connect,
    disconnect,
    eventually,
    holds,
    new_product,
    new_sku,
    post_shopify,
    shopify_headers,
    shopify_order,
)
from sqlalchemy import func, select

from contracts.fulfilment import FulfilmentResult
from contracts.online import online_order_workflow_id
from db.models_payments import WebhookEvent
from db.repositories import online_orders
from workflows.online_order import OnlineOrderWorkflow

pytestmark = pytest.mark.usefixtures("web_worker")


async def children(handle) -> tuple[str, ...]:  # type: ignore[no-untyped-def]  # a workflow handle
    return tuple((await handle.query(OnlineOrderWorkflow.status)).children)


def inbox_count(db, provider: str = "shopify", like: str = "") -> int:  # type: ignore[no-untyped-def]  # takes untyped fixture values
    with db.unit_of_work() as s:
        return (
            s.scalar(
                select(func.count())
                .select_from(WebhookEvent)
                .where(WebhookEvent.provider == provider, WebhookEvent.event_id.like(f"{like}%"))
            )
            or 0
        )


def inbox_status(db, event_id: str) -> str | None:  # type: ignore[no-untyped-def]  # takes untyped fixture values
    with db.unit_of_work() as s:
        row = s.scalar(
            select(WebhookEvent).where(
                WebhookEvent.provider == "shopify", WebhookEvent.event_id == event_id
            )
        )
        return row.status if row else None


def order_status(db, wf: str) -> str | None:  # type: ignore[no-untyped-def]  # takes untyped fixture values
    with db.unit_of_work() as s:
        found = online_orders.summary(s, wf)
    return found.status if found else None


@pytest.fixture
def shop(db, fake_shopify):  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    store = connect(
        db,
        "shopify",
        base_url=fake_shopify.url,
        access_token=fake_shopify.token,
        locations=[
            ("BER", str(fake_shopify.add_location())),
            ("WH1", str(fake_shopify.add_location())),
        ],
    )
    yield store
    disconnect(db, store.code)


async def test_bad_signatures_are_401_and_store_nothing(api, db, shop) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    payload = shopify_order(int(uuid.uuid4().int % 10**9), [("ANY", 1, "9.90")])
    body = json.dumps(payload).encode()
    good = shopify_headers(
        body, topic="orders/create", event_id="evt-sig", triggered_at=at(0), shop=shop.code
    )
    cases = {
        "missing": {k: v for k, v in good.items() if k != "X-Shopify-Hmac-Sha256"},
        "wrong secret": shopify_headers(
            body,
            topic="orders/create",
            event_id="evt-sig",
            triggered_at=at(0),
            shop=shop.code,
            secret="not-the-secret",
        ),
        "garbage": {**good, "X-Shopify-Hmac-Sha256": "bm90IGEgc2lnbmF0dXJl"},
    }
    for name, headers in cases.items():
        r = await api.post(f"/webhooks/shopify/{shop.code}", content=body, headers=headers)
        assert r.status_code == 401, name
        assert r.json()["error"]["code"] == "bad_signature"
    tampered = body.replace(b'"quantity": 1', b'"quantity": 9')
    r = await api.post(f"/webhooks/shopify/{shop.code}", content=tampered, headers=good)
    assert r.status_code == 401
    assert inbox_count(db, like=f"{shop.code}:") == 0
    unknown = await api.post("/webhooks/shopify/no-such-shop", content=body, headers=good)
    assert unknown.status_code == 404


async def test_order_is_reserved_and_duplicates_are_dropped(api, db, shop, temporal_client) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    sku = new_product(db, {"BER": 3, "WH1": 5})
    order_id = int(uuid.uuid4().int % 10**9)
    payload = shopify_order(order_id, [(sku, 2, "12.90")])
    first = await post_shopify(api, shop.code, payload, event_id="evt-1")
    assert first.status_code == 200 and first.json()["status"] == "queued", first.text
    again = await post_shopify(api, shop.code, payload, event_id="evt-1")
    assert again.status_code == 200 and again.json()["duplicate"] is True
    wf = online_order_workflow_id("shopify", str(order_id), shop.code)
    await eventually(lambda: order_status(db, wf) == "fulfilling")
    # Nearest ship-from-store store with everything (Berlin customer): BER.
    assert holds(db, "order", wf) == {("BER", sku): 2}
    assert atp(db, "BER", sku) == 1
    assert inbox_count(db, like=f"{shop.code}:evt-1") == 1
    handle = temporal_client.get_workflow_handle_for(OnlineOrderWorkflow.run, wf)
    # The database says "fulfilling" once the holds are in; the store's child starts just after.
    await eventually(lambda: children(handle), timeout=20)
    assert (await handle.query(OnlineOrderWorkflow.status)).children == ("BER",)
    # The store ships: stock leaves through the ledger, the reservation is consumed, Shopify hears
    # it.
    await temporal_client.get_workflow_handle(f"ship:{wf}:BER").signal(
        "finish",
        FulfilmentResult(status="shipped", tracking_number="00340434161094042557", carrier="DHL"),
    )
    await asyncio.wait_for(handle.result(), 30)
    assert order_status(db, wf) == "completed"
    assert holds(db, "order", wf) == {}
    assert atp(db, "BER", sku) == 1
    with db.unit_of_work() as s:
        from helpers.webstore import location

        from db.repositories import stock

        ber_level = stock.level(s, location(s, "BER"), sku)
        assert ber_level is not None
        assert ber_level.on_hand == 1
    assert_ledger_balanced(db)
    assert_reservations_balanced(db)


async def test_unknown_sku_goes_to_the_exception_queue_and_is_never_dropped(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, db, shop, manager, admin, cashier
) -> None:
    known = new_product(db, {"WH1": 4})
    ghost = new_sku("GHOST")
    order_id = int(uuid.uuid4().int % 10**9)
    r = await post_shopify(
        api, shop.code, shopify_order(order_id, [(known, 1, "5.00"), (ghost, 1, "7.00")])
    )
    assert r.status_code == 200
    wf = online_order_workflow_id("shopify", str(order_id), shop.code)

    async def listed():  # type: ignore[no-untyped-def]  # returns the JSON answer
        found = await api.get("/webstores/exceptions", params={"order": wf}, headers=manager)
        return found.json() if found.status_code == 200 and found.json() else None

    (entry,) = await eventually(listed)
    assert entry["kind"] == "unknown_sku" and entry["sku"] == ghost and entry["status"] == "open"
    assert ghost in entry["reason"] and "neither one of our SKUs nor a barcode" in entry["reason"]
    assert entry["detail"]["order_number"] == f"#{order_id}"
    # Cashiers may not see the queue; nothing was reserved for the held order.
    assert (await api.get("/webstores/exceptions", headers=cashier)).status_code == 403
    assert holds(db, "order", wf) == {}
    # The catalogue gets the SKU; a manager retries; the order goes through.
    new_product(db, {"WH1": 2}, sku=ghost)
    retried = await api.post(f"/webstores/exceptions/{entry['id']}/retry", headers=manager)
    assert retried.status_code == 202, retried.text
    await eventually(lambda: holds(db, "order", wf) == {("WH1", known): 1, ("WH1", ghost): 1})
    resolved = await api.get(
        "/webstores/exceptions", params={"order": wf, "status": "all"}, headers=admin
    )
    assert [e["status"] for e in resolved.json()] == ["resolved"]
    assert (
        await api.post("/webstores/exceptions/999999999/retry", headers=manager)
    ).status_code == 404


async def test_out_of_order_deliveries_never_roll_state_back(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, db, shop, fake_shopify, temporal_client
) -> None:
    sku = new_product(db, {"WH1": 5})
    order_id = int(uuid.uuid4().int % 10**9)
    fake_shopify.add_order(
        order_id, [{"id": order_id * 10 + 1, "sku": sku, "quantity": 2}], total="20.00"
    )
    lines = [(sku, 2, "10.00")]
    wf = online_order_workflow_id("shopify", str(order_id), shop.code)
    # orders/updated (t=5) overtakes orders/create (t=0): the order starts from the newer state.
    await post_shopify(
        api, shop.code, shopify_order(order_id, lines), topic="orders/updated", triggered_at=at(5)
    )
    await post_shopify(
        api, shop.code, shopify_order(order_id, lines), topic="orders/create", triggered_at=at(0)
    )
    await eventually(lambda: holds(db, "order", wf) == {("WH1", sku): 2})
    handle = temporal_client.get_workflow_handle_for(OnlineOrderWorkflow.run, wf)
    # Cancelled at t=9, then a stale orders/updated from t=7 (not cancelled) arrives: still
    # cancelled.
    await post_shopify(
        api,
        shop.code,
        shopify_order(order_id, lines, cancelled=True),
        topic="orders/cancelled",
        triggered_at=at(9),
    )
    await post_shopify(
        api, shop.code, shopify_order(order_id, lines), topic="orders/updated", triggered_at=at(7)
    )
    result = await asyncio.wait_for(handle.result(), 30)
    assert result.status == "cancelled"
    assert (
        await handle.query(OnlineOrderWorkflow.ignored_events) == 2
    )  # the late create and the late update
    assert holds(db, "order", wf) == {} and atp(db, "WH1", sku) == 5
    assert order_status(db, wf) == "cancelled"
    # Shopify still showed it paid, so tillflow refunded it there, once, with our key in the note.
    (refund,) = fake_shopify.orders[order_id]["_refunds"]
    assert (
        refund["transactions"][0]["amount"] == "20.00"
        and f"[tillflow:{wf}:cancel]" in refund["note"]
    )
    # A delivery after the order ended is kept for reconciliation, not started again.
    late_id = uuid.uuid4().hex
    late = await post_shopify(
        api,
        shop.code,
        shopify_order(order_id, lines),
        topic="orders/updated",
        triggered_at=at(20),
        event_id=late_id,
    )
    late_id = f"{shop.code}:{late_id}"
    assert late.json()["status"] == "queued"
    await eventually(lambda: inbox_status(db, late_id) == "closed")
    assert_reservations_balanced(db)


async def test_malformed_deliveries_are_4xx(api, shop) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    for body in (
        b"not json",
        b"[1, 2]",
        json.dumps({"id": 1, "currency": "EUR", "line_items": []}).encode(),
        json.dumps(
            {"id": 1, "currency": "EUR", "line_items": [{"id": 1, "sku": "X", "quantity": -2}]}
        ).encode(),
    ):
        headers = shopify_headers(
            body,
            topic="orders/create",
            event_id=uuid.uuid4().hex,
            triggered_at=at(0),
            shop=shop.code,
        )
        r = await api.post(f"/webhooks/shopify/{shop.code}", content=body, headers=headers)
        assert r.status_code == 400, (body, r.text)  # signed but not an order (issue 13: was 422)
    body = json.dumps(shopify_order(1, [("X", 1, "1.00")])).encode()
    headers = shopify_headers(
        body, topic="orders/create", event_id="e", triggered_at="yesterday", shop=shop.code
    )
    assert (
        await api.post(f"/webhooks/shopify/{shop.code}", content=body, headers=headers)
    ).status_code == 400
    no_topic = {k: v for k, v in headers.items() if k != "X-Shopify-Topic"}
    assert (
        await api.post(f"/webhooks/shopify/{shop.code}", content=body, headers=no_topic)
    ).status_code == 400
    assert SECRET  # the helper's secret is what the shop was connected with


async def test_a_delivery_never_handed_over_is_relayed_from_the_inbox(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, db, shop, temporal_client, test_settings
) -> None:
    """Temporal was down (or the API stopped) right after the answer: the inbox row still says
    `received`."""
    from datetime import timedelta

    from api.webstore_deliveries import Delivery, HandOver, relay_pending
    from db.repositories import inbox

    sku = new_product(db, {"WH1": 1})
    order_id = int(uuid.uuid4().int % 10**9)
    d = Delivery(
        "shopify", shop.code, "orders/create", at(0), shopify_order(order_id, [(sku, 1, "3.00")])
    )
    with db.unit_of_work() as s:
        inbox_id = inbox.record(
            s,
            provider="shopify",
            event_id=f"{shop.code}:stranded",
            topic=d.topic,
            payload=d.stored(),
        )
    hand = HandOver(db, temporal_client, test_settings.web_task_queue)
    assert await relay_pending(hand, test_settings, older_than=timedelta(0)) >= 1
    await hand.drain()
    wf = online_order_workflow_id("shopify", str(order_id), shop.code)
    await eventually(lambda: holds(db, "order", wf) == {("WH1", sku): 1})
    with db.unit_of_work() as s:
        stranded = inbox.find(s, "shopify", f"{shop.code}:stranded")
        assert stranded is not None
        assert stranded.status == "signalled"
    assert inbox_id


async def test_refunds_create_is_kept_for_reconciliation(api, db, shop) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    event_id = uuid.uuid4().hex
    refund = {
        "id": 509562969,
        "order_id": 450789469,
        "note": "it broke",
        "transactions": [
            {"id": 179259969, "kind": "refund", "amount": "10.00", "status": "success"}
        ],
    }
    r = await post_shopify(api, shop.code, refund, topic="refunds/create", event_id=event_id)
    assert r.status_code == 200 and r.json()["status"] == "queued"
    await eventually(lambda: inbox_status(db, f"{shop.code}:{event_id}") == "recorded")
    with db.unit_of_work() as s:
        row = s.scalar(
            select(WebhookEvent).where(WebhookEvent.event_id == f"{shop.code}:{event_id}")
        )
        assert row.workflow_id == online_order_workflow_id("shopify", "450789469", shop.code)
        assert row.payload["body"]["transactions"][0]["amount"] == "10.00"
