"""One price everywhere: generated baskets and promotion sets priced by the till's quote, the
storefront's pricing and the offline till's snapshot give identical lines and totals, never below
zero; and an offline sale's replay is priced with the promotions of the time the till sold it,
whatever changed since.

The three paths load their baskets their own ways (the till's catalogue items, the web store's
location pricing, the snapshot the till agent fetched over HTTP); the engine and the pin are the
same. The promotions are pinned by the test (no row, no budget), so no other test meets them."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from helpers.api import password_login, till_login
from helpers.catalog import Codes, product_body
from helpers.promotion_rules import rules_over
from helpers.webstore import eventually
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from activities.sale import price_sale
from contracts.promotions import PinnedPromotion, PromotionPin
from contracts.sale import BasketLine, SaleRequest, sale_workflow_id
from db.location_pricing import promoted_at_location
from db.models import Location, Order, OrderLine
from db.pricing import BasketItem, adjusted_quote
from db.promotion_pricing import PromotionScope
from db.repositories import catalog
from db.session import Database
from domain.pricing import Quote
from tills.snapshot import Snapshot

AT = datetime(2026, 12, 1, 11, 30, tzinfo=UTC)  # a Tuesday, in every store's opening hours


def key(h: dict[str, str]) -> dict[str, str]:
    return {**h, "Idempotency-Key": uuid.uuid4().hex}


async def _products(api: httpx.AsyncClient, admin: dict[str, str]) -> tuple[list[str], list[str]]:
    skus, categories = [], []
    for n, price in enumerate((990, 1290, 2499)):
        codes = Codes()
        category = f"cat{n}-{codes.tag.lower()}"
        body = product_body(codes, category=category)
        body["prices"] = [
            {"sku": f"{body['code']}-S", "amount": price, "currency": "EUR"},
            {"sku": f"{body['code']}-L", "amount": price + 333, "currency": "EUR"},
        ]
        made = await api.post("/catalog/products", json=body, headers=key(admin))
        assert made.status_code == 201, made.text
        skus += [f"{body['code']}-S", f"{body['code']}-L"]
        categories.append(category)
    return skus, categories


def _pins(skus: list[str], categories: list[str]) -> st.SearchStrategy[PromotionPin]:
    rules = rules_over(skus, categories)

    @st.composite
    def pins(draw: st.DrawFn) -> PromotionPin:
        out = []
        for i in range(draw(st.integers(0, 5))):
            kind, rule = draw(rules)
            out.append(
                PinnedPromotion(
                    promotion_id=-(i + 1),
                    code=f"X{i}",
                    name=f"Generated {i}",
                    kind=kind,
                    rule=rule,
                    priority=draw(st.integers(0, 3)),
                    combines_with=tuple(
                        draw(st.lists(st.sampled_from(["product", "order"]), unique=True))
                    ),
                    currency="EUR",
                )
            )
        return PromotionPin(promotions=tuple(out))

    return pins()


def _lines(quote: Quote) -> list[tuple[str, int, int, int, int]]:
    return [(ln.sku, ln.quantity, ln.discount, ln.tax, ln.gross) for ln in quote.lines]


async def test_till_storefront_and_offline_price_alike(
    api: httpx.AsyncClient, db: Database
) -> None:
    admin = await password_login(api, "admin", "admin-demo")
    skus, categories = await _products(api, admin)
    cashier = await till_login(api)
    body = (await api.get("/tills/BER1/catalog", headers=cashier)).json()
    snapshot = Snapshot(body, datetime.now(UTC))
    with db.unit_of_work() as s:
        till = catalog.till_view(s, "BER1")
        ber = s.scalars(select(Location.id).where(Location.code == "BER")).one()
    assert till is not None

    basket = st.lists(st.tuples(st.sampled_from(skus), st.integers(1, 6)), min_size=1, max_size=6)

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(pin=_pins(skus, categories), lines=basket)
    def same_everywhere(pin: PromotionPin, lines: list[tuple[str, int]]) -> None:
        def scope(channel: str) -> PromotionScope:
            return PromotionScope(
                pin=pin, channel=channel, currency="EUR", timezone=till.timezone, at=AT
            )

        with db.unit_of_work() as s:
            at_till = adjusted_quote(
                s,
                till,
                [BasketItem(sku, q) for sku, q in lines],
                None,
                [],
                "cashier",
                scope("store"),
            ).quote
            on_web = promoted_at_location(s, ber, lines, scope=scope("web")).quote
        snapshot.promotions = pin
        offline = snapshot.quote(lines, AT)
        assert _lines(at_till) == _lines(on_web) == _lines(offline)
        assert at_till.total == on_web.total == offline.total >= 0
        assert all(ln.gross >= 0 and ln.discount >= 0 for ln in at_till.lines)
        assert at_till.total == sum(
            ln.unit_price * ln.quantity - ln.discount for ln in at_till.lines
        )

    await asyncio.to_thread(same_everywhere)


async def test_an_offline_sale_is_replayed_with_the_promotions_of_its_time(
    api: httpx.AsyncClient, db: Database
) -> None:
    admin = await password_login(api, "admin", "admin-demo")
    codes = Codes()
    made = await api.post("/catalog/products", json=product_body(codes), headers=key(admin))
    assert made.status_code == 201, made.text
    sku = f"{made.json()['code']}-S"  # 9.90
    priced_before_promotion = datetime.now(UTC)
    await asyncio.sleep(0.05)
    promo: dict[str, Any] = {
        "code": f"OFF{codes.tag}",
        "name": "Offline 10 %",
        "kind": "percent_off",
        "rule": {"target": {"skus": [sku]}, "percent_bp": 1000},
        "channels": ["store"],
    }
    first = await api.post("/promotions", json=promo, headers=key(admin))
    assert first.status_code == 201, first.text
    try:
        cashier = await till_login(api)
        # The offline till's snapshot carries it, and prices as the central quote does.
        body = (await api.get("/tills/BER1/catalog", headers=cashier)).json()
        assert any(p["code"] == promo["code"] for p in body["promotions"]["promotions"])
        offline = Snapshot(body, datetime.now(UTC)).quote([(sku, 2)])
        central = await api.post(
            "/tills/BER1/quote", json={"lines": [{"sku": sku, "quantity": 2}]}, headers=cashier
        )
        assert offline.total == central.json()["total"] == 1980 - 198
        sold_at = datetime.now(UTC)
        await asyncio.sleep(0.05)
        # Head office changes it after the till sold offline (and a coupon promotion is never in
        # an offline snapshot).
        changed = await api.put(
            f"/promotions/{promo['code']}",
            json={**promo, "rule": {"target": {"skus": [sku]}, "percent_bp": 5000}},
            headers=key(admin),
        )
        assert changed.status_code == 200, changed.text
        with db.unit_of_work() as s:
            priced = price_sale(
                s,
                SaleRequest(
                    till_code="BER1",
                    client_sale_id=uuid.uuid4().hex[:12],
                    cashier_id=1,
                    lines=(BasketLine(sku=sku, quantity=2),),
                    tenders=(),
                    sold_at=sold_at,
                    offline=True,
                ),
            )
            assert priced.total == offline.total and priced.promotion_total == 198
            # Sold before the promotion existed: no promotion at all.
            before = price_sale(
                s,
                SaleRequest(
                    till_code="BER1",
                    client_sale_id=uuid.uuid4().hex[:12],
                    cashier_id=1,
                    lines=(BasketLine(sku=sku, quantity=2),),
                    tenders=(),
                    sold_at=priced_before_promotion,
                    offline=True,
                ),
            )
            assert before.total == 1980 and before.promotion_total == 0
    finally:
        await api.delete(f"/promotions/{promo['code']}", headers=key(admin))


async def test_an_offline_sale_with_a_promotion_replays_as_the_till_charged(
    api: httpx.AsyncClient, db: Database
) -> None:
    """The journal's cash covers the promoted total exactly: the replay prices it with the same
    promotion (a replay without it would find the cash short and flag the sale)."""
    admin = await password_login(api, "admin", "admin-demo")
    codes = Codes()
    made = await api.post("/catalog/products", json=product_body(codes), headers=key(admin))
    assert made.status_code == 201, made.text
    sku = f"{made.json()['code']}-L"  # 12.90
    promo = {
        "code": f"JRN{codes.tag}",
        "name": "Journal 20 %",
        "kind": "percent_off",
        "rule": {"target": {"skus": [sku]}, "percent_bp": 2000},
        "channels": ["store"],
    }
    assert (await api.post("/promotions", json=promo, headers=key(admin))).status_code == 201
    try:
        await asyncio.sleep(0.05)
        auth = await till_login(api, "BER2", "1002", "2345")
        total = 2 * 1290 - 516  # 20 % off 25.80
        sale_id = f"jrn-{uuid.uuid4().hex[:10]}"
        entry = {
            "client_sale_id": sale_id,
            "sold_at": datetime.now(UTC).isoformat(),
            "cashier": "cora",
            "lines": [{"sku": sku, "quantity": 2, "unit_price": 1290}],
            "tenders": [{"kind": "cash", "amount": total, "tendered": total}],
            "total": total,
            "change_due": 0,
        }
        sent = await api.post(
            "/tills/BER2/journal",
            json={"batch_id": f"jrn-{codes.tag}", "entries": [entry]},
            headers=auth,
        )
        assert sent.status_code in (200, 202), sent.text
        wf = sale_workflow_id("BER2", sale_id)

        def recorded() -> tuple[int, int] | None:
            with db.unit_of_work() as s:
                order = s.scalars(select(Order).where(Order.workflow_id == wf)).first()
                if order is None:
                    return None
                line = s.scalars(select(OrderLine).where(OrderLine.order_id == order.id)).one()
                return order.total, line.discount

        assert await eventually(recorded, timeout=60) == (total, 516)
    finally:
        await api.delete(f"/promotions/{promo['code']}", headers=key(admin))
