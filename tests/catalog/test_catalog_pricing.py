"""Scheduled prices take effect at their time on the till and on the storefront; a web store's own
price list wins on that storefront only; history is kept."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
from helpers.catalog import Codes, product_body
from helpers.webstore import connect, disconnect, eventually
from sqlalchemy import func, select

from db.location_pricing import price_at_location
from db.models import AuditEntry, Location, Price, Variant
from db.pricing import BasketItem, price_for_till
from db.repositories import catalog
from db.session import Database


def _now(db: Database) -> datetime:
    with db.unit_of_work() as s:
        now = s.scalar(select(func.now()))
    assert now is not None
    return now


def _ber(db: Database) -> int:
    with db.unit_of_work() as s:
        loc = s.scalar(select(Location.id).where(Location.code == "BER"))
    assert loc is not None
    return loc


def _till_price(db: Database, sku: str, at: datetime | None = None) -> int:
    with db.unit_of_work() as s:
        till = catalog.till_view(s, "BER1")
        assert till is not None
        return price_for_till(s, till, [BasketItem(sku, 1)], at=at).lines[0].unit_price


def _web_price(db: Database, sku: str, web_store_id: int | None, at: datetime | None = None) -> int:
    with db.unit_of_work() as s:
        quote = price_at_location(s, _ber(db), [(sku, 2)], web_store_id=web_store_id, at=at)
        return quote.lines[0].unit_price


async def _create(capi: httpx.AsyncClient, admin: dict[str, str], codes: Codes) -> str:
    body = product_body(codes)
    body["prices"] = [{"sku": f"{body['code']}-S", "amount": 1000, "currency": "EUR"}]
    r = await capi.post("/catalog/products", json=body, headers=admin)
    assert r.status_code == 201, r.text
    return str(body["code"])


async def test_scheduled_price_change_on_the_till_and_the_storefront(
    capi: httpx.AsyncClient,
    admin: dict[str, str],
    till_cashier: dict[str, str],
    db: Database,
    codes: Codes,
) -> None:
    code = await _create(capi, admin, codes)
    sku = f"{code}-S"
    now = _now(db)
    start, end = now + timedelta(hours=1), now + timedelta(hours=2)
    promo = await capi.post(
        f"/catalog/products/{code}/prices",
        json={
            "sku": sku,
            "amount": 800,
            "currency": "EUR",
            "valid_from": start.isoformat(),
            "valid_to": end.isoformat(),
        },
        headers=admin,
    )
    assert promo.status_code == 200, promo.text
    scheduled = [p for p in promo.json()["prices"] if p["sku"] == sku]
    assert [p["amount"] for p in scheduled] == [1000, 800, 1000]  # now, the promotion, after

    # The till: the quote endpoint now, and the pricing path as of each time.
    quote = await capi.post(
        "/tills/BER1/quote", json={"lines": [{"sku": sku, "quantity": 1}]}, headers=till_cashier
    )
    assert quote.status_code == 200 and quote.json()["lines"][0]["unit_price"] == 1000
    assert _till_price(db, sku, start - timedelta(seconds=1)) == 1000
    assert _till_price(db, sku, start + timedelta(minutes=30)) == 800
    assert _till_price(db, sku, end + timedelta(seconds=1)) == 1000
    # The storefront prices web orders the same way.
    assert _web_price(db, sku, None) == 1000
    assert _web_price(db, sku, None, start + timedelta(minutes=30)) == 800
    assert _web_price(db, sku, None, end + timedelta(minutes=1)) == 1000

    # A change a few seconds ahead takes effect at its time on the live till.
    soon = _now(db) + timedelta(seconds=2)
    r = await capi.post(
        f"/catalog/products/{code}/prices",
        json={
            "sku": f"{code}-L",
            "amount": 1490,
            "currency": "EUR",
            "valid_from": soon.isoformat(),
        },
        headers=admin,
    )
    assert r.status_code == 200, r.text

    async def live_price() -> int:
        q = await capi.post(
            "/tills/BER1/quote",
            json={"lines": [{"sku": f"{code}-L", "quantity": 1}]},
            headers=till_cashier,
        )
        return int(q.json()["lines"][0]["unit_price"]) if q.status_code == 200 else 0

    async def changed() -> bool:
        return await live_price() == 1490

    assert not await changed()  # not yet: the -L variant has no price until then
    assert await eventually(changed, timeout=20) is True

    # History is kept: every row is still there, closed, never overwritten.
    with db.unit_of_work() as s:
        rows = s.execute(
            select(Price.amount, Price.valid_to)
            .join(Variant, Variant.id == Price.variant_id)
            .where(Variant.sku == sku)
            .order_by(Price.valid_from)
        ).all()
    assert [a for a, _ in rows] == [1000, 800, 1000]
    assert rows[0][1] == start and rows[1][1] == end and rows[2][1] is None
    # Each scheduled price is one row of the audit log, with who set what.
    with db.unit_of_work() as s:
        audited = s.execute(
            select(AuditEntry.action, AuditEntry.detail)
            .where(AuditEntry.subject == f"product:{code}")
            .where(AuditEntry.action == "catalog.price_scheduled")
            .order_by(AuditEntry.id)
        ).all()
    assert [(d["sku"], d["amount"]) for _, d in audited] == [(sku, 800), (f"{code}-L", 1490)]


async def test_web_store_price_list_wins_on_its_storefront_only(
    capi: httpx.AsyncClient,
    admin: dict[str, str],
    till_cashier: dict[str, str],
    db: Database,
    codes: Codes,
) -> None:
    code = await _create(capi, admin, codes)
    sku = f"{code}-S"
    shop = connect(db, "web", locations=[("BER", "")])
    other = connect(db, "web", locations=[("BER", "")])
    try:
        r = await capi.post(
            f"/catalog/products/{code}/prices",
            json={
                "price_list": f"webstore:{shop.code}",
                "sku": sku,
                "amount": 700,
                "currency": "EUR",
            },
            headers=admin,
        )
        assert r.status_code == 200, r.text
        assert {"price_list": f"webstore:{shop.code}", "amount": 700}.items() <= next(
            p for p in r.json()["prices"] if p["price_list"] != "default"
        ).items()
        wrong = await capi.post(
            f"/catalog/products/{code}/prices",
            json={
                "price_list": f"webstore:{shop.code}",
                "sku": sku,
                "amount": 700,
                "currency": "USD",
            },
            headers=admin,
        )
        assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "bad_currency"
        assert _web_price(db, sku, shop.id) == 700  # its own list
        assert _web_price(db, sku, other.id) == 1000  # another web store: the default
        assert _web_price(db, sku, None) == 1000
        assert _till_price(db, sku) == 1000  # the till never sees a web store's list
        # A location's own list wins at that location and for web stores pricing there, but
        # the web store's own list still wins on its storefront.
        r = await capi.post(
            f"/catalog/products/{code}/prices",
            json={"price_list": "location:BER", "sku": sku, "amount": 900, "currency": "EUR"},
            headers=admin,
        )
        assert r.status_code == 200, r.text
        assert _till_price(db, sku) == 900
        assert _web_price(db, sku, other.id) == 900
        assert _web_price(db, sku, shop.id) == 700
        lists = await capi.get("/catalog/price-lists", headers=admin)
        assert f"webstore:{shop.code}" in {pl["id"] for pl in lists.json()}
    finally:
        disconnect(db, shop.code)
        disconnect(db, other.code)
