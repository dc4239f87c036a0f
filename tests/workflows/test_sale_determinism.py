"""The Sale workflow runs outside the sandbox for speed; this holds it to the sandbox's rules.

Every path of a sale (one-transaction cash, a card, a gift card with cash, an open sale that takes
another tender, an abandoned one, an offline replay) runs here inside the sandbox, which refuses
I/O, clocks, randomness and non-passthrough imports in workflow code. Their histories are then
replayed by the unsandboxed Sale that production runs: any divergence is a determinism failure.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.worker import Replayer

from contracts.sale import (
    CHECKOUT_UPDATE,
    AddTenders,
    BasketLine,
    SaleRequest,
    SaleResult,
    TenderIn,
    sale_workflow_id,
)
from db.repositories import balances
from tillflow.payloads import DATA_CONVERTER
from tillflow.workers import sales_worker
from workflows.sale import SaleWorkflow

LINES = (BasketLine(sku="KEYRING", quantity=1), BasketLine(sku="TEA-GREEN", quantity=2))


async def _checkout(client: Client, queue: str, req: SaleRequest) -> SaleResult:
    start = WithStartWorkflowOperation(
        SaleWorkflow.run,
        req,
        id=sale_workflow_id(req.till_code, req.client_sale_id),
        task_queue=queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    return await client.execute_update_with_start_workflow(
        CHECKOUT_UPDATE, start_workflow_operation=start, result_type=SaleResult
    )


def _sale(*tenders: TenderIn, offline: bool = False) -> SaleRequest:
    return SaleRequest(
        till_code="BER1",
        client_sale_id=uuid.uuid4().hex[:12],
        cashier_id=1,
        lines=LINES,
        tenders=tenders,
        sold_at=datetime.now(UTC) - timedelta(hours=1) if offline else None,
        offline=offline,
    )


async def test_every_sale_path_keeps_the_sandbox_rules_and_replays_outside_it(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db, temporal_client, gateway, device_printers
) -> None:
    queue = f"sales-sandboxed-{uuid.uuid4().hex[:6]}"
    with db.unit_of_work() as s:
        card = balances.issue_gift_card(
            s, amount=300, currency="EUR", key=f"test:{queue}", reference="test"
        ).code
    ids: list[str] = []
    async with sales_worker(temporal_client, db, gateway, task_queue=queue, sandbox_all=True):
        cash = await _checkout(temporal_client, queue, _sale(TenderIn(kind="cash", amount=10_000)))
        assert cash.status == "completed" and cash.change_due == 10_000 - cash.total
        ids.append(cash.workflow_id)

        mixed = await _checkout(
            temporal_client,
            queue,
            _sale(
                TenderIn(kind="gift_card", amount=300, reference=card),
                TenderIn(kind="cash", amount=10_000),
            ),
        )
        assert mixed.status == "completed" and [t.kind for t in mixed.tenders] == [
            "gift_card",
            "cash",
        ]
        ids.append(mixed.workflow_id)

        by_card = await _checkout(
            temporal_client,
            queue,
            _sale(TenderIn(kind="card", amount=cash.total, simulate="pm_card_visa")),
        )
        assert by_card.status == "completed", by_card.declines
        assert by_card.tenders[0].card_last4 == "4242"
        ids.append(by_card.workflow_id)

        short = await _checkout(temporal_client, queue, _sale(TenderIn(kind="cash", amount=100)))
        assert short.status == "open"
        handle = temporal_client.get_workflow_handle_for(SaleWorkflow.run, short.workflow_id)
        topped = await handle.execute_update(
            SaleWorkflow.add_tenders, AddTenders(tenders=(TenderIn(kind="cash", amount=short.due),))
        )
        assert topped.status == "completed"
        ids.append(short.workflow_id)

        walked = await _checkout(temporal_client, queue, _sale())
        assert walked.status == "open"
        handle = temporal_client.get_workflow_handle_for(SaleWorkflow.run, walked.workflow_id)
        assert (await handle.execute_update(SaleWorkflow.abandon)).status == "abandoned"
        ids.append(walked.workflow_id)

        offline = await _checkout(
            temporal_client, queue, _sale(TenderIn(kind="cash", amount=10_000), offline=True)
        )
        assert offline.status == "completed"
        ids.append(offline.workflow_id)

        for wf_id in ids:  # printed, drawer kicked, closed: whole histories
            await temporal_client.get_workflow_handle(wf_id).result()

    histories = [await temporal_client.get_workflow_handle(wf_id).fetch_history() for wf_id in ids]
    replayer = Replayer(
        workflows=[SaleWorkflow], data_converter=DATA_CONVERTER
    )  # unsandboxed, as in production
    for history in histories:
        assert (
            await replayer.replay_workflow(history, raise_on_replay_failure=False)
        ).replay_failure is None
