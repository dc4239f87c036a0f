"""Task queues and search attributes shared by every subsystem's workflows."""

from __future__ import annotations

import contextlib
from typing import Any, TypeVar

from temporalio.client import (
    Client,
    Schedule,
    ScheduleAlreadyRunningError,
    ScheduleUpdate,
    ScheduleUpdateInput,
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
)
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from contracts.errors import decode

R = TypeVar("R")

SALES_TASK_QUEUE = "tillflow-sales"  # Sale, Return, OfflineReplay, Reprint (a worker in the API)
CENTRAL_TASK_QUEUE = "tillflow-central"
WEB_TASK_QUEUE = "tillflow-web"  # OnlineOrder, Cart, StockSync and their activities
FULFILMENT_TASK_QUEUE = "tillflow-fulfilment"  # Bopis and ShipFromStore (the fulfilment worker)

# Search attributes registered on the Temporal namespace so ops can filter in the UI.
SA_STORE = "TillflowStore"
SA_TILL = "TillflowTill"
SA_CHANNEL = "TillflowChannel"
SA_ORDER = "TillflowOrder"
SEARCH_ATTRIBUTES = (SA_STORE, SA_TILL, SA_CHANNEL, SA_ORDER)
STORE_KEY, TILL_KEY, CHANNEL_KEY, ORDER_KEY = (
    SearchAttributeKey.for_keyword(name) for name in SEARCH_ATTRIBUTES
)
SEARCH_ATTRIBUTE_KEYS = (STORE_KEY, TILL_KEY, CHANNEL_KEY, ORDER_KEY)


def search_attributes(
    *, store: str = "", till: str = "", channel: str = "", order: str = ""
) -> TypedSearchAttributes:
    """The attributes ops filter a workflow by in the Temporal UI; empty ones are left out."""
    values = zip(SEARCH_ATTRIBUTE_KEYS, (store, till, channel, order), strict=True)
    return TypedSearchAttributes([SearchAttributePair(k, v) for k, v in values if v])


class WorkflowClosed(Exception):
    """The workflow with this id has already closed: the caller answers from what it recorded."""


_CLOSED = (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION, RPCStatusCode.ALREADY_EXISTS)


async def update_with_start(
    client: Client,
    workflow: str,
    arg: Any,
    *,
    workflow_id: str,
    task_queue: str,
    update: str,
    result_type: type[R],
    run_result_type: type,
    id_reuse_policy: WorkflowIDReusePolicy,
    search: TypedSearchAttributes,
) -> R:
    """Start the workflow (or join the running one with this id) and wait for `update`'s answer.

    A business refusal comes back as its DomainError; a workflow that has already closed (the
    reuse policy forbids a new one) raises `WorkflowClosed`."""
    start: WithStartWorkflowOperation[Any, Any] = WithStartWorkflowOperation(
        workflow,
        arg,
        id=workflow_id,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=id_reuse_policy,
        search_attributes=search,
        result_type=run_result_type,
    )
    try:
        return await client.execute_update_with_start_workflow(
            update, start_workflow_operation=start, result_type=result_type
        )
    except WorkflowUpdateFailedError as err:
        raise decode(err) from None
    except WorkflowAlreadyStartedError as err:
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await start.workflow_handle()  # collect the start's own copy of the error
        raise WorkflowClosed(workflow_id) from err
    except RPCError as err:
        if err.status in _CLOSED:
            raise WorkflowClosed(workflow_id) from err
        raise


async def upsert_schedule(client: Client, schedule_id: str, schedule: Schedule) -> None:
    """Create the schedule, or give an existing one this spec and action again (a setting or a
    store's hours may have changed since it was made). Called at worker start-up."""
    with contextlib.suppress(ScheduleAlreadyRunningError):
        await client.create_schedule(schedule_id, schedule)
        return

    def update(_: ScheduleUpdateInput) -> ScheduleUpdate:
        return ScheduleUpdate(schedule=schedule)

    await client.get_schedule_handle(schedule_id).update(update)
