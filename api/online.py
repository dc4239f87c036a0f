"""Starting and steering the web-store link's workflows from the API (it never writes their state)."""

from __future__ import annotations

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
from tillflow.temporal import SEARCH_ATTRIBUTE_KEYS
from workflows.cart import CartWorkflow
from workflows.online_contracts import (
    CartLineChange,
    CartRequest,
    CartState,
    CheckoutAnswer,
    OnlineOrderRequest,
    WebStoreEvent,
    cart_workflow_id,
)
from workflows.online_order import OnlineOrderWorkflow

_STORE, _TILL, _CHANNEL, _ORDER = SEARCH_ATTRIBUTE_KEYS
_CLOSED = (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION, RPCStatusCode.ALREADY_EXISTS)


def _attributes(store: str, channel: str, order: str) -> TypedSearchAttributes:
    return TypedSearchAttributes(
        [
            SearchAttributePair(_STORE, store),
            SearchAttributePair(_CHANNEL, channel),
            SearchAttributePair(_ORDER, order),
        ]
    )


def _business(err: WorkflowUpdateFailedError) -> Exception:
    cause = err.cause
    if isinstance(cause, ApplicationError):
        return domain_error_from_type(cause.type, cause.message)
    return err


async def hand_over(
    client: Client, workflow_id: str, req: OnlineOrderRequest, event: WebStoreEvent, task_queue: str
) -> str:
    """Signal-with-start the order: a new order starts, a running one hears the event.

    Returns "signalled", or "closed" when the order's workflow has ended (the delivery is kept
    in the inbox for reconciliation).
    """
    try:
        await client.start_workflow(
            OnlineOrderWorkflow.run,
            req,
            id=workflow_id,
            task_queue=task_queue,
            # A finished order is never started again by a late delivery.
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            start_signal="web_store_event",
            start_signal_args=[event],
            search_attributes=_attributes(req.store_code, req.source, workflow_id),
        )
    except WorkflowAlreadyStartedError:
        return "closed"
    return "signalled"


async def checkout_order(
    client: Client, workflow_id: str, req: OnlineOrderRequest, task_queue: str
) -> CheckoutAnswer:
    """Update-with-start the order's `checkout`: a retry joins the same order."""
    start = WithStartWorkflowOperation(
        OnlineOrderWorkflow.run,
        req,
        id=workflow_id,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        search_attributes=_attributes(req.store_code, "web", workflow_id),
    )
    try:
        return await client.execute_update_with_start_workflow(
            OnlineOrderWorkflow.checkout, start_workflow_operation=start
        )
    except WorkflowUpdateFailedError as err:
        raise _business(err) from None
    except RPCError as err:
        if err.status in _CLOSED:
            raise ApiError(
                409,
                "order_closed",
                "This order has already been placed; see GET /storefront/orders.",
            ) from err
        raise


async def open_cart(client: Client, req: CartRequest, task_queue: str) -> CartState:
    """Update-with-start a new cart; answers once the cart exists."""
    start = WithStartWorkflowOperation(
        CartWorkflow.run,
        req,
        id=cart_workflow_id(req.cart_id),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        search_attributes=_attributes(req.store_code, "web", cart_workflow_id(req.cart_id)),
    )
    return await client.execute_update_with_start_workflow(
        CartWorkflow.snapshot, start_workflow_operation=start
    )


async def steer_cart(client: Client, cart_id: str, change: CartLineChange | None) -> CartState:
    """Change a line (change given) or check the cart out (None)."""
    handle = client.get_workflow_handle(cart_workflow_id(cart_id), result_type=CartState)
    try:
        if change is None:
            return await handle.execute_update(CartWorkflow.checkout)
        return await handle.execute_update(CartWorkflow.change, change)
    except WorkflowUpdateFailedError as err:
        raise _business(err) from None
    except RPCError as err:
        if err.status in _CLOSED:
            raise ApiError(
                409, "cart_closed", "This cart has expired or is closed; start a new one."
            ) from err
        raise


async def signal_retry(client: Client, workflow_id: str) -> bool:
    """Ask an order waiting in the exception queue to map and route again; False when it has ended."""
    try:
        await client.get_workflow_handle(workflow_id).signal(OnlineOrderWorkflow.retry)
    except RPCError as err:
        if err.status in _CLOSED:
            return False
        raise
    return True


def describe(answer: Any) -> dict[str, Any]:
    """A CheckoutAnswer as the storefront's JSON."""
    return {
        "order_number": answer.order_number,
        "workflow_id": answer.workflow_id,
        "status": answer.status,
        "currency": answer.currency,
        "total": answer.total,
        "payment_intent": answer.payment_intent,
        "client_secret": answer.client_secret,
        "payment_status": answer.payment_status,
        "lines": [
            {"sku": ln.sku, "quantity": ln.quantity, "location": ln.location_code}
            for ln in answer.lines
        ],
        "message": answer.message,
    }
