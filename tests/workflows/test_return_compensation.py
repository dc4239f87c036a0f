"""A return whose refund fails for good after the claim: the claim is released (its compensation,
an activity of its own in the history), the sale can be returned again, and no money moved."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from helpers.history import activity_types
from helpers.stock import assert_ledger_balanced, on_hand
from helpers.webstore import new_product
from sqlalchemy import select
from temporalio import activity
from temporalio.client import (
    WithStartWorkflowOperation,
    WorkflowFailureError,
    WorkflowHistory,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError

from contracts.returns import (
    CreditCmd,
    RefundOutcome,
    RefundRequest,
    ReturnLineIn,
    ReturnRequest,
    return_workflow_id,
)
from contracts.sale import BasketLine, SaleRequest, SaleResult, TenderIn, sale_workflow_id
from db.models import StockMovement
from db.models_payments import StoreCreditEntry
from db.repositories import customers, orders, returns
from tillflow.workers import sale_activities, sales_worker
from workflows.returns import ReturnWorkflow
from workflows.sale import SaleWorkflow


@activity.defn(name="refund.to_original_tenders")
def broken_refund(req: RefundRequest) -> RefundOutcome:
    raise ApplicationError("payment service is down", type="RefundsDown", non_retryable=True)


@activity.defn(name="return.store_credit")
def broken_store_credit(cmd: CreditCmd) -> int:
    raise ApplicationError("payment service is down", type="RefundsDown", non_retryable=True)


def _worker_with(temporal_client, db, gateway, replaced: str, broken: Callable[..., Any]):  # type: ignore[no-untyped-def]  # takes untyped fixture values
    """A private queue and its sales worker, with the activity method `replaced` broken."""
    acts = [a for a in sale_activities(db, gateway) if getattr(a, "__name__", "") != replaced]
    assert len(acts) == len(sale_activities(db, gateway)) - 1
    queue = f"returns-broken-{uuid.uuid4().hex[:6]}"
    return queue, sales_worker(
        temporal_client, db, gateway, activities=[*acts, broken], task_queue=queue
    )


async def _cash_sale(temporal_client, queue: str, sku: str, customer_id: int | None) -> SaleResult:  # type: ignore[no-untyped-def]  # Client not imported here
    client_id = uuid.uuid4().hex[:12]
    req = SaleRequest(
        till_code="BER1",
        client_sale_id=client_id,
        cashier_id=1,
        lines=(BasketLine(sku=sku, quantity=1),),
        tenders=(TenderIn(kind="cash", amount=5000),),
        customer_id=customer_id,
    )
    sale: SaleResult = await temporal_client.execute_update_with_start_workflow(
        SaleWorkflow.checkout,
        start_workflow_operation=WithStartWorkflowOperation(
            SaleWorkflow.run,
            req,
            id=sale_workflow_id("BER1", client_id),
            task_queue=queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        ),
    )
    assert sale.status == "completed" and sale.sale_id
    return sale


async def _return_fails(temporal_client, queue: str, req: ReturnRequest) -> WorkflowHistory:  # type: ignore[no-untyped-def]  # Client not imported here
    """Submit the return, expect it to fail; the closed workflow's history."""
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await temporal_client.execute_update_with_start_workflow(
            ReturnWorkflow.submit,
            start_workflow_operation=WithStartWorkflowOperation(
                ReturnWorkflow.run,
                req,
                id=return_workflow_id("BER", req.return_id),
                task_queue=queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            ),
        )
    assert "payment service is down" in str(failed.value.cause)
    handle = temporal_client.get_workflow_handle(return_workflow_id("BER", req.return_id))
    with pytest.raises(WorkflowFailureError):
        await asyncio.wait_for(handle.result(), timeout=20)
    return await handle.fetch_history()


def _assert_nothing_stays(db, sale: SaleResult, return_id: str, sku: str, stock: int) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """The return row is rejected and not counted against the sale; no money or stock moved."""
    with db.unit_of_work() as s:
        ret = returns.by_return_id(s, return_id)
        assert ret is not None and ret.status == "rejected"
        assert ret.order_id is not None
        assert [(ln.quantity, ln.returned) for ln in returns.returnable_lines(s, ret.order_id)] == [
            (1, 0)
        ]
        assert orders.refunds_for(s, sale.workflow_id) == []
        assert [p.status for p in orders.payments_for(s, sale.workflow_id)] == ["completed"]
        assert (
            s.scalars(
                select(StoreCreditEntry).where(StoreCreditEntry.reference == f"return:{return_id}")
            ).all()
            == []
        )
        assert (
            s.scalars(
                select(StockMovement).where(
                    StockMovement.workflow_id == return_workflow_id("BER", return_id)
                )
            ).all()
            == []
        )
    assert on_hand(db, "BER", sku) == stock
    assert_ledger_balanced(db)


async def test_failed_refund_to_original_tenders_releases_the_claim(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db, temporal_client, gateway
) -> None:
    """A cash refund failing after the claim runs return.release: the claim stops counting."""
    sku = new_product(db, {"BER": 3})
    req_id = uuid.uuid4().hex[:10]
    queue, worker = _worker_with(temporal_client, db, gateway, "to_original_tenders", broken_refund)
    async with worker:
        sale = await _cash_sale(temporal_client, queue, sku, None)
        stock = on_hand(db, "BER", sku)
        req = ReturnRequest(
            return_id=req_id,
            till_code="BER1",
            cashier_id=1,
            sale_number=sale.sale_id,
            lines=(ReturnLineIn(quantity=1, disposition="restock", line_no=1),),
        )
        history = await _return_fails(temporal_client, queue, req)

    # History: the forward steps, then the compensation (a local activity: a marker).
    assert activity_types(history) == [
        "return.assess",
        "return.claim",
        "refund.to_original_tenders",
        "return.release",
    ]
    _assert_nothing_stays(db, sale, req_id, sku, stock)


async def test_failed_store_credit_releases_the_claim(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db, temporal_client, gateway
) -> None:
    """Store credit failing after the claim runs return.release; the customer gets no credit."""
    sku = new_product(db, {"BER": 3})
    with db.unit_of_work() as s:
        customer = customers.create(s, name="Rita", email=f"{uuid.uuid4().hex[:8]}@example.com").id
    req_id = uuid.uuid4().hex[:10]
    queue, worker = _worker_with(temporal_client, db, gateway, "store_credit", broken_store_credit)
    async with worker:
        sale = await _cash_sale(temporal_client, queue, sku, customer)
        stock = on_hand(db, "BER", sku)
        req = ReturnRequest(
            return_id=req_id,
            till_code="BER1",
            cashier_id=1,
            sale_number=sale.sale_id,
            lines=(ReturnLineIn(quantity=1, disposition="restock", line_no=1),),
            refund_method="store_credit",
            customer_id=customer,
        )
        history = await _return_fails(temporal_client, queue, req)

    assert activity_types(history) == [
        "return.assess",
        "return.claim",
        "return.store_credit",
        "return.release",
    ]
    _assert_nothing_stays(db, sale, req_id, sku, stock)
