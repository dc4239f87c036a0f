"""Discounts on web orders: a Shopify or WooCommerce order keeps the discounts its web store gave
(recorded per line, the order's total is what the customer paid), and our storefront prices its
cart and checkout with our promotions and coupons (the same engine as the till), pins them into the
order, and refuses a coupon it cannot honour before any order exists."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from helpers.webstore import (
    connect,
    disconnect,
    eventually,
    new_product,
    post_shopify,
    shopify_order,
)
from sqlalchemy import select

from contracts.online import online_order_workflow_id
from db.models import Order, OrderLine
from db.session import Database
from domain.errors import InvalidRequest
from integrations.order_payloads import shopify_order as parse_shopify
from integrations.order_payloads import woocommerce_order as parse_woo

pytestmark = pytest.mark.usefixtures("web_worker")


def key(h: dict[str, str]) -> dict[str, str]:
    return {**h, "Idempotency-Key": uuid.uuid4().hex}


def test_web_store_discounts_are_read_line_by_line() -> None:
    shop: dict[str, Any] = shopify_order(7, [("A", 2, "12.90"), ("B", 1, "5.00")])
    shop["line_items"][0]["discount_allocations"] = [{"amount": "2.58"}, {"amount": "1.00"}]
    shop["line_items"][1]["total_discount"] = "0.50"
    lines = parse_shopify(shop).lines
    assert [(ln.unit_price, ln.discount) for ln in lines] == [(1290, 358), (500, 50)]
    shop["line_items"][1]["total_discount"] = "9.00"  # more than the line is worth
    with pytest.raises(InvalidRequest, match="discount is out of range"):
        parse_shopify(shop)

    woo: dict[str, Any] = {
        "id": 9,
        "currency": "EUR",
        "total": "20.40",
        "line_items": [
            # 2 × 10.00 + 19 % before the coupon; 17.14 + 3.26 after it.
            {
                "id": 91,
                "sku": "A",
                "quantity": 2,
                "subtotal": "20.00",
                "subtotal_tax": "3.80",
                "total": "17.14",
                "total_tax": "3.26",
            },
            {"id": 92, "sku": "B", "quantity": 3, "total": "10.00", "total_tax": "0.00"},
        ],
    }
    a, b = parse_woo(woo).lines
    assert (a.unit_price, a.discount, a.tax) == (1190, 2380 - 2040, 326)
    assert a.unit_price * a.quantity - a.discount == 1714 + 326  # what WooCommerce charged
    assert (b.unit_price, b.discount) == (334, 2)  # 10.00 / 3 rounded up: never a negative one


async def test_a_shopify_discount_is_kept_on_the_order(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, db: Database, fake_shopify
) -> None:
    shop = connect(
        db,
        "shopify",
        base_url=fake_shopify.url,
        access_token=fake_shopify.token,
        locations=[("BER", str(fake_shopify.add_location()))],
    )
    try:
        sku = new_product(db, {"BER": 5})
        order_id = int(uuid.uuid4().int % 10**9)
        payload = shopify_order(order_id, [(sku, 2, "12.90")])
        payload["line_items"][0]["discount_allocations"] = [{"amount": "2.58"}]
        payload["total_price"] = "23.22"
        sent = await post_shopify(api, shop.code, payload, event_id=f"evt-{order_id}")
        assert sent.status_code == 200, sent.text
        wf = online_order_workflow_id("shopify", str(order_id), shop.code)

        def recorded() -> tuple[Order, list[OrderLine]] | None:
            with db.unit_of_work() as s:
                order = s.scalars(select(Order).where(Order.workflow_id == wf)).first()
                if order is None:
                    return None
                lines = list(s.scalars(select(OrderLine).where(OrderLine.order_id == order.id)))
                s.expunge_all()
                return order, lines

        order, lines = await eventually(recorded)
        assert order.total == 2322 and lines[0].discount == 258 and lines[0].gross == 2322
        assert lines[0].unit_price == 1290 and lines[0].promotions == []
    finally:
        disconnect(db, shop.code)


async def test_the_storefront_prices_with_our_promotions_and_coupons(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api: httpx.AsyncClient, db: Database, admin
) -> None:
    storefront_key = f"sfk_test_{uuid.uuid4().hex}"
    store = connect(db, "web", storefront_key=storefront_key)
    headers = {"X-Storefront-Key": storefront_key}
    sku = new_product(db, {"BER": 10, "WH1": 10}, price=2000)
    tag = uuid.uuid4().hex[:6].upper()
    made: list[str] = []
    try:
        for body in (
            {
                "code": f"WEB{tag}",
                "name": "Online 10 %",
                "kind": "percent_off",
                "rule": {"target": {"skus": [sku]}, "percent_bp": 1000},
                "channels": ["web"],
                "combines_with": ["order"],
            },
            {
                "code": f"CPN{tag}",
                "name": "Coupon 5.00 off the basket",
                "kind": "amount_off",
                "rule": {"target": "basket", "amount": 500},
                "requires_coupon": True,
                "currency": "EUR",
                "channels": ["web"],
                "combines_with": ["product"],
            },
        ):
            r = await api.post("/promotions", json=body, headers=key(admin))
            assert r.status_code == 201, r.text
            made.append(r.json()["code"])
        coupon = f"HELLO{tag}"
        r = await api.post(
            f"/promotions/CPN{tag}/coupons",
            json={"code": coupon, "multi_use": True},
            headers=key(admin),
        )
        assert r.status_code == 201, r.text

        cart = (await api.post("/storefront/carts", json={}, headers=headers)).json()
        cart_id = cart["cart_id"]
        added = await api.post(
            f"/storefront/carts/{cart_id}/lines", json={"sku": sku, "quantity": 2}, headers=headers
        )
        assert added.status_code in (200, 201), added.text
        quote = await api.get(
            f"/storefront/carts/{cart_id}/quote",
            params=[("coupon", coupon), ("coupon", "NOSUCH")],
            headers=headers,
        )
        assert quote.status_code == 200, quote.text
        q = quote.json()
        # 2 × 20.00 = 40.00; 10 % off the item (4.00), then 5.00 off the basket: 31.00.
        assert q["total"] == 3100 and q["promotion_total"] == 900
        assert {p["code"] for p in q["lines"][0]["promotions"]} == {f"WEB{tag}", f"CPN{tag}"}
        assert q["coupons_refused"] and q["coupons_refused"][0].startswith("NOSUCH")

        refused = await api.post(
            f"/storefront/carts/{cart_id}/checkout",
            json={"email": "promo@example.test", "coupon_codes": ["NOSUCH"]},
            headers=headers,
        )
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["code"] == "coupon_refused"

        done = await api.post(
            f"/storefront/carts/{cart_id}/checkout",
            json={"email": "promo@example.test", "coupon_codes": [coupon]},
            headers=headers,
        )
        assert done.status_code == 201, done.text
        assert done.json()["total"] == 3100
        wf = online_order_workflow_id("web", cart_id)
        with db.unit_of_work() as s:
            order = s.scalars(select(Order).where(Order.workflow_id == wf)).one()
            line = s.scalars(select(OrderLine).where(OrderLine.order_id == order.id)).one()
            assert order.total == 3100 and line.discount == 900
            assert {p["code"] for p in line.promotions} == {f"WEB{tag}", f"CPN{tag}"}
    finally:
        for code in made:
            await api.delete(f"/promotions/{code}", headers=key(admin))
        disconnect(db, store.code)
