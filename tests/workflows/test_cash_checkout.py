"""The one-transaction cash checkout: idempotent when a local activity runs twice, writes nothing
when the cash does not settle the sale, and a settled cash sale's history holds one step before its
devices."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from helpers.api import till_login
from helpers.stock import assert_ledger_balanced, on_hand
from sqlalchemy import select

from activities.cash_sale import CashSaleActivities
from activities.receipts import receipt_for_order
from contracts.sale import (
    BasketLine,
    CashCheckout,
    GiftCardLine,
    SaleRequest,
    TenderIn,
    sale_workflow_id,
    settles_in_cash,
)
from db.models import Order, Payment, StockMovement

SKU = "KEYRING"
BOOK = "TEA-GREEN"  # reduced tax rate


def _request(wf_id: str, *tenders: TenderIn) -> SaleRequest:
    return SaleRequest(
        till_code="BER1",
        client_sale_id=wf_id.split(":")[-1],
        cashier_id=1,
        lines=(BasketLine(sku=SKU, quantity=2),),
        tenders=tenders,
    )


def test_which_sales_take_the_one_transaction_path() -> None:
    cash = TenderIn(kind="cash", amount=5000)
    assert settles_in_cash(_request("sale:BER1:a", cash, TenderIn(kind="cash", amount=100)))
    assert not settles_in_cash(_request("sale:BER1:a"))  # no tender: the sale waits open
    assert not settles_in_cash(_request("sale:BER1:a", cash, TenderIn(kind="card", amount=100)))
    req = _request("sale:BER1:a", cash)
    assert not settles_in_cash(SaleRequest(**{**req.__dict__, "offline": True}))
    assert not settles_in_cash(
        SaleRequest(**{**req.__dict__, "gift_cards": (GiftCardLine(amount=2000),)})
    )


def test_running_twice_records_the_sale_once(db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    acts = CashSaleActivities(db)
    wf_id = sale_workflow_id("BER1", uuid.uuid4().hex[:12])
    before = on_hand(db, "BER", SKU)
    cmd = CashCheckout(
        workflow_id=wf_id,
        request=_request(
            wf_id, TenderIn(kind="cash", amount=1000), TenderIn(kind="cash", amount=5000)
        ),
        sold_at=datetime.now(UTC),
    )
    first = acts.checkout(cmd)
    again = acts.checkout(cmd)  # a local activity retried after its commit

    assert first.recorded is not None and again.recorded is not None
    assert again.recorded.number == first.recorded.number
    assert (again.change_due, again.tenders, again.priced) == (
        first.change_due,
        first.tenders,
        first.priced,
    )
    total = first.priced.total
    assert [t.amount for t in first.tenders] == [1000, total - 1000]
    assert first.change_due == 6000 - total
    assert on_hand(db, "BER", SKU) == before - 2
    with db.unit_of_work() as s:
        assert (
            len(s.scalars(select(StockMovement).where(StockMovement.workflow_id == wf_id)).all())
            == 1
        )
        pays = s.scalars(
            select(Payment).where(Payment.workflow_id == wf_id).order_by(Payment.id)
        ).all()
        assert [(p.tender, p.amount, p.tendered, p.status) for p in pays] == [
            ("cash", 1000, 1000, "completed"),
            ("cash", total - 1000, 5000, "completed"),
        ]
        order = s.scalars(select(Order).where(Order.workflow_id == wf_id)).one()
        assert (order.total, order.change_due, order.status) == (total, 6000 - total, "completed")
    assert first.recorded.receipt.sale_id == first.recorded.number
    # The first run builds the receipt from what it wrote; the repeat reads it back: the same
    # receipt.
    assert again.recorded.receipt == first.recorded.receipt
    assert_ledger_balanced(db)


def test_the_receipt_built_at_checkout_is_the_one_a_reprint_reads(db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    wf_id = sale_workflow_id("BER1", uuid.uuid4().hex[:12])
    # Two tax rates (books are reduced-rate), two cash tenders, change.
    req = SaleRequest(
        till_code="BER1",
        client_sale_id=wf_id.split(":")[-1],
        cashier_id=1,
        lines=(
            BasketLine(sku=SKU, quantity=2),
            BasketLine(sku=BOOK, quantity=1),
            BasketLine(sku=SKU, quantity=1),
        ),
        tenders=(TenderIn(kind="cash", amount=2000), TenderIn(kind="cash", amount=10000)),
    )
    out = CashSaleActivities(db).checkout(
        CashCheckout(workflow_id=wf_id, request=req, sold_at=datetime.now(UTC))
    )
    assert out.recorded is not None
    with db.unit_of_work() as s:
        stored = receipt_for_order(s, out.recorded.number)
    assert out.recorded.receipt == stored
    assert len(stored.lines) == 3 and len(stored.taxes) == 2 and len(stored.tenders) == 2
    assert stored.change_due == 12000 - stored.total


def test_cash_that_does_not_cover_writes_nothing(db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    wf_id = sale_workflow_id("BER1", uuid.uuid4().hex[:12])
    before = on_hand(db, "BER", SKU)
    out = CashSaleActivities(db).checkout(
        CashCheckout(
            workflow_id=wf_id,
            request=_request(wf_id, TenderIn(kind="cash", amount=100)),
            sold_at=datetime.now(UTC),
        )
    )
    assert out.recorded is None and out.priced.total > 100  # priced, for the step-by-step path
    assert on_hand(db, "BER", SKU) == before
    with db.unit_of_work() as s:
        assert (
            s.scalars(select(StockMovement).where(StockMovement.workflow_id == wf_id)).first()
            is None
        )
        assert s.scalars(select(Payment).where(Payment.workflow_id == wf_id)).first() is None


async def test_short_cash_goes_step_by_step_and_stays_open(api, temporal_client) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """Through the API: the sale answers open with what is still due, then takes the rest."""
    headers = await till_login(api, "BER1")
    client_id = uuid.uuid4().hex[:12]
    body = {
        "client_sale_id": client_id,
        "lines": [{"sku": SKU, "quantity": 2}],
        "tenders": [{"kind": "cash", "amount": 100}],
    }
    r = await api.post("/tills/BER1/sales", json=body, headers=headers)
    assert r.status_code == 200, r.text
    sale = r.json()
    assert sale["status"] == "open" and sale["due"] == sale["total"] - 100
    r = await api.post(
        f"/tills/BER1/sales/{client_id}/tenders",
        json={"tenders": [{"kind": "cash", "amount": sale["due"]}]},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "completed"
    history = await temporal_client.get_workflow_handle(sale["workflow_id"]).fetch_history()
    markers = [
        e.marker_recorded_event_attributes.marker_name
        for e in history.events
        if e.HasField("marker_recorded_event_attributes")
    ]
    assert (
        markers.count("core_local_activity") == 5
    )  # cash checkout (priced only), stock, cash, cash, order
