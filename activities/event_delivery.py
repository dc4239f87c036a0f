"""EventDelivery's activities: wait for outbox events, send one signed, dead-letter, advance.

A send loads the URL, the valid secrets and the body from the database at send time (neither the
secrets nor the body enter the workflow history) and signs `t.body` with each secret. A receiver's
refusal or a network failure is an outcome (the workflow decides when to try again), not an
activity failure.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from temporalio import activity

from contracts.errors import encode_errors
from contracts.events import (
    AdvanceCursor,
    DeadLetter,
    DeliverEvent,
    DeliveryOutcome,
    EventBatch,
    EventWait,
    PendingEvent,
)
from db.repositories import events as repo
from db.session import Database
from domain.events import SIGNATURE_HEADER, signature_header


@encode_errors
class EventDeliveryActivities:
    """Sends outbox events to one subscription's receiver."""

    def __init__(
        self, db: Database, *, timeout_s: float = 10.0, user_agent: str = "tillflow"
    ) -> None:
        self.db = db
        self.timeout_s = timeout_s
        self.user_agent = user_agent

    @activity.defn(name="events.wait")
    def wait(self, req: EventWait) -> EventBatch:
        """Block (heartbeating) until the outbox holds events after the cursor, or `wait_s`
        passes (then an empty batch)."""
        deadline = time.monotonic() + req.wait_s
        while True:
            with activity.shield_thread_cancel_exception(), self.db.unit_of_work() as s:
                batch = repo.pending(s, req.subscription, req.batch_size)
                if batch.active and not batch.events and batch.upto_id:
                    repo.advance(s, req.subscription, batch.upto_id)  # only unwanted types
            if not batch.active or batch.events or time.monotonic() >= deadline:
                return EventBatch(
                    active=batch.active,
                    events=tuple(
                        PendingEvent(outbox_id=e.outbox_id, entity=e.entity) for e in batch.events
                    ),
                    upto_id=batch.upto_id,
                )
            activity.heartbeat()
            time.sleep(req.poll_ms / 1000)

    @activity.defn(name="events.deliver")
    def deliver(self, req: DeliverEvent) -> DeliveryOutcome:
        """POST the event, signed; ok on a 2xx answer."""
        with self.db.unit_of_work() as s:
            found = repo.delivery(s, req.subscription, req.outbox_id)
        if found is None:
            return DeliveryOutcome(ok=False, gone=True, error="subscription or event gone")
        now = int(datetime.now(UTC).timestamp())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": self.user_agent,
            SIGNATURE_HEADER: signature_header(found.secrets, now, found.body),
            "Tillflow-Event-Id": found.event_id,
            "Tillflow-Event-Type": found.type,
            "Tillflow-Delivery-Attempt": str(req.attempt),
        }
        try:
            with httpx.Client(timeout=self.timeout_s, follow_redirects=False) as http:
                answer = http.post(found.url, content=found.body, headers=headers)
        except httpx.HTTPError as err:
            outcome = DeliveryOutcome(ok=False, error=f"{type(err).__name__}: {err}"[:500])
        else:
            ok = 200 <= answer.status_code < 300
            outcome = DeliveryOutcome(
                ok=ok,
                status=answer.status_code,
                error="" if ok else f"HTTP {answer.status_code}: {answer.text[:200]}",
            )
        with self.db.unit_of_work() as s:
            repo.record_outcome(s, req.subscription, ok=outcome.ok, error=outcome.error)
            if outcome.ok and req.replay:
                repo.mark_replayed(s, req.subscription, req.outbox_id)
        return outcome

    @activity.defn(name="events.dead_letter")
    def dead_letter(self, req: DeadLetter) -> None:
        """Put an event the receiver never took on the dead-letter list."""
        with self.db.unit_of_work() as s:
            repo.dead_letter(
                s,
                req.subscription,
                req.outbox_id,
                attempts=req.attempts,
                status=req.status,
                error=req.error,
            )

    @activity.defn(name="events.advance")
    def advance(self, req: AdvanceCursor) -> None:
        """Move the subscription's cursor past a delivered (or dead-lettered) batch."""
        with self.db.unit_of_work() as s:
            repo.advance(s, req.subscription, req.upto_id)


def event_delivery_activities(db: Database, timeout_s: float = 10.0) -> list[Callable[..., Any]]:
    """The activity callables a worker registers."""
    acts = EventDeliveryActivities(db, timeout_s=timeout_s)
    return [acts.wait, acts.deliver, acts.dead_letter, acts.advance]
