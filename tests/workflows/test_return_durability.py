"""Returns under failure: a worker killed right after the Stripe refund, and a manager who never
answers."""

from __future__ import annotations

import sys
import uuid
from datetime import timedelta
from pathlib import Path

from temporalio.client import WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.testing import WorkflowEnvironment

from activities.refunds import RefundActivities
from contracts.returns import ReturnLineIn, ReturnRequest, ReturnResult, return_workflow_id
from db.repositories import customers, orders
from domain.returns import ReturnPolicy
from tillflow.payloads import DATA_CONVERTER
from tillflow.workers import sale_activities, sales_worker
from workflows.returns import ReturnWorkflow


class CrashAfterStripeRefund(RefundActivities):
    crashed = 0

    def after_provider_refund(self, refund_id: str) -> None:
        if not self.crashed:
            self.crashed += 1
            raise RuntimeError(
                "worker killed after Stripe refunded, before the workflow recorded it"
            )


async def start_return(client, queue: str, req: ReturnRequest):  # type: ignore[no-untyped-def]  # Client not imported here
    return await client.execute_update_with_start_workflow(
        ReturnWorkflow.submit,
        start_workflow_operation=WithStartWorkflowOperation(
            ReturnWorkflow.run,
            req,
            id=return_workflow_id("BER", req.return_id),
            task_queue=queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        ),
    )


async def test_crash_after_refund_refunds_exactly_once(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, cashier, db, gateway, temporal_client
) -> None:
    sale = (
        await api.post(
            "/tills/BER1/sales",
            headers=cashier,
            json={
                "client_sale_id": uuid.uuid4().hex[:12],
                "lines": [{"sku": "SUNGLASSES", "quantity": 1}],
                "tenders": [{"kind": "card", "amount": 4900, "simulate": "pm_card_visa"}],
            },
        )
    ).json()
    refunds = CrashAfterStripeRefund(db, gateway)
    queue = f"returns-crash-{uuid.uuid4().hex[:6]}"
    worker = sales_worker(
        temporal_client,
        db,
        gateway,
        task_queue=queue,
        activities=sale_activities(db, gateway, refunds=refunds),
    )
    req = ReturnRequest(
        return_id=uuid.uuid4().hex[:10],
        till_code="BER1",
        cashier_id=1,
        sale_number=sale["sale_id"],
        lines=(ReturnLineIn(quantity=1, disposition="restock", line_no=1),),
    )
    async with worker:
        result = await start_return(temporal_client, queue, req)
    assert result.status == "completed" and refunds.crashed == 1
    intent = sale["tenders"][0]["reference"]
    assert [r.amount for r in gateway.list_refunds(intent)] == [4900]  # one refund, not two
    with db.unit_of_work() as s:
        rows = orders.refunds_for(s, sale["workflow_id"])
        assert [(r.amount, r.status) for r in rows] == [(4900, "succeeded")]
        assert rows[0].provider_ref == gateway.list_refunds(intent)[0].id


async def test_unanswered_approval_times_out_to_rejected(db, gateway) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    with db.unit_of_work() as s:
        customer = customers.create(s, name="Quiet", email=f"{uuid.uuid4().hex[:8]}@example.com").id
    server = str(Path(sys.executable).parent / "temporal-test-server")
    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=server, data_converter=DATA_CONVERTER
    ) as env:
        queue = "returns-timeout"
        policy = ReturnPolicy(receiptless_cap=1000)  # anything over 10.00 needs a manager
        async with sales_worker(env.client, db, gateway, task_queue=queue, policy=policy):
            req = ReturnRequest(
                return_id=uuid.uuid4().hex[:10],
                till_code="BER1",
                cashier_id=1,
                sale_number="",
                lines=(ReturnLineIn(quantity=1, disposition="restock", sku="APRON"),),
                refund_method="store_credit",
                customer_id=customer,
                approval_timeout_s=1800,
            )
            first = await start_return(env.client, queue, req)
            assert first.status == "awaiting_approval"
            return_handle = env.client.get_workflow_handle(
                return_workflow_id("BER", req.return_id), result_type=ReturnResult
            )
            await env.sleep(timedelta(minutes=31))  # skipped, not waited: the test server's clock
            final = await return_handle.result()
    assert final.status == "rejected" and "No manager decided in time" in final.message
    with db.unit_of_work() as s:
        from db.repositories import balances

        try:
            credit = balances.store_credit_account(s, customer).balance
        except Exception:  # noqa: BLE001 - no account at all is fine too
            credit = 0
    assert credit == 0
