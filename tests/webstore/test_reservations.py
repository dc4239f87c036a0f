"""The reservation repository: all-or-nothing holds, and release / consume that happen once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from helpers.stock import assert_ledger_balanced, ledger_sum
from helpers.webstore import assert_reservations_balanced, holds, level, location, new_product

from db.repositories import reservations
from db.repositories.reservations import CART, ORDER, Hold, OutOfStock


def test_a_basket_is_held_whole_or_not_at_all_and_a_retry_holds_nothing_twice(db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    a, b = new_product(db, {"BER": 2}), new_product(db, {"BER": 1}, safety={"BER": 1})
    ref = f"order:test:{uuid.uuid4().hex}"
    # b's only unit is safety stock
    with pytest.raises(OutOfStock), db.unit_of_work() as s:
        reservations.reserve(
            s,
            kind=ORDER,
            reference=ref,
            holds=[Hold(location(s, "BER"), a, 2), Hold(location(s, "BER"), b, 1)],
        )
    assert level(db, "BER", a).reserved == 0 and holds(db, ORDER, ref) == {}
    for _ in range(2):  # the activity ran twice
        with db.unit_of_work() as s:
            reservations.reserve(
                s, kind=ORDER, reference=ref, holds=[Hold(location(s, "BER"), a, 2)]
            )
    assert level(db, "BER", a).reserved == 2 and holds(db, ORDER, ref) == {("BER", a): 2}
    assert_reservations_balanced(db)


def test_release_and_consume_happen_once(db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    sku = new_product(db, {"WH1": 5})
    ref = f"order:test:{uuid.uuid4().hex}"
    with db.unit_of_work() as s:
        wh = location(s, "WH1")
        reservations.reserve(s, kind=ORDER, reference=ref, holds=[Hold(wh, sku, 3)])
    for _ in range(2):
        with db.unit_of_work() as s:
            reservations.consume(
                s,
                kind=ORDER,
                reference=ref,
                location_id=wh,
                occurred_at=datetime.now(UTC),
                workflow_id=ref,
            )
    assert (level(db, "WH1", sku).on_hand, level(db, "WH1", sku).reserved) == (2, 0)
    assert ledger_sum(db, "WH1", sku) == 2
    other = f"order:test:{uuid.uuid4().hex}"
    with db.unit_of_work() as s:
        reservations.reserve(s, kind=ORDER, reference=other, holds=[Hold(wh, sku, 2)])
    for _ in range(2):
        with db.unit_of_work() as s:
            released = reservations.release(s, kind=ORDER, reference=other)
    assert released == [] and level(db, "WH1", sku).reserved == 0
    assert_reservations_balanced(db)
    assert_ledger_balanced(db)


def test_cart_quantities_are_targets_and_an_order_adopts_the_cart(db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    sku = new_product(db, {"LIS": 4})
    cart, order = uuid.uuid4().hex, f"order:web:{uuid.uuid4().hex}"
    with db.unit_of_work() as s:
        lis = location(s, "LIS")
    for qty in (3, 3, 1, 2):
        with db.unit_of_work() as s:
            reservations.set_quantity(
                s,
                kind=CART,
                reference=cart,
                location_id=lis,
                sku=sku,
                quantity=qty,
                expires_at=None,
            )
    assert level(db, "LIS", sku).reserved == 2
    with pytest.raises(OutOfStock), db.unit_of_work() as s:
        reservations.set_quantity(
            s, kind=CART, reference=cart, location_id=lis, sku=sku, quantity=5, expires_at=None
        )
    with db.unit_of_work() as s:
        adopted = reservations.adopt(
            s,
            from_kind=CART,
            from_reference=cart,
            to_kind=ORDER,
            to_reference=order,
            workflow_id=order,
        )
    assert (
        adopted == [Hold(lis, sku, 2)]
        and holds(db, CART, cart) == {}
        and holds(db, ORDER, order) == {("LIS", sku): 2}
    )
    assert level(db, "LIS", sku).reserved == 2  # nothing given back and taken again
    assert_reservations_balanced(db)
