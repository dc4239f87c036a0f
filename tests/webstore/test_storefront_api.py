"""Our storefront API: keys, availability, carts holding stock, checkout into an OnlineOrder with
Stripe."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from helpers.stock import assert_ledger_balanced
from helpers.webstore import (
    assert_reservations_balanced,
    atp,
    barcode_of,
    connect,
    disconnect,
    holds,
    level,
    new_product,
)
from sqlalchemy import select

from contracts.fulfilment import FulfilmentResult
from contracts.online import online_order_workflow_id
from db.models import Payment
from workflows.online_order import OnlineOrderWorkflow

pytestmark = pytest.mark.usefixtures("web_worker")


@pytest.fixture
def web(db):  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    key = f"sfk_test_{uuid.uuid4().hex}"
    store = connect(db, "web", storefront_key=key)
    yield store, {"X-Storefront-Key": key}
    disconnect(db, store.code)


async def test_storefront_key_is_required_and_scoped(api, db, web) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    _, key = web
    sku = new_product(db, {"BER": 1})
    assert (await api.get("/storefront/availability", params={"sku": sku})).status_code == 401
    bad = await api.get(
        "/storefront/availability", params={"sku": sku}, headers={"X-Storefront-Key": "sfk_nope"}
    )
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "unauthorized"
    # Another storefront never sees this one's carts.
    other_key = f"sfk_test_{uuid.uuid4().hex}"
    other = connect(db, "web", storefront_key=other_key)
    cart = (await api.post("/storefront/carts", json={}, headers=key)).json()
    assert (
        await api.get(
            f"/storefront/carts/{cart['cart_id']}", headers={"X-Storefront-Key": other_key}
        )
    ).status_code == 404
    disconnect(db, other.code)
    assert (
        await api.get(
            "/storefront/availability", params={"sku": sku}, headers={"X-Storefront-Key": other_key}
        )
    ).status_code == 401


async def test_availability_per_location_respects_safety_stock_and_flags(api, db, web) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    _, key = web
    sku = new_product(db, {"BER": 5, "LIS": 2, "WH1": 10}, safety={"BER": 2})
    r = await api.get("/storefront/availability", params={"sku": sku}, headers=key)
    assert r.status_code == 200, r.text
    by = {loc["code"]: loc for loc in r.json()["locations"]}
    assert (by["BER"]["available"], by["LIS"]["available"], by["WH1"]["available"]) == (3, 2, 10)
    assert r.json()["total"] == 15 and by["WH1"]["pickup"] is False and by["BER"]["pickup"] is True
    # By barcode too.
    assert (
        await api.get("/storefront/availability", params={"sku": barcode_of(db, sku)}, headers=key)
    ).json()["sku"] == sku
    online_only = new_product(db, {"BER": 5, "WH1": 1}, online_only=True)
    body = (
        await api.get("/storefront/availability", params={"sku": online_only}, headers=key)
    ).json()
    assert (
        body["total"] == 1
        and {loc["code"]: loc["available"] for loc in body["locations"]}["BER"] == 0
    )
    store_only = new_product(db, {"BER": 5}, store_only=True)
    assert (
        await api.get("/storefront/availability", params={"sku": store_only}, headers=key)
    ).json()["total"] == 0
    assert (
        await api.get("/storefront/availability", params={"sku": "NO-SUCH-SKU"}, headers=key)
    ).status_code == 404
    assert (await api.get("/storefront/availability", headers=key)).status_code == 422


async def test_cart_holds_stock_and_refuses_what_is_not_there(api, db, web) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    _, key = web
    sku = new_product(db, {"BER": 2, "WH1": 1})
    cart = await api.post("/storefront/carts", json={}, headers=key)
    assert cart.status_code == 201, cart.text
    cart_id = cart.json()["cart_id"]
    added = await api.post(
        f"/storefront/carts/{cart_id}/lines", json={"sku": sku, "quantity": 2}, headers=key
    )
    assert added.status_code == 200, added.text
    assert added.json()["lines"] == [{"sku": sku, "quantity": 2, "location": "BER"}]
    assert atp(db, "BER", sku) == 0
    # One more: Berlin has no third unit and the warehouse only one, so the whole line (3) has
    # nowhere to go.
    more = await api.post(
        f"/storefront/carts/{cart_id}/lines", json={"sku": sku, "quantity": 1}, headers=key
    )
    assert more.status_code == 409 and "asked for 3" in more.json()["error"]["message"]
    assert holds(db, "cart", cart_id) == {("BER", sku): 2}
    # Down to one, then removed: released at once.
    one = await api.put(
        f"/storefront/carts/{cart_id}/lines/{sku}", json={"quantity": 1}, headers=key
    )
    assert one.json()["lines"][0]["quantity"] == 1 and atp(db, "BER", sku) == 1
    gone = await api.delete(f"/storefront/carts/{cart_id}/lines/{sku}", headers=key)
    assert gone.json()["lines"] == [] and atp(db, "BER", sku) == 2
    # Bad input is a clear 4xx.
    assert (
        await api.post(
            f"/storefront/carts/{cart_id}/lines", json={"sku": sku, "quantity": 0}, headers=key
        )
    ).status_code == 422
    assert (
        await api.post(
            f"/storefront/carts/{cart_id}/lines", json={"sku": "NOPE-X", "quantity": 1}, headers=key
        )
    ).status_code == 404
    assert (
        await api.post(
            "/storefront/carts/doesnotexist00/lines", json={"sku": sku, "quantity": 1}, headers=key
        )
    ).status_code == 404
    assert (
        await api.post("/storefront/carts", json={"pickup_location": "XXX"}, headers=key)
    ).status_code == 404
    empty = await api.post(
        f"/storefront/carts/{cart_id}/checkout", json={"email": "a@b.c"}, headers=key
    )
    assert empty.status_code == 422 and "empty" in empty.json()["error"]["message"]
    assert_reservations_balanced(db)


async def test_add_line_with_idempotency_key_adds_once(api, db, web) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    _, key = web
    sku = new_product(db, {"WH1": 5})
    cart_id = (await api.post("/storefront/carts", json={}, headers=key)).json()["cart_id"]
    headers = {**key, "Idempotency-Key": "add-1"}
    for _ in range(2):
        r = await api.post(
            f"/storefront/carts/{cart_id}/lines", json={"sku": sku, "quantity": 2}, headers=headers
        )
        assert r.status_code == 200
    assert r.headers.get("Idempotent-Replay") == "true"
    assert holds(db, "cart", cart_id) == {("WH1", sku): 2}


async def test_checkout_pays_and_fulfils(api, db, web, gateway, temporal_client) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    _, key = web
    sku = new_product(db, {"BER": 1, "WH1": 3}, price=2490)
    cart_id = (await api.post("/storefront/carts", json={}, headers=key)).json()["cart_id"]
    await api.post(
        f"/storefront/carts/{cart_id}/lines", json={"sku": sku, "quantity": 2}, headers=key
    )
    assert holds(db, "cart", cart_id) == {
        ("WH1", sku): 2
    }  # Berlin has only one: the warehouse holds both
    body = {
        "email": "kim@example.test",
        "name": "Kim",
        "country": "DE",
        "payment_method": "pm_card_visa",
    }
    done = await api.post(f"/storefront/carts/{cart_id}/checkout", json=body, headers=key)
    assert done.status_code == 201, done.text
    order = done.json()
    assert order["status"] == "accepted" and order["total"] == 4980 and order["currency"] == "EUR"
    assert (
        order["client_secret"].startswith(order["payment_intent"])
        and order["payment_status"] == "requires_capture"
    )
    assert order["lines"] == [{"sku": sku, "quantity": 2, "location": "WH1"}]
    wf = online_order_workflow_id("web", cart_id)
    # The cart's holds became the order's: nothing released and taken again in between.
    assert holds(db, "cart", cart_id) == {} and holds(db, "order", wf) == {("WH1", sku): 2}
    assert level(db, "WH1", sku).reserved == 2
    # The same checkout again: the same order.
    again = await api.post(f"/storefront/carts/{cart_id}/checkout", json=body, headers=key)
    assert again.status_code == 201 and again.json()["payment_intent"] == order["payment_intent"]
    # The cart takes no more changes.
    late = await api.post(
        f"/storefront/carts/{cart_id}/lines", json={"sku": sku, "quantity": 1}, headers=key
    )
    assert late.status_code == 409
    status = await api.get(f"/storefront/orders/{cart_id}", headers=key)
    assert status.json()["status"] == "fulfilling" and status.json()["order_number"].startswith(
        "WEB-"
    )
    # The warehouse ships: stock consumed, card captured.
    await temporal_client.get_workflow_handle(f"ship:{wf}:WH1").signal(
        "finish", FulfilmentResult(status="shipped", tracking_number="1Z999", carrier="UPS")
    )
    handle = temporal_client.get_workflow_handle_for(OnlineOrderWorkflow.run, wf)
    assert (await asyncio.wait_for(handle.result(), 30)).status == "completed"
    assert gateway.retrieve_intent(order["payment_intent"]).status == "succeeded"
    assert level(db, "WH1", sku).on_hand == 1 and level(db, "WH1", sku).reserved == 0
    with db.unit_of_work() as s:
        assert [p.status for p in s.scalars(select(Payment).where(Payment.workflow_id == wf))] == [
            "captured"
        ]
    assert (await api.get(f"/storefront/orders/{cart_id}", headers=key)).json()[
        "status"
    ] == "completed"
    assert_ledger_balanced(db)
    assert_reservations_balanced(db)


async def test_checkout_without_a_card_waits_for_stripe_then_pickup(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, db, web, gateway, temporal_client
) -> None:
    _, key = web
    sku = new_product(db, {"LIS": 2})
    cart = (
        await api.post("/storefront/carts", json={"pickup_location": "LIS"}, headers=key)
    ).json()
    assert cart["pickup_location"] == "LIS"
    await api.post(
        f"/storefront/carts/{cart['cart_id']}/lines", json={"sku": sku, "quantity": 1}, headers=key
    )
    done = await api.post(
        f"/storefront/carts/{cart['cart_id']}/checkout",
        json={"email": "a@example.test"},
        headers=key,
    )
    order = done.json()
    assert done.status_code == 201 and order["status"] == "awaiting_payment", done.text
    assert order["payment_status"] == "requires_payment_method" and order["client_secret"]
    wf = order["workflow_id"]
    # The customer confirms on the storefront (Stripe.js); Stripe's webhook tells the order.
    gateway.attach_and_confirm(order["payment_intent"], "pm_card_visa", key="storefront-confirm")
    handle = temporal_client.get_workflow_handle_for(OnlineOrderWorkflow.run, wf)
    from contracts.sale import PaymentEvent

    await handle.signal(
        OnlineOrderWorkflow.payment_event,
        PaymentEvent(
            type="payment_intent.amount_capturable_updated", intent_id=order["payment_intent"]
        ),
    )
    for _ in range(100):
        if (await handle.query(OnlineOrderWorkflow.status)).status == "fulfilling":
            break
        await asyncio.sleep(0.1)
    for _ in range(100):  # the store's child starts just after the status turns
        if (await handle.query(OnlineOrderWorkflow.status)).children:
            break
        await asyncio.sleep(0.1)
    assert (await handle.query(OnlineOrderWorkflow.status)).children == ("LIS",)
    await temporal_client.get_workflow_handle(f"bopis:{wf}:LIS").signal(
        "finish", FulfilmentResult(status="picked_up")
    )
    assert (await asyncio.wait_for(handle.result(), 30)).status == "completed"
    assert level(db, "LIS", sku).on_hand == 1


async def test_admin_connects_a_storefront_and_gets_its_key_once(api, db, admin, manager) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    code = f"site-{uuid.uuid4().hex[:6]}"
    body = {
        "code": code,
        "platform": "web",
        "name": "Our site",
        "currency": "EUR",
        "pricing_location": "BER",
        "locations": [{"location": "BER"}, {"location": "WH1"}],
    }
    assert (await api.post("/webstores", json=body, headers=manager)).status_code == 403
    r = await api.post("/webstores", json=body, headers=admin)
    assert r.status_code == 201, r.text
    key = r.json()["storefront_key"]
    assert key.startswith("sfk_") and [loc["location"] for loc in r.json()["locations"]] == [
        "BER",
        "WH1",
    ]
    assert (await api.post("/webstores", json=body, headers=admin)).status_code == 409
    listed = (await api.get("/webstores", headers=admin)).json()
    mine = next(s for s in listed if s["code"] == code)
    assert mine["storefront_key"] is None  # never shown again
    sku = new_product(db, {"LIS": 9, "WH1": 1})
    avail = await api.get(
        "/storefront/availability", params={"sku": sku}, headers={"X-Storefront-Key": key}
    )
    assert avail.json()["total"] == 1  # only this store's locations (LIS is not one of them)
    shop = {
        "code": f"shop-{uuid.uuid4().hex[:6]}",
        "platform": "shopify",
        "currency": "EUR",
        "shop_domain": "acme.myshopify.com",
        "webhook_secret": "secret:acme-hmac",
        "access_token": "secret:acme-token",
        "locations": [{"location": "BER", "external_id": "655441491"}],
    }
    made = await api.post("/webstores", json=shop, headers=admin)
    assert made.status_code == 201 and made.json()["webhook_url"].endswith(
        f"/webhooks/shopify/{shop['code']}"
    )
    bad = await api.post(
        "/webstores", json={**shop, "code": "x2", "locations": [{"location": "BER"}]}, headers=admin
    )
    assert bad.status_code == 422 and "Shopify location id" in bad.json()["error"]["message"]
    assert (
        await api.post(
            "/webstores",
            json={**shop, "code": "x3", "locations": [{"location": "NOPE", "external_id": "1"}]},
            headers=admin,
        )
    ).status_code == 404
    assert (await api.delete(f"/webstores/{shop['code']}", headers=admin)).status_code == 204
    assert (await api.delete(f"/webstores/{code}", headers=admin)).status_code == 204
    assert (
        await api.get(
            "/storefront/availability", params={"sku": sku}, headers={"X-Storefront-Key": key}
        )
    ).status_code == 401
