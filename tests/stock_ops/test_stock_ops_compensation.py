"""The stock-operation sagas when a later step fails for good (issue 12): GoodsReceipt,
StockAdjustment and ReorderDraft undo what their earlier steps wrote, newest first, each
compensation an activity of its own in the workflow's history, and the database shows it undone.

Each runs on a private queue with a worker whose one step is broken: the receipt's settle fails
outright; the adjustment's finish and the reorder's draft do their real work, then fail, as a step
whose answer was lost would."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from helpers.history import activity_types
from helpers.stock import assert_ledger_balanced, ledger_sum, location_id, on_hand
from sqlalchemy import select
from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

from activities.stock_ops import StockOpsActivities, stock_ops_activities
from contracts.errors import to_failure
from contracts.stock import (
    AdjustmentDecision,
    AdjustmentLineIn,
    AdjustmentRequest,
    DraftCmd,
    ReceiptCmd,
    ReceiptLineIn,
    ReceiptRequest,
    ReceiptResult,
    ReorderRequest,
    adjustment_workflow_id,
    receipt_workflow_id,
    receive_goods,
    run_reorder,
    submit_adjustment,
)
from db.models import StockMovement
from db.repositories import purchasing, stock_ops
from db.session import Database
from domain.errors import Conflict
from tillflow.workers import sandbox_runner
from workflows.adjustment import StockAdjustmentWorkflow
from workflows.goods_receipt import GoodsReceiptWorkflow
from workflows.reorder import ReorderDraftWorkflow


def _lost(step: str) -> BaseException:
    """What the broken step raises after doing its work (a business error, so it is not retried)."""
    return to_failure(Conflict(f"{step}: the answer was lost.", code="test_step_lost"))


@contextlib.asynccontextmanager
async def broken_worker(
    client: Client, db: Database, name: str, broken: Callable[..., Any]
) -> AsyncIterator[str]:
    """A private queue whose worker runs the stock-operation workflows with the activity `name`
    replaced by `broken`."""
    method = name.removeprefix("stock.")
    acts = [a for a in stock_ops_activities(db) if getattr(a, "__name__", "") != method]
    assert len(acts) == len(stock_ops_activities(db)) - 1
    queue = f"stock-ops-broken-{uuid.uuid4().hex[:8]}"
    worker = Worker(
        client,
        task_queue=queue,
        workflows=[GoodsReceiptWorkflow, StockAdjustmentWorkflow, ReorderDraftWorkflow],
        activities=[*acts, broken],
        activity_executor=ThreadPoolExecutor(max_workers=4),
        workflow_runner=sandbox_runner(),
    )
    async with worker:
        yield queue


def _reasons(db: Database, sku: str) -> list[str]:
    with db.unit_of_work() as s:
        return list(
            s.scalars(
                select(StockMovement.reason)
                .where(StockMovement.sku == sku)
                .order_by(StockMovement.id)
            )
        )


async def test_a_receipt_whose_settle_fails_is_unstocked_then_voided(
    temporal_client: Client, kit: Any
) -> None:
    db: Database = kit.db
    sku = kit.sku(cost=200)
    kit.stock("BER", sku, 4)
    receipt_id = f"GR-{uuid.uuid4().hex[:10]}"
    req = ReceiptRequest(
        receipt_id=receipt_id,
        location_id=location_id(db, "BER"),
        location_code="BER",
        lines=(ReceiptLineIn(sku=sku, quantity=6, unit_cost=150),),
    )

    @activity.defn(name="stock.receipt_settle")
    def settle(cmd: ReceiptCmd) -> ReceiptResult:
        raise _lost("stock.receipt_settle")

    async with broken_worker(temporal_client, db, "stock.receipt_settle", settle) as queue:
        with pytest.raises(Conflict) as refused:
            await receive_goods(temporal_client, req, task_queue=queue)
    assert refused.value.code == "test_step_lost"

    history = await temporal_client.get_workflow_handle(
        receipt_workflow_id("BER", receipt_id)
    ).fetch_history()
    assert activity_types(history) == [
        "stock.receipt_plan",
        "stock.receipt_record",
        "stock.receipt_stock",
        "stock.receipt_settle",
        "stock.receipt_unstock",  # newest first
        "stock.receipt_void",
    ]
    # The goods came off the shelf again and the delivery is forgotten (its id can be used again).
    assert on_hand(db, "BER", sku) == 4 == ledger_sum(db, "BER", sku)
    assert _reasons(db, sku) == ["opening_balance", "receipt", "receipt_reversal"]
    with db.unit_of_work() as s:
        assert stock_ops.receipt_by_id(s, receipt_id) is None
    assert_ledger_balanced(db)


async def test_an_adjustment_whose_last_step_fails_is_reverted(
    temporal_client: Client, kit: Any
) -> None:
    db: Database = kit.db
    sku = kit.sku(cost=100)
    kit.stock("BER", sku, 9)
    adjustment_id = f"ADJ-{uuid.uuid4().hex[:10]}"
    req = AdjustmentRequest(
        adjustment_id=adjustment_id,
        location_id=location_id(db, "BER"),
        location_code="BER",
        kind="adjustment",
        reason="damage",
        lines=(AdjustmentLineIn(sku=sku, delta=-3),),
        requested_by=None,
        threshold_units=10,
        threshold_value=100_000,
        approval_timeout_s=3600,
    )
    real = StockOpsActivities(db)

    @activity.defn(name="stock.adjust_finish")
    def finish(d: AdjustmentDecision) -> None:
        real.adjust_finish(d)
        if d.status == "applied":
            raise _lost("stock.adjust_finish")

    async with broken_worker(temporal_client, db, "stock.adjust_finish", finish) as queue:
        with pytest.raises(Conflict) as refused:
            await submit_adjustment(temporal_client, req, task_queue=queue)
    assert refused.value.code == "test_step_lost"

    history = await temporal_client.get_workflow_handle(
        adjustment_workflow_id("BER", adjustment_id)
    ).fetch_history()
    assert activity_types(history) == [
        "stock.adjust_assess",
        "stock.adjust_apply",
        "stock.adjust_finish",
        "stock.adjust_revert",
    ]
    assert on_hand(db, "BER", sku) == 9 == ledger_sum(db, "BER", sku)
    assert _reasons(db, sku) == ["opening_balance", "adjustment:damage", "adjustment_reversal"]
    with db.unit_of_work() as s:
        row = stock_ops.adjustment_by_id(s, adjustment_id)
        assert row is not None and row.status == "rejected"
    assert_ledger_balanced(db)


async def test_a_reorder_run_whose_last_draft_fails_discards_every_draft(
    temporal_client: Client, kit: Any
) -> None:
    db: Database = kit.db
    first, last = kit.sku(), kit.sku()
    codes = []
    for sku in (first, last):
        code = f"SUP-{uuid.uuid4().hex[:6]}"
        codes.append(code)
        headers = {**kit.staff.manager, **kit.key()}
        r = await kit.api.post(
            "/purchasing/suppliers",
            json={"code": code, "name": "Comp Co", "currency": "EUR", "lead_time_days": 2},
            headers=headers,
        )
        assert r.status_code == 201, r.text
        r = await kit.api.put(
            f"/purchasing/suppliers/{code}/items/{sku}",
            json={"unit_cost": 100, "pack_size": 1, "preferred": True},
            headers={**kit.staff.manager, **kit.key()},
        )
        assert r.status_code == 200, r.text
        kit.stock("BER", sku, 1)
        r = await kit.api.put(
            f"/stock/reorder-points/BER/{sku}",
            json={"safety_stock": 0, "reorder_min": 5, "reorder_max": 10},
            headers={**kit.staff.manager, **kit.key()},
        )
        assert r.status_code == 200, r.text
    with db.unit_of_work() as s:
        newest = purchasing.supplier_by_code(s, codes[-1])
        assert newest is not None
        last_supplier = newest.id  # its draft is the last a run makes (they go by supplier id)
    real = StockOpsActivities(db)

    @activity.defn(name="stock.reorder_draft")
    def draft(cmd: DraftCmd) -> str:
        number = real.reorder_draft(cmd)  # made, then its answer is lost
        if cmd.supplier_id == last_supplier:
            raise _lost("stock.reorder_draft")
        return number

    run = f"reorder:comp-{uuid.uuid4().hex[:8]}"
    async with broken_worker(temporal_client, db, "stock.reorder_draft", draft) as queue:
        with pytest.raises(Conflict) as refused:
            await run_reorder(
                temporal_client,
                ReorderRequest(location_codes=("BER",)),
                workflow_id=run,
                task_queue=queue,
            )
    assert refused.value.code == "test_step_lost"

    history = await temporal_client.get_workflow_handle(run).fetch_history()
    types = activity_types(history)
    drafts = types.count("stock.reorder_draft")
    assert drafts >= 2  # the first supplier's draft was made; the last one's failed
    assert types == [
        "stock.reorder_suggest",
        *["stock.reorder_draft"] * drafts,
        "stock.reorder_discard",
    ]
    with db.unit_of_work() as s:
        assert purchasing.orders_of_run(s, run) == []
    r = await kit.api.get("/stock/reorder-suggestions?location=BER", headers=kit.staff.manager)
    assert {first, last} <= {sg["sku"] for sg in r.json()}  # nothing is on order for them
