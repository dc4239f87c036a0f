"""Starting and steering sales: update-with-start on the Sale workflow, replays from the database."""

from __future__ import annotations

import contextlib
from dataclasses import asdict
from typing import Any

from temporalio.client import Client, WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.errors import ApiError, domain_error_from_type
from db.repositories import balances, orders
from db.repositories.catalog import TillView
from db.session import Database
from domain.errors import NotFound
from tillflow.temporal import SEARCH_ATTRIBUTE_KEYS
from workflows.contracts import SALES_TASK_QUEUE, AddTenders, SaleRequest, SaleResult
from workflows.sale import SaleWorkflow

_STORE, _TILL, _CHANNEL, _ORDER = SEARCH_ATTRIBUTE_KEYS
_LINE_FIELDS = (
    "line_no",
    "sku",
    "name",
    "quantity",
    "unit_price",
    "net",
    "tax",
    "gross",
    "tax_code",
    "tax_rate_bp",
)


def stored_sale(db: Database, workflow_id: str) -> dict[str, Any] | None:
    """A sale already recorded under this workflow id, shaped like the live answer."""
    with db.unit_of_work() as s:
        order = orders.order_by_workflow(s, workflow_id)
        if order is None or order.status != "completed":
            return None
        pays = [
            p for p in orders.payments_for(s, workflow_id) if p.status not in ("voided", "declined")
        ]
        cards = balances.gift_cards_loaded_by(s, workflow_id)
        return {
            "sale_id": order.number,
            "workflow_id": order.workflow_id,
            "status": order.status,
            "currency": order.currency,
            "lines": [
                {k: getattr(ln, k) for k in _LINE_FIELDS} for ln in orders.order_lines(s, order.id)
            ],
            "subtotal": order.subtotal,
            "tax_total": order.tax_total,
            "total": order.total,
            "tenders": [
                {
                    "kind": p.tender,
                    "amount": p.amount,
                    "tendered": p.tendered,
                    "reference": p.provider_ref,
                    "card_brand": p.card_brand,
                    "card_last4": p.card_last4,
                }
                for p in pays
            ],
            "change_due": order.change_due,
            "warnings": list(order.warnings or []),
            "sold_at": order.placed_at,
            "due": 0,
            "declines": [],
            "gift_cards": [
                {"code": c, "amount": d, "balance": balances.gift_card(s, c).balance}
                for c, d in cards
            ],
        }


def _as_body(result: SaleResult) -> dict[str, Any]:
    return asdict(result)


def _business(err: WorkflowUpdateFailedError) -> Exception:
    cause = err.cause
    if isinstance(cause, ApplicationError):
        return domain_error_from_type(cause.type, cause.message)
    return err


async def run_sale(
    client: Client, till: TillView, req: SaleRequest, workflow_id: str
) -> dict[str, Any]:
    """Start the sale (or join the running one) and wait for its checkout answer."""
    start = WithStartWorkflowOperation(
        SaleWorkflow.run,
        req,
        id=workflow_id,
        task_queue=SALES_TASK_QUEUE,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        # A refused sale (failed workflow) may be tried again with the same client id.
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(_STORE, till.location_code),
                SearchAttributePair(_TILL, till.till_code),
                SearchAttributePair(_CHANNEL, "store"),
                SearchAttributePair(_ORDER, workflow_id),
            ]
        ),
    )
    try:
        result = await client.execute_update_with_start_workflow(
            SaleWorkflow.checkout, start_workflow_operation=start
        )
    except WorkflowUpdateFailedError as err:
        raise _business(err) from None
    except WorkflowAlreadyStartedError as err:
        # The workflow already closed (completed earlier): the database has the answer.
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await start.workflow_handle()  # collect the start's own copy of the error
        raise ApiError(409, "sale_closed", "This sale is already closed.") from err
    except RPCError as err:
        if err.status in (
            RPCStatusCode.ALREADY_EXISTS,
            RPCStatusCode.FAILED_PRECONDITION,
            RPCStatusCode.NOT_FOUND,
        ):
            raise ApiError(409, "sale_closed", "This sale is already closed.") from err
        raise
    return _as_body(result)


async def steer_sale(client: Client, workflow_id: str, more: AddTenders | None) -> dict[str, Any]:
    """Add tenders to an open sale (more given) or abandon it (more None)."""
    handle = client.get_workflow_handle_for(SaleWorkflow.run, workflow_id)
    try:
        if more is None:
            result = await handle.execute_update(SaleWorkflow.abandon)
        else:
            result = await handle.execute_update(SaleWorkflow.add_tenders, more)
    except WorkflowUpdateFailedError as err:
        raise _business(err) from None
    except RPCError as err:
        if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            raise NotFound("There is no open sale with this id at this till.") from err
        raise
    return _as_body(result)
