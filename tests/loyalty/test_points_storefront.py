"""Loyalty points at the storefront checkout (the real OnlineOrder on a web worker of this module's
own, Stripe through localstripe): points pay part and the PaymentIntent is for the rest, or they
pay it all; the wrong card code or a short balance is refused with nothing taken; an order
cancelled while it waits for the card gives the points back."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from helpers.api import own_api
from helpers.fulfilment_stub import StubBopis, StubShipFromStore
from helpers.webstore import connect, disconnect, eventually, new_product
from sqlalchemy import select
from temporalio.client import Client
from temporalio.worker import Worker

from contracts.online import online_order_workflow_id
from db.models import Payment
from db.repositories import customers, loyalty
from db.session import Database
from tillflow.adapters import storefront_factory
from tillflow.workers import sandbox_runner, webstore_worker

TAG = uuid.uuid4().hex[:8]
WEB_QUEUE = f"test-points-web-{TAG}"
STUB_QUEUE = f"test-points-fulfilment-{TAG}"


@dataclass
class Shop:
    http: httpx.AsyncClient
    key: dict[str, str]
    code: str  # the web store's code


@pytest.fixture(scope="module")
async def shop(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db: Database, temporal_client: Client, gateway, test_settings
) -> AsyncIterator[Shop]:
    """A storefront on an API of its own whose orders and carts run on this module's web worker
    (TEST ONLY stand-in fulfilment children)."""
    worker = webstore_worker(
        temporal_client,
        db,
        gateway,
        storefront_factory(db, test_settings),
        task_queue=WEB_QUEUE,
        fulfilment_queue=STUB_QUEUE,
        max_threads=4,
    )
    children = Worker(
        temporal_client,
        task_queue=STUB_QUEUE,
        workflows=[StubShipFromStore, StubBopis],
        workflow_runner=sandbox_runner(),
    )
    tasks = [asyncio.create_task(worker.run()), asyncio.create_task(children.run())]
    key = f"sfk_test_{uuid.uuid4().hex}"
    store = connect(db, "web", storefront_key=key)
    async with own_api(
        test_settings, db=db, client=temporal_client, gateway=gateway, web_task_queue=WEB_QUEUE
    ) as at:
        yield Shop(at("127.0.0.1"), {"X-Storefront-Key": key}, store.code)
    disconnect(db, store.code)
    for w in (worker, children):
        await w.shutdown()
    await asyncio.gather(*tasks, return_exceptions=True)


def member(db: Database, points: int) -> tuple[int, str, str]:
    """A customer with an email, a card code and `points`."""
    email = f"points-{uuid.uuid4().hex[:10]}@example.test"
    with db.unit_of_work() as s:
        new = customers.create(s, name="Web Points", email=email)
        loyalty.adjust(
            s, new.id, points, f"test:{uuid.uuid4().hex}", reason="test", actor_user_id=None
        )
        return new.id, email, new.code


def balance(db: Database, customer_id: int) -> int:
    with db.unit_of_work() as s:
        return loyalty.balance(s, customer_id).balance


def payments(db: Database, cart_id: str) -> dict[str, tuple[int, str]]:
    with db.unit_of_work() as s:
        rows = s.scalars(
            select(Payment).where(Payment.workflow_id == online_order_workflow_id("web", cart_id))
        )
        return {p.tender: (p.amount, p.status) for p in rows}


async def cart_of(shop: Shop, db: Database, price: int) -> str:
    sku = new_product(db, {"WH1": 3}, price=price)
    cart_id = (await shop.http.post("/storefront/carts", json={}, headers=shop.key)).json()[
        "cart_id"
    ]
    added = await shop.http.post(
        f"/storefront/carts/{cart_id}/lines", json={"sku": sku, "quantity": 1}, headers=shop.key
    )
    assert added.status_code == 200, added.text
    return str(cart_id)


async def checkout(
    shop: Shop, cart_id: str, email: str, points: dict[str, object], card: str = "pm_card_visa"
) -> httpx.Response:
    body = {"email": email, "name": "Web Points", "country": "DE", "points": points}
    return await shop.http.post(
        f"/storefront/carts/{cart_id}/checkout",
        json={**body, **({"payment_method": card} if card else {})},
        headers=shop.key,
    )


async def test_points_pay_part_and_the_card_the_rest(shop: Shop, db: Database) -> None:
    cid, email, code = member(db, 1500)
    cart_id = await cart_of(shop, db, 2490)
    done = await checkout(shop, cart_id, email, {"amount": 1000, "card_code": code})
    assert done.status_code == 201, done.text
    order = done.json()
    assert (order["status"], order["total"], order["points_paid"]) == ("accepted", 2490, 1000)
    assert order["payment_status"] == "requires_capture"
    # The PaymentIntent asks the card for the rest only; the points went first.
    assert payments(db, cart_id) == {"points": (1000, "completed"), "card": (1490, "authorized")}
    assert balance(db, cid) == 500


async def test_points_pay_it_all(shop: Shop, db: Database) -> None:
    cid, email, code = member(db, 3000)
    cart_id = await cart_of(shop, db, 2490)
    done = await checkout(shop, cart_id, email, {"amount": 2490, "card_code": code}, card="")
    assert done.status_code == 201, done.text
    order = done.json()
    assert (order["points_paid"], order["payment_intent"]) == (2490, "")
    assert order["status"] in ("accepted", "fulfilling")
    assert payments(db, cart_id) == {"points": (2490, "completed")}
    assert balance(db, cid) == 510


async def test_wrong_code_or_short_balance_takes_nothing(shop: Shop, db: Database) -> None:
    cid, email, code = member(db, 800)
    cart_id = await cart_of(shop, db, 2490)
    wrong = await checkout(shop, cart_id, email, {"amount": 500, "card_code": "AAAA-BBBB-CCCC"})
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "points_refused"
    other, other_email, _ = member(db, 800)
    not_theirs = await checkout(shop, cart_id, other_email, {"amount": 500, "card_code": code})
    assert not_theirs.status_code == 403, not_theirs.text
    short = await checkout(shop, cart_id, email, {"amount": 900, "card_code": code})
    assert short.status_code == 409, short.text
    assert short.json()["error"]["code"] == "insufficient_points"
    assert (balance(db, cid), balance(db, other)) == (800, 800)
    assert "card" not in payments(db, cart_id)  # no PaymentIntent for a refused order


async def test_an_order_cancelled_before_the_card_gives_the_points_back(
    shop: Shop, db: Database, temporal_client: Client
) -> None:
    cid, email, code = member(db, 1200)
    cart_id = await cart_of(shop, db, 2490)
    waiting = await checkout(shop, cart_id, email, {"amount": 1200, "card_code": code}, card="")
    assert waiting.status_code == 201, waiting.text
    assert waiting.json()["status"] == "awaiting_payment" and waiting.json()["points_paid"] == 1200
    assert balance(db, cid) == 0
    await temporal_client.get_workflow_handle(online_order_workflow_id("web", cart_id)).cancel()
    assert await eventually(lambda: balance(db, cid) == 1200 or None)
    assert await eventually(lambda: payments(db, cart_id).get("points") == (1200, "voided") or None)
