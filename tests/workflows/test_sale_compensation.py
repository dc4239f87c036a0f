"""A sale whose last step fails for good: compensations run in reverse and nothing stays sold.

Cash-only sales commit in one transaction (nothing to compensate: a failure rolls all of it back);
every other tender takes the saga, which undoes its durable steps in reverse."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from helpers.history import activity_types
from helpers.stock import assert_ledger_balanced, on_hand
from sqlalchemy import select
from temporalio import activity
from temporalio.client import (
    WithStartWorkflowOperation,
    WorkflowFailureError,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError

from activities.sale import SaleActivities
from contracts.sale import (
    BasketLine,
    OrderRecord,
    RecordedOrder,
    SaleRequest,
    TenderIn,
    sale_workflow_id,
)
from db.models import Order, Payment, StockMovement
from db.repositories import balances
from tillflow.workers import sale_activities, sales_worker
from workflows.sale import SaleWorkflow


@activity.defn(name="sale.record_order")
def broken_record_order(cmd: OrderRecord) -> RecordedOrder:
    raise ApplicationError(
        "order store rejected the write", type="OrderStoreDown", non_retryable=True
    )


async def _checkout_fails(temporal_client, queue: str, req: SaleRequest, wf_id: str):  # type: ignore[no-untyped-def]  # takes untyped fixture values
    """Start the sale, expect its checkout to fail; the closed workflow's status and history."""
    start = WithStartWorkflowOperation(
        SaleWorkflow.run,
        req,
        id=wf_id,
        task_queue=queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await temporal_client.execute_update_with_start_workflow(
            SaleWorkflow.checkout, start_workflow_operation=start
        )
    assert "order store rejected the write" in str(failed.value.cause)
    handle = temporal_client.get_workflow_handle(wf_id)
    with pytest.raises(WorkflowFailureError):
        await asyncio.wait_for(handle.result(), timeout=20)
    return await handle.query(SaleWorkflow.status), await handle.fetch_history()


async def test_failure_after_stock_decrement_compensates_in_reverse(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db, temporal_client, gateway
) -> None:
    queue = f"sales-broken-{uuid.uuid4().hex[:6]}"
    acts = [a for a in sale_activities(db, gateway) if getattr(a, "__name__", "") != "record_order"]
    worker = sales_worker(
        temporal_client, db, gateway, activities=[*acts, broken_record_order], task_queue=queue
    )
    sku = "VASE-GLASS"
    before = on_hand(db, "BER", sku)
    wf_id = sale_workflow_id("BER1", uuid.uuid4().hex[:12])
    basket = (BasketLine(sku=sku, quantity=2),)
    total = (
        SaleActivities(db)
        .price(
            SaleRequest(
                till_code="BER1", client_sale_id="quote", cashier_id=1, lines=basket, tenders=()
            )
        )
        .total
    )
    with db.unit_of_work() as s:
        card = balances.issue_gift_card(
            s, amount=total, currency="EUR", key=f"test:{wf_id}", reference="test"
        ).code
    req = SaleRequest(
        till_code="BER1",
        client_sale_id=wf_id.split(":")[-1],
        cashier_id=1,
        lines=basket,
        tenders=(TenderIn(kind="gift_card", amount=total, reference=card),),
    )
    async with worker:
        status, history = await _checkout_fails(temporal_client, queue, req, wf_id)

    # Database: stock back, the gift card's money back, its payment voided, no order.
    assert on_hand(db, "BER", sku) == before
    with db.unit_of_work() as s:
        moves = s.scalars(
            select(StockMovement)
            .where(StockMovement.workflow_id == wf_id)
            .order_by(StockMovement.id)
        ).all()
        assert [(m.delta, m.reason) for m in moves] == [(-2, "sale"), (2, "sale_reversal")]
        pays = s.scalars(select(Payment).where(Payment.workflow_id == wf_id)).all()
        assert [p.status for p in pays] == ["voided"]
        assert balances.gift_card(s, card).balance == total
        assert s.scalars(select(Order).where(Order.workflow_id == wf_id)).first() is None
    assert_ledger_balanced(db)

    # History: forward steps, then the compensations in reverse order (void_all is a regular
    # activity since it may call the card provider; restocking is a local one).
    assert activity_types(history) == [
        "sale.price",
        "sale.commit_stock",
        "tender.balance",
        "sale.record_order",
        "tender.void_all",
        "sale.restore_stock",
    ]
    assert status.compensating and status.step == "failed"
    assert "order store rejected the write" in status.error


async def test_failing_cash_sale_rolls_back_as_one_transaction(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db, temporal_client, gateway, monkeypatch
) -> None:
    """The sale fails after stock, cash and the order were written in the same transaction: none of
    it stays."""
    import activities.cash_sale

    written: list[tuple[int, int, int]] = []
    real_record_order = activities.cash_sale.record_order

    def order_store_down(session, cmd, *args):  # type: ignore[no-untyped-def]  # stands in for a patched function
        real_record_order(session, cmd, *args)
        # Stock rows, the cash payment and the order are written by now, in this same transaction.
        written.append(
            (
                len(
                    session.scalars(
                        select(StockMovement).where(StockMovement.workflow_id == cmd.workflow_id)
                    ).all()
                ),
                len(
                    session.scalars(
                        select(Payment).where(Payment.workflow_id == cmd.workflow_id)
                    ).all()
                ),
                len(
                    session.scalars(select(Order).where(Order.workflow_id == cmd.workflow_id)).all()
                ),
            )
        )
        raise ApplicationError(
            "order store rejected the write", type="OrderStoreDown", non_retryable=True
        )

    monkeypatch.setattr(activities.cash_sale, "record_order", order_store_down)
    queue = f"sales-broken-cash-{uuid.uuid4().hex[:6]}"
    worker = sales_worker(temporal_client, db, gateway, task_queue=queue)
    sku = "VASE-GLASS"
    before = on_hand(db, "BER", sku)
    wf_id = sale_workflow_id("BER1", uuid.uuid4().hex[:12])
    req = SaleRequest(
        till_code="BER1",
        client_sale_id=wf_id.split(":")[-1],
        cashier_id=1,
        lines=(BasketLine(sku=sku, quantity=2),),
        tenders=(TenderIn(kind="cash", amount=100_000),),
    )
    async with worker:
        status, history = await _checkout_fails(temporal_client, queue, req, wf_id)

    assert written and set(written) == {(1, 1, 1)}
    assert on_hand(db, "BER", sku) == before
    with db.unit_of_work() as s:
        assert (
            s.scalars(select(StockMovement).where(StockMovement.workflow_id == wf_id)).first()
            is None
        )
        assert s.scalars(select(Payment).where(Payment.workflow_id == wf_id)).first() is None
        assert s.scalars(select(Order).where(Order.workflow_id == wf_id)).first() is None
    assert_ledger_balanced(db)
    assert activity_types(history) == ["sale.cash_checkout"]  # nothing durable to undo
    assert not status.compensating and status.step == "failed"
    assert "order store rejected the write" in status.error


async def test_compensation_activities_are_idempotent(db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """Local activities may run twice; restoring twice puts stock back once."""
    from datetime import UTC, datetime

    from helpers.stock import location_id

    from activities.sale import SaleActivities
    from contracts.sale import SaleLine, StockCommit, StockRestore

    acts = SaleActivities(db)
    loc = location_id(db, "BER")
    wf = f"sale:test:{uuid.uuid4().hex[:8]}"
    line = SaleLine(1, "KEYRING", "Leather keyring", 3, 990, 832, 158, 2970, "standard", 1900)
    before = on_hand(db, "BER", "KEYRING")
    now = datetime.now(UTC)
    for _ in range(2):
        acts.commit_stock(
            StockCommit(
                workflow_id=wf, location_id=loc, reference=wf, lines=(line,), occurred_at=now
            )
        )
    assert on_hand(db, "BER", "KEYRING") == before - 3
    assert acts.restore_stock(StockRestore(workflow_id=wf, location_id=loc, occurred_at=now)) == 1
    assert acts.restore_stock(StockRestore(workflow_id=wf, location_id=loc, occurred_at=now)) == 0
    assert on_hand(db, "BER", "KEYRING") == before
