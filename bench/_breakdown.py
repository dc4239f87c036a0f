"""Where a checkout's time goes, read from each workflow's history next to the client's own clock.

Server event times and the client's time.time() come from the same machine clock.
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from _tills import SaleTiming
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client

PHASES = ("to_start", "dispatch", "worker", "answer")
PHASE_HELP = {
    "to_start": "request sent -> WorkflowExecutionStarted (API work before the start + start RPC)",
    "dispatch": "started -> first workflow task handed to a worker (transfer queue, matching)",
    "worker": "first workflow task started -> task carrying the answer completed (sandbox, LAs)",
    "answer": "answer recorded in history -> client has it (update/result path, API work after)",
}
ANSWER_EVENTS = (
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
)


@dataclass(frozen=True)
class Phases:
    """Seconds spent in each phase of one checkout."""

    to_start: float
    dispatch: float
    worker: float
    answer: float


def _at(event: HistoryEvent) -> float:
    return event.event_time.seconds + event.event_time.nanos / 1e9


def _first(events: Sequence[HistoryEvent], kind: int) -> int:
    return next(i for i, e in enumerate(events) if e.event_type == kind)


def phases_of(events: Sequence[HistoryEvent], timing: SaleTiming) -> Phases:
    """Split one checkout into the four phases using its history."""
    started = _at(events[0])
    first_task = _at(events[_first(events, EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED)])
    answer_idx = next(i for i, e in enumerate(events) if e.event_type in ANSWER_EVENTS)
    answered = _at(events[answer_idx])
    return Phases(
        to_start=started - timing.sent_at,
        dispatch=first_task - started,
        worker=answered - first_task,
        answer=timing.received_at - answered,
    )


async def breakdown(
    client: Client, timings: Sequence[SaleTiming], parallel: int = 8
) -> list[Phases]:
    """Phases of every checkout in `timings`, fetching histories a few at a time."""
    gate = asyncio.Semaphore(parallel)

    async def one(t: SaleTiming) -> Phases:
        async with gate:
            history = await client.get_workflow_handle(t.workflow_id).fetch_history()
        return phases_of(list(history.events), t)

    return list(await asyncio.gather(*(one(t) for t in timings)))


def median_phases(all_phases: Sequence[Phases]) -> dict[str, float]:
    """Median seconds of each phase."""
    return {p: statistics.median(getattr(x, p) for x in all_phases) for p in PHASES}


# ---- what a workflow costs on Temporal Cloud (issue 21) -----------------------------------

LOCAL_ACTIVITY_MARKER = "core_local_activity"  # the SDK core's marker name for a local activity
# Billable actions by history event, as Temporal Cloud counts them
# (https://docs.temporal.io/evaluate/cloud/actions): a workflow start; every successful update
# (a rejected one is billed too, but leaves no event); each activity attempt (started or
# retried); all local activities of one workflow task together as one; each timer; each signal
# received or sent; a child workflow start as two; each search-attribute upsert. Heartbeats that
# reach the server and queries are billed but leave no event (the device step heartbeats only
# after 2 s; the bench sends no query).
ACTION_EVENTS: dict[int, int] = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED: 1,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED: 1,
    EventType.EVENT_TYPE_TIMER_STARTED: 1,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: 1,
    EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: 1,
    EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED: 2,
    EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: 1,
}
# The floor shape of a cash sale: start, one local-activity marker, the answer (update),
# the device step, completion: its events, and its actions (start, the update, one local-activity
# workflow task, one activity attempt).
FLOOR_SHAPE_EVENTS = (
    "WorkflowExecutionStarted, WorkflowTaskScheduled, WorkflowTaskStarted, WorkflowTaskCompleted, "
    "WorkflowExecutionUpdateAccepted, MarkerRecorded (local activity), "
    "WorkflowExecutionUpdateCompleted, ActivityTaskScheduled, ActivityTaskStarted, "
    "ActivityTaskCompleted, WorkflowTaskScheduled, WorkflowTaskStarted, WorkflowTaskCompleted, "
    "WorkflowExecutionCompleted"
)
FLOOR_SHAPE_ACTIONS = 4


@dataclass(frozen=True)
class HistoryCost:
    """One workflow's history: its events, its billable actions, and what they were."""

    events: int
    actions: int
    workflow_tasks: int
    detail: dict[str, int]  # action kind -> actions
    sequence: tuple[str, ...] = ()  # the event types, in order


def _kind(event_type: int) -> str:
    return EventType.Name(event_type).removeprefix("EVENT_TYPE_").lower()  # type: ignore[arg-type]  # protobuf enum int


def history_cost(events: Sequence[HistoryEvent]) -> HistoryCost:
    """Events and Temporal Cloud actions of one history (see ACTION_EVENTS)."""
    detail: dict[str, int] = {}
    la_tasks: set[int] = set()
    tasks = 0
    for e in events:
        t = e.event_type
        if t == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            tasks += 1
        if t in ACTION_EVENTS:
            detail[_kind(t)] = detail.get(_kind(t), 0) + ACTION_EVENTS[t]
        elif t == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            attempts = max(1, e.activity_task_started_event_attributes.attempt)
            detail["activity attempt"] = detail.get("activity attempt", 0) + attempts
        elif (
            t == EventType.EVENT_TYPE_MARKER_RECORDED
            and e.marker_recorded_event_attributes.marker_name == LOCAL_ACTIVITY_MARKER
        ):
            la_tasks.add(e.marker_recorded_event_attributes.workflow_task_completed_event_id)
    if la_tasks:
        detail["local activities (per workflow task)"] = len(la_tasks)
    sequence = tuple(_kind(e.event_type) for e in events)
    return HistoryCost(len(events), sum(detail.values()), tasks, detail, sequence)


async def history_costs(client: Client, workflow_ids: Sequence[str]) -> list[HistoryCost]:
    """`history_cost` of each workflow, fetched one after the other."""
    out = []
    for wf in workflow_ids:
        history = await client.get_workflow_handle(wf).fetch_history()
        out.append(history_cost(list(history.events)))
    return out
