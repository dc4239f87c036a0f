"""Endless aisle and ship to home (issue 19): a till sale that becomes an online order shipped to
the customer, paid in cash at the till; money and stock move once each."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from helpers.fulfilment import Orders
from helpers.stock import assert_ledger_balanced, on_hand
from helpers.webstore import assert_reservations_balanced, barcode_of, holds, new_product
from sqlalchemy import select

from contracts.online import online_order_workflow_id
from db.models import Payment
from db.repositories import addresses, online_orders, outbox
from db.session import Database
from workflows.online_order import OnlineOrderWorkflow

ADDRESS = {
    "name": "Kim Kunde",
    "lines": ["Torstr. 1"],
    "city": "Hamburg",
    "postcode": "20095",
    "country": "de",
}


def _payments(db: Database, wf: str) -> list[tuple[str, int, int, str]]:
    with db.unit_of_work() as s:
        rows = s.scalars(select(Payment).where(Payment.workflow_id == wf).order_by(Payment.id))
        return [(p.tender, p.amount, p.tendered, p.status) for p in rows]


async def _ship(  # type: ignore[no-untyped-def]  # untyped pytest fixture values
    env, api, db: Database, picker: dict[str, str], store: str, wf: str, sku: str, qty: int
) -> None:
    """Pick, pack and hand to the carrier at `store`, as its staff do."""
    orders = Orders(env, db, None, None, api)  # only its task look-up
    pick = await orders.task(store, wf, "pick", picker)
    r = await api.post(
        f"/fulfilment/{store}/tasks/{pick['id']}/picked",
        headers=picker,
        json={"scans": [{"barcode": barcode_of(db, sku), "quantity": qty}]},
    )
    assert r.status_code == 200, r.text
    pack = await orders.task(store, wf, "pack", picker)
    r = await api.post(
        f"/fulfilment/{store}/tasks/{pack['id']}/pack",
        headers=picker,
        json={"weight_g": 900, "length_cm": 30, "width_cm": 20, "height_cm": 10},
    )
    assert r.status_code == 200, r.text
    ship = await orders.task(store, wf, "ship", picker)
    r = await api.post(f"/fulfilment/{store}/tasks/{ship['id']}/ship", headers=picker)
    assert r.status_code == 200 and r.json()["phase"] == "shipped", r.text


async def _place(api: Any, headers: dict[str, str], body: dict[str, Any], ship_id: str = "") -> Any:
    ship_id = ship_id or uuid.uuid4().hex[:12]
    return await api.post(f"/tills/BER1/ship-orders/{ship_id}", headers=headers, json=body)


async def test_an_item_the_store_does_not_have_is_paid_in_cash_and_shipped_from_the_warehouse(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    aisle_api, aisle_cashier, aisle_picker, db, fulfilment_env
) -> None:
    sku = new_product(db, {"BER": 0, "WH1": 3}, price=2500)
    body = {"lines": [{"sku": sku, "quantity": 2}], "ship_to": ADDRESS, "email": "kim@example.test"}
    short = await _place(aisle_api, aisle_cashier, {**body, "cash": [4000]})
    assert short.status_code == 422, short.text  # 50.00 due: nothing kept
    assert short.json()["error"]["code"] == "tender_short"
    r = await _place(aisle_api, aisle_cashier, {**body, "cash": [6000]})
    assert r.status_code == 201, r.text
    out = r.json()
    wf, number = out["workflow_id"], out["order_number"]
    assert out["total"] == 5000 and out["change_due"] == 1000 and out["currency"] == "EUR"
    assert out["lines"] == [{"sku": sku, "quantity": 2, "location": "WH1"}]
    assert out["receipt"][0].startswith("Shipped to Kim Kunde, Hamburg from ")
    assert out["receipt"][0].endswith(f"order {number}")
    assert out["receipt"][1] == "Paid in cash: EUR 50.00, change EUR 10.00"
    # Paid once at the till; held at the warehouse; the address is kept with the order.
    assert _payments(db, wf) == [("cash", 5000, 6000, "completed")]
    assert holds(db, "order", wf) == {("WH1", sku): 2}
    with db.unit_of_work() as s:
        saved = addresses.for_order(s, number)
        assert saved is not None and saved.city == "Hamburg"
        summary = online_orders.summary(s, wf)
        assert summary is not None and summary.external_source == "store"

    await _ship(fulfilment_env, aisle_api, db, aisle_picker, "WH1", wf, sku, 2)
    parent = fulfilment_env.client.get_workflow_handle_for(OnlineOrderWorkflow.run, wf)
    assert (await asyncio.wait_for(parent.result(), 30)).status == "completed"
    assert on_hand(db, "WH1", sku) == 1 and on_hand(db, "BER", sku) == 0
    assert holds(db, "order", wf) == {}
    with db.unit_of_work() as s:
        (note,) = [n for n in outbox.for_reference(s, f"ship:{wf}:WH1") if n.kind == "shipped"]
    assert note.recipient == "kim@example.test"
    assert _payments(db, wf) == [("cash", 5000, 6000, "completed")]  # still once
    assert_ledger_balanced(db)
    assert_reservations_balanced(db)


async def test_an_item_the_store_has_is_bought_in_store_and_shipped_home(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    aisle_api, aisle_cashier, aisle_picker, db, fulfilment_env
) -> None:
    sku = new_product(db, {"BER": 2}, price=1200)
    body = {
        "lines": [{"sku": sku, "quantity": 1}],
        "ship_to": {**ADDRESS, "city": "Berlin"},
        "email": "kim@example.test",
        "cash": [1200],
    }
    r = await _place(aisle_api, aisle_cashier, body)
    assert r.status_code == 201, r.text
    out = r.json()
    wf = out["workflow_id"]
    assert out["lines"] == [{"sku": sku, "quantity": 1, "location": "BER"}]
    assert out["change_due"] == 0 and out["receipt"][0].startswith("Shipped to Kim Kunde, Berlin")
    await _ship(fulfilment_env, aisle_api, db, aisle_picker, "BER", wf, sku, 1)
    parent = fulfilment_env.client.get_workflow_handle_for(OnlineOrderWorkflow.run, wf)
    assert (await asyncio.wait_for(parent.result(), 30)).status == "completed"
    assert on_hand(db, "BER", sku) == 1  # left the shelf once, by the shipment
    assert _payments(db, wf) == [("cash", 1200, 1200, "completed")]
    assert_ledger_balanced(db)


async def test_nothing_anywhere_is_refused_and_the_cash_given_back(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    aisle_api, aisle_cashier, db
) -> None:
    sku = new_product(db, {"BER": 0, "WH1": 0}, price=1000)
    body = {
        "lines": [{"sku": sku, "quantity": 1}],
        "ship_to": ADDRESS,
        "email": "kim@example.test",
        "cash": [1000],
    }
    ship_id = uuid.uuid4().hex[:12]
    r = await _place(aisle_api, aisle_cashier, body, ship_id)
    assert r.status_code == 409, r.text
    wf = online_order_workflow_id("store", f"BER1:{ship_id}")
    # The order's cash was recorded with it, then voided by its compensation: none is kept.
    assert [p[3] for p in _payments(db, wf)] in ([], ["voided"])
    assert holds(db, "order", wf) == {}


async def test_bad_input_is_a_clear_422(aisle_api, aisle_cashier) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    bad = await _place(
        aisle_api,
        aisle_cashier,
        {"lines": [], "ship_to": ADDRESS, "email": "kim@example.test", "cash": [100]},
    )
    assert bad.status_code == 422
    blank = await _place(
        aisle_api,
        aisle_cashier,
        {
            "lines": [{"sku": "X", "quantity": 1}],
            "ship_to": {**ADDRESS, "lines": [" "]},
            "email": "kim@example.test",
            "cash": [100],
        },
    )
    assert blank.status_code == 422 and blank.json()["error"]["code"] == "bad_address"


async def test_an_unknown_sku_is_a_404_and_nothing_is_queued(aisle_api, aisle_cashier, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    from db.models_webstore import OrderException

    ship_id = uuid.uuid4().hex[:12]
    body = {
        "lines": [{"sku": f"NOPE-{ship_id}", "quantity": 1}],
        "ship_to": ADDRESS,
        "email": "kim@example.test",
        "cash": [1000],
    }
    r = await _place(aisle_api, aisle_cashier, body, ship_id)
    assert r.status_code == 404, r.text
    wf = online_order_workflow_id("store", f"BER1:{ship_id}")
    with db.unit_of_work() as s:
        queued = s.scalars(select(OrderException).where(OrderException.workflow_id == wf)).all()
    assert queued == [] and _payments(db, wf) == []


async def test_the_cash_of_a_ship_order_is_in_the_tills_x_report(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    aisle_api, aisle_cashier, db
) -> None:
    """The cash went into BER1's drawer: the till's open shift counts it as a cash sale (change
    given back), so the X (and the Z) expect it in the drawer."""
    from datetime import UTC, datetime

    from db.models import Order, Till
    from db.models_shifts import Shift
    from db.repositories import shifts

    with db.unit_of_work() as s:
        till = s.scalars(select(Till).where(Till.code == "BER1")).one()
        assert shifts.current(s, till.id) is None  # the suite sells at BER1 without shifts
        n = shifts.next_n(s, till.id)
        shift = shifts.add_shift(
            s,
            workflow_id=f"shift:BER1:{n}:aisle-{uuid.uuid4().hex[:6]}",
            till_id=till.id,
            n=n,
            location_id=till.location_id,
            currency="EUR",
            status="open",
            opened_at=datetime.now(UTC),
            float_count={"5000": 2},
            float_amount=10000,
        )
        shift_id = shift.id
    try:
        sku = new_product(db, {"BER": 0, "WH1": 2}, price=1800)
        body = {
            "lines": [{"sku": sku, "quantity": 1}],
            "ship_to": ADDRESS,
            "email": "kim@example.test",
            "cash": [2000],
        }
        r = await _place(aisle_api, aisle_cashier, body)
        assert r.status_code == 201, r.text
        number = r.json()["order_number"]
        with db.unit_of_work() as s:
            order = s.scalars(select(Order).where(Order.number == number)).one()
            assert order.shift_id == shift_id
            added = s.get(Shift, shift_id)
            assert added is not None
            x = shifts.figures(s, added)
        assert x.sales_count == 1 and x.by_tender == {"cash": 1800}
        assert x.expected["cash"] == 10000 + 1800  # float + the sale (2000 taken, 200 back)
    finally:
        with db.unit_of_work() as s:
            row = s.get(Shift, shift_id)
            assert row is not None
            row.status, row.closed_at = "closed", datetime.now(UTC)
