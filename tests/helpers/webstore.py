"""Test set-up for the web-store link: products with their own SKUs and stock, connections,
payloads."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from db.models import Barcode, Location, Price, Product, StockLevel, TaxCategory, Variant
from db.repositories import reservations, stock, webstores
from db.session import Database
from domain.barcodes import make_ean13
from integrations.webstore_signatures import sign

SECRET = "shpss_test_webhook_secret"


def new_sku(prefix: str = "WT") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10].upper()}"


def new_product(
    db: Database,
    stock_at: dict[str, int],
    *,
    price: int = 1000,
    store_only: bool = False,
    online_only: bool = False,
    safety: dict[str, int] | None = None,
    sku: str | None = None,
) -> str:
    """A product of its own (so tests never share stock), with opening stock through the ledger."""
    sku = sku or new_sku()
    with db.unit_of_work() as s:
        tax = s.scalar(select(TaxCategory.id).where(TaxCategory.code == "standard"))
        product = Product(
            code=sku,
            name=f"Test {sku}",
            category="test",
            tax_category_id=tax,
            store_only=store_only,
            online_only=online_only,
            tracks_stock=True,
            active=True,
        )
        s.add(product)
        s.flush()
        variant = Variant(product_id=product.id, sku=sku, name="", attributes={}, active=True)
        s.add(variant)
        s.flush()
        s.add(
            Barcode(code=make_ean13(f"2{uuid.uuid4().int % 10**11:011d}"), variant_id=variant.id)
        )  # in-store range
        s.add(Price(variant_id=variant.id, location_id=None, amount=price, currency="EUR"))
        s.flush()
        for code, qty in stock_at.items():
            loc = location(s, code)
            stock.apply_movements(
                s,
                loc,
                [stock.Movement(sku, qty, "opening", "test", f"test:{sku}:{code}:open")],
                workflow_id=None,
                occurred_at=datetime.now(UTC),
            )
        for code, qty in (safety or {}).items():
            level = s.get(StockLevel, (location(s, code), sku))
            assert level is not None
            level.safety_stock = qty
    return sku


def location(s: Any, code: str) -> int:
    loc_id = s.scalar(select(Location.id).where(Location.code == code))
    assert loc_id is not None, code
    return loc_id


def barcode_of(db: Database, sku: str) -> str:
    with db.unit_of_work() as s:
        return s.scalar(
            select(Barcode.code)
            .join(Variant, Variant.id == Barcode.variant_id)
            .where(Variant.sku == sku)
        )  # type: ignore[return-value]  # every test SKU has a barcode


def level(db: Database, code: str, sku: str) -> stock.Level:
    with db.unit_of_work() as s:
        found = stock.level(s, location(s, code), sku)
    assert found is not None
    return found


def atp(db: Database, code: str, sku: str) -> int:
    return level(db, code, sku).available


def holds(db: Database, kind: str, reference: str) -> dict[tuple[str, str], int]:
    """{(location code, sku): quantity} actively held by a reference."""
    with db.unit_of_work() as s:
        rows = reservations.holds(s, kind=kind, reference=reference)
        codes = dict(s.execute(select(Location.id, Location.code)).all())
    return {(codes[h.location_id], h.sku): h.quantity for h in rows}


def assert_reservations_balanced(db: Database) -> None:
    with db.unit_of_work() as s:
        assert reservations.reserved_mismatches(s) == []


def connect(
    db: Database,
    platform: str,
    *,
    locations: Sequence[tuple[str, str]] = (("BER", ""), ("LIS", ""), ("WH1", "")),
    base_url: str = "",
    code: str | None = None,
    secret: str = SECRET,
    access_token: str = "",
    consumer_key: str = "",
    consumer_secret: str = "",
    storefront_key: str | None = None,
    pricing: str | None = "BER",
) -> webstores.StoreConfig:
    """A web store connection written straight through the repository (the admin endpoint has its
    own test)."""
    import hashlib

    code = code or f"{platform[:4]}-{uuid.uuid4().hex[:8]}"
    with db.unit_of_work() as s:
        store = webstores.add_store(
            s,
            webstores.NewStore(
                code=code,
                platform=platform,
                name=code,
                currency="EUR",
                shop_domain=f"{code}.example.test",
                api_base_url=base_url,
                webhook_secret=secret,
                access_token=access_token,
                consumer_key=consumer_key,
                consumer_secret=consumer_secret,
                storefront_key_hash=hashlib.sha256(storefront_key.encode()).hexdigest()
                if storefront_key
                else None,
                pricing_location_id=location(s, pricing) if pricing else None,
            ),
            [(location(s, c), ext) for c, ext in locations],
        )
    assert store is not None
    return store


def disconnect(db: Database, code: str) -> None:
    with db.unit_of_work() as s:
        webstores.set_active(s, code, False)


# ---- webhook deliveries --------------------------------------------------------------------------


def at(seconds: float) -> str:
    """An X-Shopify-Triggered-At value (with nanoseconds, as Shopify sends them)."""
    t = datetime(2026, 11, 22, 10, 0, tzinfo=UTC) + timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond:06d}123Z"


def shopify_order(
    order_id: int,
    lines: Sequence[tuple[str, int, str]],
    *,
    cancelled: bool = False,
    financial_status: str = "paid",
    pickup: str = "",
    country: str = "DE",
    latitude: float | None = 52.52,
    longitude: float | None = 13.40,
) -> dict[str, Any]:
    """An orders/* webhook body: lines of (sku, quantity, unit price)."""
    items = [
        {
            "id": order_id * 10 + n,
            "sku": sku,
            "quantity": qty,
            "price": price,
            "title": f"Item {sku}",
            "tax_lines": [{"price": "0.00", "rate": 0.19, "title": "MwSt"}],
            "variant_id": 1,
            "product_id": 1,
        }
        for n, (sku, qty, price) in enumerate(lines, start=1)
    ]
    total = sum(float(p) * q for _, q, p in lines)
    return {
        "id": order_id,
        "name": f"#{order_id}",
        "email": "kim@example.test",
        "currency": "EUR",
        "total_price": f"{total:.2f}",
        "taxes_included": True,
        "financial_status": financial_status,
        "cancelled_at": "2026-11-22T11:00:00+01:00" if cancelled else None,
        "updated_at": "2026-11-22T10:00:00Z",
        "line_items": items,
        "shipping_address": {
            "country_code": country,
            "latitude": latitude,
            "longitude": longitude,
            "name": "Kim Kunde",
        },
        "customer": {"first_name": "Kim", "last_name": "Kunde", "email": "kim@example.test"},
        "note_attributes": [{"name": "pickup_location", "value": pickup}] if pickup else [],
    }


def shopify_headers(
    body: bytes, *, topic: str, event_id: str, triggered_at: str, shop: str, secret: str = SECRET
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sign(body, secret),
        "X-Shopify-Shop-Domain": f"{shop}.myshopify.com",
        "X-Shopify-API-Version": "2025-01",
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "X-Shopify-Event-Id": event_id,
        "X-Shopify-Triggered-At": triggered_at,
    }


async def post_shopify(
    api: Any,
    shop: str,
    payload: dict[str, Any],
    *,
    topic: str = "orders/create",
    event_id: str | None = None,
    triggered_at: str | None = None,
    secret: str = SECRET,
) -> Any:
    body = json.dumps(payload).encode()
    headers = shopify_headers(
        body,
        topic=topic,
        event_id=event_id or uuid.uuid4().hex,
        triggered_at=triggered_at or at(0),
        shop=shop,
        secret=secret,
    )
    return await api.post(f"/webhooks/shopify/{shop}", content=body, headers=headers)


def woo_order(
    order_id: int,
    lines: Sequence[tuple[str, int, str]],
    *,
    status: str = "processing",
    modified: str = "2026-11-22T10:00:00",
    pickup: str = "",
) -> dict[str, Any]:
    """An order.created / order.updated body: lines of (sku, quantity, line total excluding tax)."""
    items = [
        {
            "id": order_id * 10 + n,
            "name": f"Item {sku}",
            "product_id": 1,
            "variation_id": 0,
            "quantity": qty,
            "sku": sku,
            "total": total,
            "total_tax": "0.00",
            "price": float(total) / qty,
        }
        for n, (sku, qty, total) in enumerate(lines, start=1)
    ]
    return {
        "id": order_id,
        "number": str(order_id),
        "status": status,
        "currency": "EUR",
        "total": f"{sum(float(t) for _, _, t in lines):.2f}",
        "date_modified": modified,
        "date_modified_gmt": modified,
        "date_paid": "2026-11-22T09:59:00",
        "line_items": items,
        "billing": {
            "first_name": "Kim",
            "last_name": "Kunde",
            "email": "kim@example.test",
            "country": "DE",
        },
        "shipping": {"country": "DE"},
        "meta_data": [{"id": 1, "key": "pickup_location", "value": pickup}] if pickup else [],
    }


async def post_woo(
    api: Any,
    store: str,
    payload: dict[str, Any],
    *,
    topic: str = "order.created",
    secret: str = SECRET,
    delivery: str | None = None,
) -> Any:
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-WC-Webhook-Source": "https://shop.example.test/",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": topic.split(".")[0],
        "X-WC-Webhook-Event": topic.split(".")[1],
        "X-WC-Webhook-Signature": sign(body, secret),
        "X-WC-Webhook-ID": "17",
        "X-WC-Webhook-Delivery-ID": delivery or uuid.uuid4().hex,
    }
    return await api.post(f"/webhooks/woocommerce/{store}", content=body, headers=headers)


async def eventually(check: Any, timeout: float = 20.0, interval: float = 0.1) -> Any:
    """Poll `check` (sync or async) until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last: {value!r})")
        await asyncio.sleep(interval)
