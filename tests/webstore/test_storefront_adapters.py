"""The Shopify and WooCommerce adapters against local servers that speak the vendors' API shapes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from activities.web_store_notices import unavailable
from contracts.online import RefundLine
from integrations.shopify import ShopifyStorefront
from integrations.storefront import StorefrontError, StorefrontUnavailable, StoreItem, Tracking
from integrations.woocommerce import WooCommerceStorefront

THROTTLED = {
    "errors": "Exceeded 2 calls per second for api client. "
    "Reduce request rates to resume uninterrupted service."
}


def test_shopify_catalogue_pages_through_link_headers(fake_shopify) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    fake_shopify.page_size = 2
    variants = [fake_shopify.add_variant(f"SKU-{n}", barcode=f"40000000000{n}") for n in range(5)]
    items = ShopifyStorefront(fake_shopify.url, fake_shopify.token).catalogue()
    assert [i.sku for i in items] == [v["sku"] for v in variants]
    assert (
        items[3].inventory_item_id == str(variants[3]["inventory_item_id"])
        and items[3].barcode == "400000000003"
    )
    assert len(fake_shopify.requests("GET", "products.json")) == 3
    assert all(r.headers["x-shopify-access-token"] == fake_shopify.token for r in fake_shopify.seen)


def test_shopify_inventory_set_and_errors(fake_shopify) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    v = fake_shopify.add_variant("A")
    loc = fake_shopify.add_location()
    item = StoreItem("A", "", str(v["product_id"]), str(v["id"]), str(v["inventory_item_id"]))
    shop = ShopifyStorefront(fake_shopify.url, fake_shopify.token, api_version="2025-01")
    shop.set_available(item, 7, location_external_id=str(loc))
    assert fake_shopify.level(v["inventory_item_id"], loc) == 7
    (sent,) = fake_shopify.requests("POST", "/admin/api/2025-01/inventory_levels/set.json")
    assert sent.body == {
        "location_id": loc,
        "inventory_item_id": v["inventory_item_id"],
        "available": 7,
    }
    shop.set_available(item, -3, location_external_id=str(loc))  # never a negative number to sell
    assert fake_shopify.level(v["inventory_item_id"], loc) == 0
    fake_shopify.fail_next(
        "POST", "inventory_levels/set", 429, body=THROTTLED, headers={"Retry-After": "2.0"}
    )
    with pytest.raises(StorefrontUnavailable) as busy:
        shop.set_available(item, 1, location_external_id=str(loc))
    assert busy.value.status == 429 and busy.value.retry_after == 2.0
    assert unavailable(busy.value).next_retry_delay == timedelta(seconds=2)
    fake_shopify.fail_next(
        "POST", "inventory_levels/set", 503, body={"errors": "Service Unavailable"}
    )
    with pytest.raises(StorefrontUnavailable):
        shop.set_available(item, 1, location_external_id=str(loc))
    with pytest.raises(StorefrontError) as missing:
        shop.set_available(item, 1, location_external_id="12345")
    assert missing.value.status == 404
    with pytest.raises(StorefrontError) as denied:
        ShopifyStorefront(fake_shopify.url, "wrong-token").set_available(
            item, 1, location_external_id=str(loc)
        )
    assert denied.value.status == 401 and "Invalid API key" in str(denied.value)
    with pytest.raises(StorefrontUnavailable):
        ShopifyStorefront(
            "http://127.0.0.1:9", "t", timeout=0.5
        ).catalogue()  # nothing listens: retry later


def test_shopify_order_status_fulfilment_cancel_and_tags_happen_once(fake_shopify) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    order = fake_shopify.add_order(4501, [{"id": 45011, "sku": "A", "quantity": 1}], total="10.00")
    shop = ShopifyStorefront(fake_shopify.url, fake_shopify.token)
    tracking = Tracking(
        "00340434161094042557", "DHL", "https://www.dhl.de/track?id=00340434161094042557"
    )
    shop.update_order_status("4501", "shipped", tracking=tracking, key="k1")
    shop.update_order_status("4501", "shipped", tracking=tracking, key="k1")
    (fulfilment,) = order["_fulfillments"]
    assert (
        fulfilment["tracking_number"] == tracking.number and fulfilment["tracking_company"] == "DHL"
    )
    (sent,) = fake_shopify.requests("POST", "fulfillments.json")
    assert (
        sent.body["fulfillment"]["line_items_by_fulfillment_order"][0]["fulfillment_order_id"]
        == order["_fulfillment_orders"][0]["id"]
    )
    shop.update_order_status("4501", "ready_for_pickup", key="k2")
    shop.update_order_status("4501", "ready_for_pickup", key="k2")
    assert order["tags"] == "tillflow-ready_for_pickup"
    shop.update_order_status("4501", "cancelled", key="k3")
    shop.update_order_status("4501", "cancelled", key="k3")
    assert order["cancelled_at"] and len(fake_shopify.requests("POST", "cancel.json")) == 1
    with pytest.raises(StorefrontError):
        shop.update_order_status("999", "shipped", key="k4")


def test_shopify_refund_is_made_once_per_key(fake_shopify) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    order = fake_shopify.add_order(4502, [{"id": 45021, "sku": "A", "quantity": 2}], total="25.80")
    shop = ShopifyStorefront(fake_shopify.url, fake_shopify.token)
    first = shop.refund(
        "4502",
        1290,
        [RefundLine(line_id="45021", quantity=1, amount=1290)],
        "return:R-1",
        currency="EUR",
        reason="Return",
    )
    again = shop.refund(
        "4502",
        1290,
        [RefundLine(line_id="45021", quantity=1, amount=1290)],
        "return:R-1",
        currency="EUR",
        reason="Return",
    )
    assert first.created and not again.created and first.id == again.id and first.amount == 1290
    (refund,) = order["_refunds"]
    (tx,) = refund["transactions"]
    assert (tx["amount"], tx["kind"], tx["parent_id"], tx["gateway"]) == (
        "12.90",
        "refund",
        order["_transactions"][0]["id"],
        "shopify_payments",
    )
    assert refund["refund_line_items"] == [
        {"line_item_id": 45021, "quantity": 1, "restock_type": "no_restock"}
    ]
    assert order["financial_status"] == "partially_refunded"
    with pytest.raises(StorefrontError) as too_much:
        shop.refund("4502", 2000, [], "return:R-2", currency="EUR")
    assert too_much.value.status == 422


def test_woocommerce_catalogue_stock_status_and_refunds(fake_woo) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    fake_woo.per_page_max = 2
    simple = fake_woo.add_product("W-1")
    parent, variations = fake_woo.add_variable(["W-2-S", "W-2-M", "W-2-L"])
    fake_woo.add_product("W-3")
    woo = WooCommerceStorefront(fake_woo.url, fake_woo.key, fake_woo.secret)
    items = {i.sku: i for i in woo.catalogue()}
    assert set(items) == {"W-1", "W-2-S", "W-2-M", "W-2-L", "W-3"}
    assert items["W-2-M"].product_id == str(parent["id"]) and items["W-2-M"].variant_id == str(
        variations[1]["id"]
    )
    woo.set_available(items["W-1"], 5)
    woo.set_available(items["W-2-M"], 3)
    assert (
        fake_woo.stock(simple["id"]) == 5 and fake_woo.stock(parent["id"], variations[1]["id"]) == 3
    )
    (put,) = fake_woo.requests("PUT", f"/products/{simple['id']}")
    assert put.body == {"manage_stock": True, "stock_quantity": 5} and put.headers[
        "authorization"
    ].startswith("Basic ")
    with pytest.raises(StorefrontError) as denied:
        WooCommerceStorefront(fake_woo.url, "ck_wrong", "cs_wrong").set_available(items["W-1"], 1)
    assert denied.value.status == 401 and "woocommerce_rest_cannot_view" in str(denied.value)
    with pytest.raises(StorefrontError) as invalid:
        woo.set_available(StoreItem("X", "", "99999"), 1)
    assert invalid.value.status == 404 and "woocommerce_rest_product_invalid_id" in str(
        invalid.value
    )
    fake_woo.fail_next(
        "PUT", "/products/", 502, body={"code": "bad_gateway", "message": "Bad Gateway"}
    )
    with pytest.raises(StorefrontUnavailable):
        woo.set_available(items["W-1"], 1)

    order = fake_woo.add_order(727, [{"id": 7271, "sku": "W-1", "quantity": 2}], total="20.00")
    woo.update_order_status("727", "shipped", tracking=Tracking("1Z999", "UPS"), key="k")
    woo.update_order_status("727", "shipped", tracking=Tracking("1Z999", "UPS"), key="k")
    assert (
        order["status"] == "completed"
        and len(order["_notes"]) == 1
        and "1Z999" in order["_notes"][0]["note"]
    )
    woo.update_order_status("727", "exception", key="k2")
    assert order["status"] == "on-hold"
    first = woo.refund(
        "727",
        1000,
        [RefundLine(line_id="7271", quantity=1, amount=1000)],
        "return:R-9",
        currency="EUR",
        reason="Return",
    )
    again = woo.refund(
        "727",
        1000,
        [RefundLine(line_id="7271", quantity=1, amount=1000)],
        "return:R-9",
        currency="EUR",
        reason="Return",
    )
    assert first.created and not again.created and len(order["_refunds"]) == 1
    (refund,) = order["_refunds"]
    assert refund["amount"] == "10.00" and refund["refunded_payment"] is True
    assert refund["line_items"] == [{"id": 7271, "quantity": 1, "refund_total": "10.00"}]
    with pytest.raises(StorefrontError):
        woo.refund("727", 5000, [], "return:R-10", currency="EUR")
