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
