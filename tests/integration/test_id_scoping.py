"""Ids a client names are its store's: another store's return id or web store's cart id never
reaches that return or cart (404, or 409 for a return id another store took first)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from helpers.api import password_login, till_login
from helpers.web_queue import web_queue_worker
from helpers.webstore import connect, disconnect, holds, new_product
from sqlalchemy import select
from temporalio.client import WorkflowFailureError
from temporalio.service import RPCError, RPCStatusCode

from api.auth import hash_secret
from contracts.cart import CartLineChange, cart_workflow_id, steer_cart
from contracts.replay import replay_workflow_id
from contracts.returns import return_workflow_id
from contracts.sale import sale_workflow_id
from db.models import Location, User, UserLocation
from db.models_returns import Return
from db.repositories import customers
from domain.errors import Conflict


def rid() -> str:
    return f"R-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
async def luis(api) -> dict[str, str]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """A cashier of Lisbon, signed in at LIS1."""
    return await till_login(api, "LIS1", "2001", "1234")


@pytest.fixture(scope="module")
async def berlin_manager(api, db) -> dict[str, str]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """A manager of BER only."""
    with db.unit_of_work() as s:
        if s.scalar(select(User).where(User.username == "bruno")) is None:
            user = User(
                username="bruno",
                display_name="Bruno Berlin",
                role="manager",
                password_hash=hash_secret("bruno-demo"),
            )
            s.add(user)
            s.flush()
            berlin = s.scalar(select(Location.id).where(Location.code == "BER"))
            s.add(UserLocation(user_id=user.id, location_id=berlin))
    return await password_login(api, "bruno", "bruno-demo")


async def sell(api, headers, till: str, sku: str, price: int) -> dict:  # type: ignore[no-untyped-def]  # takes untyped fixture values
    r = await api.post(
        f"/tills/{till}/sales",
        headers=headers,
        json={
            "client_sale_id": uuid.uuid4().hex[:12],
            "lines": [{"sku": sku, "quantity": 1}],
            "tenders": [{"kind": "cash", "amount": price}],
        },
    )
    assert r.status_code == 200 and r.json()["status"] == "completed", r.text
    return r.json()


def receipt_return(return_id: str, sale_id: str) -> dict[str, object]:
    return {
        "return_id": return_id,
        "sale_id": sale_id,
        "lines": [{"line_no": 1, "quantity": 1, "disposition": "restock"}],
    }


async def test_another_stores_return_id_is_refused_never_joined(api, cashier, luis, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    return_id = rid()
    lisbon_sale = await sell(api, luis, "LIS1", "CANDLE-FIG", 2490)
    theirs = await api.post(
        "/tills/LIS1/returns", headers=luis, json=receipt_return(return_id, lisbon_sale["sale_id"])
    )
    assert theirs.status_code == 200 and theirs.json()["status"] == "completed", theirs.text
    assert theirs.json()["workflow_id"] == return_workflow_id("LIS", return_id)

    # A Berlin cashier's till happens to use the same return id for its own return.
    berlin_sale = await sell(api, cashier, "BER1", "CANDLE-FIG", 2490)
    ours = await api.post(
        "/tills/BER1/returns",
        headers=cashier,
        json=receipt_return(return_id, berlin_sale["sale_id"]),
    )
    assert ours.status_code == 404, ours.text  # the issue: never that return, a 404
    assert ours.json()["error"]["code"] == "return_id_taken"
    assert "LIS" not in ours.text and lisbon_sale["sale_id"] not in ours.text

    # Berlin does not see Lisbon's return by that id; Lisbon does, untouched.
    assert (await api.get(f"/returns/{return_id}", headers=cashier)).status_code == 404
    mine = await api.get(f"/returns/{return_id}", headers=luis)
    assert mine.status_code == 200 and mine.json()["till_code"] == "LIS1"
    assert mine.json()["refund_total"] == theirs.json()["refund_total"]
    with db.unit_of_work() as s:
        rows = s.scalars(select(Return).where(Return.return_id == return_id)).all()
        assert [(r.workflow_id, r.refund_total) for r in rows] == [
            (return_workflow_id("LIS", return_id), 2490)
        ]
    # Berlin's sale can still be returned in full, under an id of its own.
    fresh = await api.post(
        "/tills/BER1/returns", headers=cashier, json=receipt_return(rid(), berlin_sale["sale_id"])
    )
    assert fresh.status_code == 200 and fresh.json()["refund_total"] == 2490, fresh.text


async def test_another_stores_pending_return_is_not_found_to_see_or_decide(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, cashier, luis, berlin_manager, db
) -> None:
    with db.unit_of_work() as s:
        customer = customers.create(s, name="Rita", email=f"{uuid.uuid4().hex[:8]}@example.com").id
    return_id = rid()
    pending = await api.post(
        "/tills/LIS1/returns",
        headers=luis,
        json={
            "return_id": return_id,
            "customer_id": customer,
            "lines": [{"sku": "BLANKET-WOOL", "quantity": 1, "disposition": "restock"}],
        },
    )
    assert pending.status_code == 202 and pending.json()["status"] == "awaiting_approval", (
        pending.text
    )
    for headers in (cashier, berlin_manager):
        assert (await api.get(f"/returns/{return_id}", headers=headers)).status_code == 404
        for decision in ("approve", "reject"):
            r = await api.post(f"/returns/{return_id}/{decision}", headers=headers, json={})
            assert r.status_code == 404, r.text
    # Not claimed by Lisbon's workflow yet (it waits for a manager), and still not Berlin's to take.
    taken = await api.post(
        "/tills/BER1/returns",
        headers=cashier,
        json={
            "return_id": return_id,
            "customer_id": customer,
            "lines": [{"sku": "CANDLE-FIG", "quantity": 1, "disposition": "restock"}],
        },
    )
    assert taken.status_code == 404 and taken.json()["error"]["code"] == "return_id_taken"
    # Lisbon's own staff still reach it: its cashier sees it, a manager of Lisbon decides.
    seen = await api.get(f"/returns/{return_id}", headers=luis)
    assert seen.status_code == 200 and seen.json()["status"] == "awaiting_approval"
    mia = await password_login(api, "mia", "manager-demo")
    rejected = await api.post(f"/returns/{return_id}/reject", headers=mia, json={"note": "no"})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected", rejected.text


def test_sale_and_replay_ids_are_till_scoped() -> None:
    """Client sale ids and offline batch ids are the till's own (the routes check the till)."""
    assert sale_workflow_id("BER1", "c-1") != sale_workflow_id("LIS1", "c-1")
    assert replay_workflow_id("BER1", "b-1") == "replay:BER1:b-1"


@pytest.fixture(scope="module")
async def web_worker(db, temporal_client, gateway, test_settings) -> AsyncIterator[None]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    async with web_queue_worker(temporal_client, db, gateway, test_settings):
        yield


@pytest.mark.usefixtures("web_worker")
async def test_another_web_stores_cart_id_is_not_found(api, db, temporal_client) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    key_a, key_b = f"sfk_test_{uuid.uuid4().hex}", f"sfk_test_{uuid.uuid4().hex}"
    store_a = connect(db, "web", storefront_key=key_a)
    store_b = connect(db, "web", storefront_key=key_b)
    a, b = {"X-Storefront-Key": key_a}, {"X-Storefront-Key": key_b}
    try:
        sku = new_product(db, {"WH1": 3}, price=1290)
        cart_id = (await api.post("/storefront/carts", json={}, headers=a)).json()["cart_id"]
        added = await api.post(
            f"/storefront/carts/{cart_id}/lines", json={"sku": sku, "quantity": 1}, headers=a
        )
        assert added.status_code == 200, added.text

        # Web store B names A's cart: nothing of it is there for B.
        url = f"/storefront/carts/{cart_id}"
        tries = [
            ("GET", url, None),
            ("POST", f"{url}/lines", {"sku": sku, "quantity": 2}),
            ("PUT", f"{url}/lines/{sku}", {"quantity": 0}),
            ("DELETE", f"{url}/lines/{sku}", None),
            ("POST", f"{url}/checkout", {"email": "b@example.test"}),
            ("GET", f"/storefront/orders/{cart_id}", None),
        ]
        for method, path, body in tries:
            r = await api.request(method, path, json=body, headers=b)
            assert r.status_code == 404, (method, path, r.text)
        # The cart's workflow lives under A's name only; B's name for it reaches nothing.
        with pytest.raises(Conflict) as closed:
            await steer_cart(
                temporal_client, store_b.code, cart_id, CartLineChange(sku=sku, quantity=5)
            )
        assert closed.value.code == "cart_closed"
        with pytest.raises(RPCError) as unscoped:
            await temporal_client.get_workflow_handle(f"cart:{cart_id}").describe()
        assert unscoped.value.status == RPCStatusCode.NOT_FOUND
        # A's cart is as A left it.
        mine = await api.get(f"/storefront/carts/{cart_id}", headers=a)
        assert mine.status_code == 200 and [
            (ln["sku"], ln["quantity"]) for ln in mine.json()["lines"]
        ] == [(sku, 1)]
        assert holds(db, "cart", cart_id) == {("WH1", sku): 1}
        handle = temporal_client.get_workflow_handle(cart_workflow_id(store_a.code, cart_id))
        await handle.cancel()  # its compensation releases the hold
        with pytest.raises(WorkflowFailureError):
            await asyncio.wait_for(handle.result(), timeout=30)
        assert holds(db, "cart", cart_id) == {}
    finally:
        disconnect(db, store_a.code)
        disconnect(db, store_b.code)
