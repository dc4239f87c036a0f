"""Reading a workflow's history the way ops see it in the Temporal UI."""

from __future__ import annotations

import json

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode


def activity_types(history: WorkflowHistory) -> list[str]:
    """Local activities (markers) and regular activities (scheduled events) in history order."""
    out = []
    for event in history.events:
        marker = event.marker_recorded_event_attributes
        if (
            event.HasField("marker_recorded_event_attributes")
            and marker.marker_name == "core_local_activity"
        ):
            data = marker.details["data"].payloads[0].data
            out.append(json.loads(data)["activity_type"])
        elif event.HasField("activity_task_scheduled_event_attributes"):
            out.append(event.activity_task_scheduled_event_attributes.activity_type.name)
    return out


async def is_running(client: Client, workflow_id: str) -> bool:
    """True once `workflow_id` has started and is still running (False before it exists)."""
    try:
        described = await client.get_workflow_handle(workflow_id).describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return described.status == WorkflowExecutionStatus.RUNNING
