"""Outbound events (issue 19): EventDelivery, one per subscription (`events:{subscription}`), ids,
names, payloads and client helpers.

It waits for outbox events after the subscription's cursor, delivers them signed (events of one
entity one after the other, in order; entities side by side), retries a failed event with
exponential backoff for the retry window, then puts it on the dead-letter list and moves on. An
admin's replay is a signal (with start) carrying the dead letters to send again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from contracts.common import WEB_TASK_QUEUE

TASK_QUEUE = WEB_TASK_QUEUE
EVENT_DELIVERY_WORKFLOW = "EventDelivery"
REPLAY_SIGNAL = "replay"
STATUS_QUERY = "status"


def event_delivery_workflow_id(subscription: str) -> str:
    return f"events:{subscription}"


@dataclass(frozen=True, kw_only=True)
class EventDeliveryRequest:
    subscription: str
    batch_size: int = 100
    poll_ms: int = 1000
    wait_s: float = 20.0
    initial_backoff_s: float = 30.0
    max_backoff_s: float = 3600.0
    retry_window_s: float = 86400.0
    rounds_before_new_run: int = 200
    replays: tuple[int, ...] = ()  # outbox ids asked for again, carried over a continue-as-new


@dataclass(frozen=True, kw_only=True)
class ReplayAsked:
    outbox_ids: tuple[int, ...]
    requested_by: str = ""


@dataclass(frozen=True, kw_only=True)
class EventWait:
    subscription: str
    batch_size: int
    poll_ms: int
    wait_s: float


@dataclass(frozen=True, kw_only=True)
class PendingEvent:
    outbox_id: int
    entity: str


@dataclass(frozen=True, kw_only=True)
class EventBatch:
    """Events to deliver (oldest first); `upto_id`: the cursor once they are done; `active`
    False: the subscription is gone or switched off, stop."""

    active: bool = True
    events: tuple[PendingEvent, ...] = ()
    upto_id: int = 0


@dataclass(frozen=True, kw_only=True)
class DeliverEvent:
    subscription: str
    outbox_id: int
    attempt: int
    replay: bool = False


@dataclass(frozen=True, kw_only=True)
class DeliveryOutcome:
    ok: bool
    status: int = 0  # the receiver's HTTP status (0: no answer)
    error: str = ""
    gone: bool = False  # the subscription or event is gone: stop trying


@dataclass(frozen=True, kw_only=True)
class DeadLetter:
    subscription: str
    outbox_id: int
    attempts: int
    status: int
    error: str


@dataclass(frozen=True, kw_only=True)
class AdvanceCursor:
    subscription: str
    upto_id: int


@dataclass(frozen=True, kw_only=True)
class EventDeliveryStatus:
    subscription: str = ""
    delivered: int = 0
    failed_attempts: int = 0
    dead_lettered: int = 0
    replayed: int = 0
    last_error: str = ""


class EventSettings(Protocol):
    events_batch_size: int
    events_poll_ms: int
    events_wait_s: float
    events_initial_backoff_s: float
    events_max_backoff_s: float
    events_retry_window_hours: float


def delivery_request(settings: EventSettings, subscription: str) -> EventDeliveryRequest:
    return EventDeliveryRequest(
        subscription=subscription,
        batch_size=settings.events_batch_size,
        poll_ms=settings.events_poll_ms,
        wait_s=settings.events_wait_s,
        initial_backoff_s=settings.events_initial_backoff_s,
        max_backoff_s=settings.events_max_backoff_s,
        retry_window_s=settings.events_retry_window_hours * 3600,
    )


async def start_event_delivery(
    client: Client, req: EventDeliveryRequest, *, task_queue: str = TASK_QUEUE
) -> str:
    """Start the subscription's EventDelivery unless it runs; its workflow id."""
    handle = await client.start_workflow(
        EVENT_DELIVERY_WORKFLOW,
        req,
        id=event_delivery_workflow_id(req.subscription),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    return handle.id


async def start_event_deliveries(
    client: Client,
    subscriptions: Iterable[str],
    settings: EventSettings,
    *,
    task_queue: str = TASK_QUEUE,
) -> int:
    """One EventDelivery per active subscription (at worker start-up)."""
    n = 0
    for code in subscriptions:
        await start_event_delivery(client, delivery_request(settings, code), task_queue=task_queue)
        n += 1
    return n


async def request_replay(
    client: Client,
    req: EventDeliveryRequest,
    outbox_ids: tuple[int, ...],
    requested_by: str = "",
    *,
    task_queue: str = TASK_QUEUE,
) -> str:
    """Ask the subscription's EventDelivery to send these dead letters again (starting it if
    needed); its workflow id."""
    handle = await client.start_workflow(
        EVENT_DELIVERY_WORKFLOW,
        req,
        id=event_delivery_workflow_id(req.subscription),
        task_queue=task_queue,
        start_signal=REPLAY_SIGNAL,
        start_signal_args=[ReplayAsked(outbox_ids=outbox_ids, requested_by=requested_by)],
    )
    return handle.id
