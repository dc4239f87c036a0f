"""Promotions at the till, through the real API and the real Sale workflow: the quote and the
receipt say which promotion took what off each line, the sale pins the set it started with (a
change while it is open never changes its price, and its history still replays), a coupon with a
budget of 5 used by 20 tills at once gives exactly 5 sales, and an abandoned sale gives its coupon
back.

Every promotion here targets the test's own products (or needs the test's coupon) and is switched
off at the end, so no other test's basket ever meets it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from helpers.api import password_login, till_login
from helpers.catalog import Codes, product_body
from sqlalchemy import select
from temporalio.client import Client
from temporalio.worker import Replayer

from activities.receipts import receipt_for_order
from db.models import Order, OrderLine
from db.models_promotions import PromotionBudgetUsage
from db.session import Database
from devices.receipt import receipt_bytes, receipt_text
from tillflow.payloads import DATA_CONVERTER
from workflows.sale import SaleWorkflow


def key(h: dict[str, str]) -> dict[str, str]:
    return {**h, "Idempotency-Key": uuid.uuid4().hex}


class Setup:
    def __init__(self, api: httpx.AsyncClient, admin: dict[str, str], tag: str) -> None:
        self.api, self.admin, self.tag = api, admin, tag
        self.promotions: list[str] = []

    async def product(self, codes: Codes) -> tuple[str, str]:
        body = product_body(codes)
        made = await self.api.post("/catalog/products", json=body, headers=key(self.admin))
        assert made.status_code == 201, made.text
        return f"{body['code']}-S", f"{body['code']}-L"  # 9.90 and 12.90

    async def promotion(self, **body: Any) -> dict[str, Any]:
        made = await self.api.post("/promotions", json=body, headers=key(self.admin))
        assert made.status_code == 201, made.text
        self.promotions.append(made.json()["code"])
        return dict(made.json())

    async def coupon(self, promotion: str, code: str, **more: Any) -> None:
        made = await self.api.post(
            f"/promotions/{promotion}/coupons", json={"code": code, **more}, headers=key(self.admin)
        )
        assert made.status_code == 201, made.text


@pytest.fixture
async def setup(api: httpx.AsyncClient) -> AsyncIterator[Setup]:
    admin = await password_login(api, "admin", "admin-demo")
    made = Setup(api, admin, uuid.uuid4().hex[:6].upper())
    yield made
    for code in made.promotions:
        gone = await api.delete(f"/promotions/{code}", headers=key(admin))
        assert gone.status_code == 200


def sale(lines: list[dict[str, Any]], tenders: list[dict[str, Any]], **more: Any) -> Any:
    return {"client_sale_id": uuid.uuid4().hex[:16], "lines": lines, "tenders": tenders, **more}


async def test_quote_sale_and_receipt_name_the_promotion(
    api: httpx.AsyncClient, setup: Setup, db: Database
) -> None:
    small, large = await setup.product(Codes())
    await setup.promotion(
        code=f"S{setup.tag}",
        name="Small one 20 % off",
        kind="percent_off",
        rule={"target": {"skus": [small]}, "percent_bp": 2000},
        combines_with=["order"],
        channels=["store"],
        location_codes=["BER"],
    )
    cashier = await till_login(api)
    lines = [{"sku": small, "quantity": 2}, {"sku": large, "quantity": 1}]
    quote = await api.post("/tills/BER1/quote", json={"lines": lines}, headers=cashier)
    assert quote.status_code == 200, quote.text
    q = quote.json()
    # 2 × 9.90 = 19.80, 20 % off = 3.96; the large one is full price.
    assert q["promotion_total"] == 396 and q["total"] == 1980 - 396 + 1290
    assert q["lines"][0]["discount"] == 396 and q["lines"][1]["discount"] == 0
    assert q["lines"][0]["promotions"] == [
        {"code": f"S{setup.tag}", "name": "Small one 20 % off", "amount": 396, "coupon": ""}
    ]
    assert q["lines"][1]["promotions"] == []

    sold = await api.post(
        "/tills/BER1/sales",
        json=sale(lines, [{"kind": "cash", "amount": 5000}]),
        headers=cashier,
    )
    assert sold.status_code == 200, sold.text
    body = sold.json()
    assert body["status"] == "completed" and body["total"] == q["total"]
    assert body["promotion_total"] == 396
    assert body["lines"][0]["promotions"][0]["code"] == f"S{setup.tag}"
    with db.unit_of_work() as s:
        order = s.scalars(select(Order).where(Order.number == body["sale_id"])).one()
        recorded = s.scalars(
            select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.line_no)
        ).all()
        assert [ln.discount for ln in recorded] == [396, 0]
        assert recorded[0].promotions[0]["amount"] == 396 and recorded[1].promotions == []
        # The receipt prints the price before the promotion and the promotion under it, in
        # python-escpos' real bytes as well.
        receipt = receipt_for_order(s, body["sale_id"])
    text = receipt_text(receipt)
    assert f"Small one 20 % off (S{setup.tag})" in text and "-3.96" in text and "19.80" in text
    assert b"Small one 20 % off" in receipt_bytes(receipt)


async def test_a_coupon_with_five_uses_gives_exactly_five_of_twenty_sales(
    api: httpx.AsyncClient, setup: Setup, db: Database
) -> None:
    small, _ = await setup.product(Codes())
    promo = await setup.promotion(
        code=f"C{setup.tag}",
        name="Coupon 1.00 off",
        kind="amount_off",
        rule={"target": {"skus": [small]}, "amount": 100},
        requires_coupon=True,
        currency="EUR",
        budget_uses=5,
        channels=["store"],
    )
    coupon = f"TWENTY{setup.tag}"
    await setup.coupon(promo["code"], coupon, multi_use=True)
    cashier = await till_login(api)

    async def ring() -> httpx.Response:
        return await api.post(
            "/tills/BER1/sales",
            json=sale(
                [{"sku": small, "quantity": 1}],
                [{"kind": "cash", "amount": 1000}],
                coupon_codes=[coupon.lower()],
            ),
            headers=cashier,
        )

    answers = await asyncio.gather(*(ring() for _ in range(20)))
    done = [a for a in answers if a.status_code == 200]
    refused = [a for a in answers if a.status_code != 200]
    assert len(done) == 5, [a.text for a in answers]
    assert all(a.json()["total"] == 890 for a in done)
    assert all(a.status_code == 409 for a in refused), [a.text for a in refused]
    assert {a.json()["error"]["code"] for a in refused} <= {
        "coupon_refused",
        "promotion_budget_spent",
    }
    with db.unit_of_work() as s:
        taken = s.scalars(
            select(PromotionBudgetUsage).where(
                PromotionBudgetUsage.coupon_code == coupon, PromotionBudgetUsage.kind == "reserve"
            )
        ).all()
        assert len(taken) == 5


async def test_an_open_sale_keeps_its_price_and_an_abandoned_one_gives_its_coupon_back(
    api: httpx.AsyncClient, setup: Setup, temporal_client: Client
) -> None:
    small, large = await setup.product(Codes())
    promo = await setup.promotion(
        code=f"P{setup.tag}",
        name="Ten off",
        kind="percent_off",
        rule={"target": {"skus": [small]}, "percent_bp": 1000},
        channels=["store"],
    )
    cashier = await till_login(api)
    lines = [{"sku": small, "quantity": 1}]

    # A sale left open (nothing tendered yet) is priced at 10 % off: 8.91.
    body = sale(lines, [])
    opened = await api.post("/tills/BER1/sales", json=body, headers=cashier)
    assert opened.status_code == 200 and opened.json()["status"] == "open", opened.text
    first = opened.json()
    assert first["total"] == 891 and first["due"] == 891

    # Head office doubles the promotion while it is open: the open sale keeps its price ...
    changed = await api.put(
        f"/promotions/{promo['code']}",
        json={
            "code": promo["code"],
            "name": "Twenty off",
            "kind": "percent_off",
            "rule": {"target": {"skus": [small]}, "percent_bp": 2000},
            "channels": ["store"],
        },
        headers=key(setup.admin),
    )
    assert changed.status_code == 200, changed.text
    paid = await api.post(
        f"/tills/BER1/sales/{body['client_sale_id']}/tenders",
        json={"tenders": [{"kind": "cash", "amount": 1000}]},
        headers=cashier,
    )
    assert paid.status_code == 200 and paid.json()["status"] == "completed", paid.text
    assert paid.json()["total"] == 891 and paid.json()["change_due"] == 109
    # ... and the next sale gets the new terms.
    quote = await api.post("/tills/BER1/quote", json={"lines": lines}, headers=cashier)
    assert quote.json()["total"] == 792

    # The pinned sale's history replays with today's code after the promotion changed.
    handle = temporal_client.get_workflow_handle(first["workflow_id"])
    await handle.result()
    history = await handle.fetch_history()
    replayed = await Replayer(
        workflows=[SaleWorkflow], data_converter=DATA_CONVERTER
    ).replay_workflow(history, raise_on_replay_failure=False)
    assert replayed.replay_failure is None

    # A single-use coupon taken by a sale that is then abandoned can be used again.
    coupon_promo = await setup.promotion(
        code=f"Q{setup.tag}",
        name="Coupon 2.00 off",
        kind="amount_off",
        rule={"target": {"skus": [large]}, "amount": 200},
        requires_coupon=True,
        currency="EUR",
        channels=["store"],
    )
    coupon = f"ONCE{setup.tag}"
    await setup.coupon(coupon_promo["code"], coupon)
    big = [{"sku": large, "quantity": 1}]
    held_body = sale(big, [], coupon_codes=[coupon])
    held = await api.post("/tills/BER1/sales", json=held_body, headers=cashier)
    assert held.status_code == 200 and held.json()["status"] == "open", held.text
    assert held.json()["promotion_total"] == 200 and held.json()["total"] == 1090
    busy = await api.post(
        "/tills/BER1/sales", json=sale(big, [], coupon_codes=[coupon]), headers=cashier
    )
    assert busy.status_code == 409 and busy.json()["error"]["code"] in (
        "coupon_refused",
        "coupon_used",
    ), busy.text
    gone = await api.post(
        f"/tills/BER1/sales/{held_body['client_sale_id']}/abandon", headers=cashier
    )
    assert gone.status_code == 200 and gone.json()["status"] == "abandoned", gone.text
    again = await api.post(
        "/tills/BER1/sales",
        json=sale(big, [{"kind": "cash", "amount": 1100}], coupon_codes=[coupon]),
        headers=cashier,
    )
    assert again.status_code == 200 and again.json()["status"] == "completed", again.text


async def test_a_group_promotion_needs_the_customer_of_the_group(
    api: httpx.AsyncClient, setup: Setup
) -> None:
    small, _ = await setup.product(Codes())
    group = f"vip-{setup.tag.lower()}"
    await setup.promotion(
        code=f"G{setup.tag}",
        name="VIP 30 %",
        kind="percent_off",
        rule={"target": {"skus": [small]}, "percent_bp": 3000},
        customer_groups=[group.upper()],  # groups are case-insensitive
        channels=["store"],
    )
    made = await api.post(
        "/customers",
        json={"name": "Vera Vip", "email": f"vera-{setup.tag.lower()}@example.test"},
        headers=key(setup.admin),
    )
    assert made.status_code == 201, made.text
    customer = made.json()["id"]
    cashier = await till_login(api)
    lines = [{"sku": small, "quantity": 1}]

    async def total(**more: Any) -> int:
        q = await api.post("/tills/BER1/quote", json={"lines": lines, **more}, headers=cashier)
        assert q.status_code == 200, q.text
        return int(q.json()["total"])

    assert await total() == 990 and await total(customer_id=customer) == 990
    # A cashier may not put a customer in a group; a manager (or admin) may.
    refused = await api.patch(
        f"/customers/{customer}", json={"groups": [group]}, headers=key(cashier)
    )
    assert refused.status_code == 403, refused.text
    grouped = await api.patch(
        f"/customers/{customer}", json={"groups": [group]}, headers=key(setup.admin)
    )
    assert grouped.status_code == 200 and grouped.json()["groups"] == [group], grouped.text
    assert await total(customer_id=customer) == 693 and await total() == 990
    unknown = await api.post(
        "/tills/BER1/quote", json={"lines": lines, "customer_id": 2**40}, headers=cashier
    )
    assert unknown.status_code == 422  # no customer has an id that large: never a 500
    missing = await api.post(
        "/tills/BER1/quote", json={"lines": lines, "customer_id": 2**31 - 1}, headers=cashier
    )
    assert missing.status_code == 404
