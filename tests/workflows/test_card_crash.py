"""A card activity that dies between Stripe's answer and our own write: one PaymentIntent, one
capture."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from temporalio.client import WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

from activities.tenders import TenderActivities
from contracts.sale import BasketLine, SaleMoney, SaleRequest, TenderIn, sale_workflow_id
from db.models import Payment
from integrations.payments import Intent
from tillflow.adapters import reader_factory
from tillflow.workers import sale_activities, sales_worker
from workflows.sale import SaleWorkflow


class CountingGateway:
    """The real Stripe gateway, counting the calls that must happen once."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]  # wraps any gateway
        self.inner = inner
        self.creates = 0
        self.captures = 0

    def create_intent(self, **kwargs):  # type: ignore[no-untyped-def]  # passes kwargs through
        self.creates += 1
        return self.inner.create_intent(**kwargs)

    def capture(self, intent_id, **kwargs):  # type: ignore[no-untyped-def]  # passes kwargs through
        self.captures += 1
        return self.inner.capture(intent_id, **kwargs)

    def __getattr__(self, name):  # type: ignore[no-untyped-def]  # delegates to the wrapped gateway
        return getattr(self.inner, name)


class CrashOnce(TenderActivities):
    crashed = 0

    def after_intent_created(self, intent: Intent) -> None:
        if not self.crashed:
            self.crashed += 1
            raise RuntimeError("worker killed after Stripe created the intent, before our write")


async def test_retry_after_crash_makes_one_intent_and_one_capture(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db, temporal_client, gateway
) -> None:
    counting = CountingGateway(gateway)
    tenders = CrashOnce(db, counting, reader_factory(db, gateway))
    queue = f"sales-crash-{uuid.uuid4().hex[:6]}"
    worker = sales_worker(
        temporal_client,
        db,
        gateway,
        activities=sale_activities(db, gateway, tenders),
        task_queue=queue,
    )
    client_id = uuid.uuid4().hex[:12]
    wf_id = sale_workflow_id("BER2", client_id)
    req = SaleRequest(
        till_code="BER2",
        client_sale_id=client_id,
        cashier_id=1,
        lines=(BasketLine(sku="PEN-BRASS", quantity=1),),
        tenders=(TenderIn(kind="card", amount=3900, simulate="pm_card_visa"),),
    )
    async with worker:
        result = await temporal_client.execute_update_with_start_workflow(
            SaleWorkflow.checkout,
            start_workflow_operation=WithStartWorkflowOperation(
                SaleWorkflow.run,
                req,
                id=wf_id,
                task_queue=queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            ),
        )
        history = await temporal_client.get_workflow_handle(wf_id).fetch_history()
    assert result.status == "completed"
    assert tenders.crashed == 1
    started = [e for e in history.events if e.HasField("activity_task_started_event_attributes")]
    assert any(
        e.activity_task_started_event_attributes.attempt == 2 for e in started
    )  # it was retried

    key = f"{wf_id}:tender:1"
    assert counting.creates == 1 and counting.captures == 1
    matching = [
        pi
        for pi in gateway.client.v1.payment_intents.list({"limit": 100}).data
        if (pi.to_dict().get("metadata") or {}).get("tillflow_key") == key
    ]
    assert len(matching) == 1 and matching[0].status == "succeeded"
    with db.unit_of_work() as s:
        rows = s.scalars(select(Payment).where(Payment.workflow_id == wf_id)).all()
        assert [(p.status, p.provider_ref) for p in rows] == [("captured", matching[0].id)]
    # Capturing again (a retried capture step) changes nothing.
    assert tenders.capture_cards(SaleMoney(workflow_id=wf_id)) == 0 and counting.captures == 1
