"""Zero oversell: online checkouts and cart reservations racing for the same units.

The threaded rounds call the very activities the OnlineOrder and Cart workflows run (route, then a
conditional reserve; cart set_line), all released at once by a barrier, against real PostgreSQL.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from helpers.stock import assert_ledger_balanced
from helpers.webstore import (
    assert_reservations_balanced,
    connect,
    disconnect,
    level,
    new_product,
)
from temporalio.exceptions import ApplicationError

from activities.carts import CartActivities
from activities.online_order import OnlineOrderActivities
from contracts.cart import CartLineSet, CartOpen, CartRequest
from contracts.online import MappedLine, ReserveRequest, RouteRequest
from db.session import Database

ROUNDS = 8  # races for one unit, each with 50 checkouts and 10 carts


@pytest.fixture(scope="module")
def race_db(database_url):  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """Enough connections for every racer to hold one at the same moment."""
    database = Database(database_url, pool_size=40)
    yield database
    database.dispose()


def checkout(acts: OnlineOrderActivities, sku: str) -> Callable[[], bool]:
    """What an OnlineOrder does: route on current numbers, reserve conditionally, re-route if
    beaten."""
    wf = f"order:race:{uuid.uuid4().hex}"
    line = MappedLine(
        sku=sku,
        quantity=1,
        name=sku,
        unit_price=100,
        net=84,
        tax=16,
        gross=100,
        tax_code="standard",
        tax_rate_bp=1900,
    )

    def run() -> bool:
        for _ in range(3):
            routed = acts.route(
                RouteRequest(
                    workflow_id=wf,
                    lines=(line,),
                    location_ids=(),
                    pickup_location_id=None,
                    country="DE",
                )
            )
            if not routed.ok:
                return False
            try:
                acts.reserve(ReserveRequest(workflow_id=wf, lines=routed.lines))
                return True
            except ApplicationError as err:
                assert err.type == "OutOfStock"
        return False

    return run


def cart_add(acts: CartActivities, store_id: int, sku: str) -> Callable[[], bool]:
    """What a Cart does when the customer adds one unit."""
    req = CartRequest(
        cart_id=uuid.uuid4().hex, store_code="race", store_id=store_id, location_ids=()
    )
    expires = datetime.now(UTC) + timedelta(minutes=15)
    acts.open(CartOpen(request=req, expires_at=expires))

    def run() -> bool:
        try:
            acts.set_line(CartLineSet(request=req, sku=sku, quantity=1, expires_at=expires))
            return True
        except ApplicationError as err:
            assert err.type == "Conflict", err
            return False

    return run


def race(racers: list[Callable[[], bool]]) -> int:
    barrier = threading.Barrier(len(racers))

    def go(run: Callable[[], bool]) -> bool:
        barrier.wait()
        return run()

    with ThreadPoolExecutor(max_workers=len(racers)) as pool:
        return sum(pool.map(go, racers))


@pytest.fixture
def web_store(db):  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    store = connect(db, "web")
    yield store
    disconnect(db, store.code)


def test_fifty_checkouts_and_ten_carts_for_one_unit_race_after_race(race_db, db, web_store) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    orders, carts = OnlineOrderActivities(race_db), CartActivities(race_db)
    for _ in range(ROUNDS):
        sku = new_product(db, {"BER": 1})
        racers = [checkout(orders, sku) for _ in range(50)] + [
            cart_add(carts, web_store.id, sku) for _ in range(10)
        ]
        assert race(racers) == 1
        ber = level(db, "BER", sku)
        assert (ber.on_hand, ber.reserved, ber.available) == (1, 1, 0)
    assert_reservations_balanced(db)
    assert_ledger_balanced(db)


def test_ten_units_a_hundred_buyers(race_db, db, web_store) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    orders, carts = OnlineOrderActivities(race_db), CartActivities(race_db)
    sku = new_product(
        db, {"BER": 4, "LIS": 3, "WH1": 3}, safety={"LIS": 1}
    )  # 4 + 2 + 3 = 9 promisable...
    sku_10 = new_product(db, {"BER": 4, "LIS": 3, "WH1": 3})  # ...and exactly 10 here
    for product, units in ((sku, 9), (sku_10, 10)):
        racers = [checkout(orders, product) for _ in range(80)] + [
            cart_add(carts, web_store.id, product) for _ in range(20)
        ]
        assert race(racers) == units
        for code in ("BER", "LIS", "WH1"):
            assert level(db, code, product).available == 0  # nothing below zero, nothing left over
        assert sum(level(db, code, product).reserved for code in ("BER", "LIS", "WH1")) == units
    assert level(db, "LIS", sku).reserved == 2  # the safety unit was never promised
    assert_reservations_balanced(db)
    assert_ledger_balanced(db)


@pytest.mark.usefixtures("web_worker")
async def test_the_same_race_through_the_http_api(api, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    key = f"sfk_test_{uuid.uuid4().hex}"
    store = connect(db, "web", storefront_key=key)
    headers = {"X-Storefront-Key": key}
    sku = new_product(db, {"WH1": 1})
    carts = [
        (await api.post("/storefront/carts", json={}, headers=headers)).json()["cart_id"]
        for _ in range(12)
    ]
    answers = await asyncio.gather(
        *[
            api.post(
                f"/storefront/carts/{c}/lines", json={"sku": sku, "quantity": 1}, headers=headers
            )
            for c in carts
        ]
    )
    assert sorted(r.status_code for r in answers) == [200] + [409] * 11
    winner = carts[[r.status_code for r in answers].index(200)]
    checkouts = await asyncio.gather(
        *[
            api.post(
                f"/storefront/carts/{c}/checkout",
                json={"email": "a@example.test", "payment_method": "pm_card_visa"},
                headers=headers,
            )
            for c in carts
        ]
    )
    by_cart = dict(zip(carts, checkouts, strict=True))
    assert by_cart[winner].status_code == 201 and by_cart[winner].json()["status"] == "accepted"
    assert all(r.status_code == 422 for c, r in by_cart.items() if c != winner)  # empty carts
    wh = level(db, "WH1", sku)
    assert (wh.reserved, wh.available) == (1, 0)
    disconnect(db, store.code)
    assert_reservations_balanced(db)
