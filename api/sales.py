"""Starting and answering sales: update-with-start on the Sale workflow, replays from the database."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.errors import ApiError, domain_error_from_type
from db.repositories import orders
from db.repositories.catalog import TillView
from db.session import Database
from tillflow.temporal import SEARCH_ATTRIBUTE_KEYS
from workflows.contracts import SALES_TASK_QUEUE, SaleRequest, SaleResult
from workflows.sale import SaleWorkflow

_STORE, _TILL, _CHANNEL, _ORDER = SEARCH_ATTRIBUTE_KEYS


def stored_sale(db: Database, workflow_id: str) -> dict[str, Any] | None:
    """A sale already recorded under this workflow id, shaped like the live answer."""
    with db.unit_of_work() as s:
        order = orders.order_by_workflow(s, workflow_id)
        if order is None or order.status != "completed":
            return None
        lines = orders.order_lines(s, order.id)
        pays = [p for p in orders.payments_for(s, workflow_id) if p.status != "voided"]
        return {
            "sale_id": order.number,
            "workflow_id": order.workflow_id,
            "status": order.status,
            "currency": order.currency,
            "lines": [
                {k: getattr(ln, k) for k in ("line_no", "sku", "name", "quantity", "unit_price", "net",
                                             "tax", "gross", "tax_code", "tax_rate_bp")}
                for ln in lines
            ],
            "subtotal": order.subtotal,
            "tax_total": order.tax_total,
            "total": order.total,
            "tenders": [
                {"kind": p.tender, "amount": p.amount, "tendered": p.tendered, "reference": p.provider_ref}
                for p in pays
            ],
            "change_due": order.change_due,
            "warnings": list(order.warnings or []),
            "sold_at": order.placed_at,
        }


def _as_body(result: SaleResult) -> dict[str, Any]:
    body = asdict(result)
    body.pop("error", None)
    return body


async def run_sale(client: Client, till: TillView, req: SaleRequest, workflow_id: str) -> dict[str, Any]:
    """Start the sale (or join the running one) and wait for its checkout answer."""
    start = WithStartWorkflowOperation(
        SaleWorkflow.run,
        req,
        id=workflow_id,
        task_queue=SALES_TASK_QUEUE,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        # A refused sale (failed workflow) may be tried again with the same client id.
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        search_attributes=TypedSearchAttributes([
            SearchAttributePair(_STORE, till.location_code),
            SearchAttributePair(_TILL, till.till_code),
            SearchAttributePair(_CHANNEL, "store"),
            SearchAttributePair(_ORDER, workflow_id),
        ]),
    )
    try:
        result = await client.execute_update_with_start_workflow(
            SaleWorkflow.checkout, start_workflow_operation=start
        )
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError):
            raise domain_error_from_type(cause.type, cause.message) from None
        raise
    except RPCError as err:
        # The workflow already closed (completed earlier): the database has the answer.
        if err.status in (RPCStatusCode.ALREADY_EXISTS, RPCStatusCode.FAILED_PRECONDITION,
                          RPCStatusCode.NOT_FOUND):
            raise ApiError(409, "sale_closed", "This sale is already closed.") from err
        raise
    return _as_body(result)
