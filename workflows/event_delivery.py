"""EventDelivery (one per subscription, `events:{subscription}`): forever, take the next outbox
events, deliver them signed (one entity's events in order, entities side by side), retry each with
exponential backoff for the retry window, then dead-letter it; replay dead letters when asked;
continues as new."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from activities.event_delivery import EventDeliveryActivities
    from contracts.events import (
        EVENT_DELIVERY_WORKFLOW,
        REPLAY_SIGNAL,
        STATUS_QUERY,
        AdvanceCursor,
        DeadLetter,
        DeliverEvent,
        DeliveryOutcome,
        EventBatch,
        EventDeliveryRequest,
        EventDeliveryStatus,
        EventWait,
        PendingEvent,
        ReplayAsked,
    )
    from domain.events import backoff_s

WAIT: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=120),
    "heartbeat_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=10)),
    "cancellation_type": ActivityCancellationType.TRY_CANCEL,
}
# A receiver's refusal is an outcome (the workflow's backoff decides); the activity itself retries
# only when the database or worker failed it.
SEND: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=60),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=30), maximum_attempts=10),
}
BOOK: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=30)),
}


@workflow.defn(name=EVENT_DELIVERY_WORKFLOW)
class EventDeliveryWorkflow:
    """One subscription's receiver: every event it wants, at least once, signed."""

    def __init__(self) -> None:
        self._replays: list[int] = []
        self._status = EventDeliveryStatus()

    @workflow.run
    async def run(self, req: EventDeliveryRequest) -> None:
        self._status = replace(self._status, subscription=req.subscription)
        self._replays.extend(i for i in req.replays if i not in self._replays)
        for _ in range(req.rounds_before_new_run):
            if self._replays:
                await self._replay(req)
                continue
            batch = await self._wait(req)
            if batch is None:
                continue
            if not batch.active:
                return  # deleted or switched off: switching on starts a new run
            if batch.events:  # (an empty batch: the wait moved the cursor past other types)
                await self._deliver_batch(req, batch)
                await workflow.execute_activity_method(
                    EventDeliveryActivities.advance,
                    AdvanceCursor(subscription=req.subscription, upto_id=batch.upto_id),
                    **BOOK,
                )
            if workflow.info().is_continue_as_new_suggested():
                break
        workflow.continue_as_new(replace(req, replays=tuple(self._replays)))

    async def _wait(self, req: EventDeliveryRequest) -> EventBatch | None:
        """The next batch; None when a replay cut the wait short."""
        handle = workflow.start_activity_method(
            EventDeliveryActivities.wait,
            EventWait(
                subscription=req.subscription,
                batch_size=req.batch_size,
                poll_ms=req.poll_ms,
                wait_s=req.wait_s,
            ),
            **WAIT,
        )
        await workflow.wait_condition(lambda: handle.done() or bool(self._replays))
        if not handle.done():
            handle.cancel()
        try:
            return await handle
        except (ActivityError, asyncio.CancelledError):
            return None

    async def _deliver_batch(self, req: EventDeliveryRequest, batch: EventBatch) -> None:
        chains: dict[str, list[PendingEvent]] = {}
        for ev in batch.events:
            chains.setdefault(ev.entity, []).append(ev)
        await asyncio.gather(*(self._deliver_chain(req, chain) for chain in chains.values()))

    async def _deliver_chain(self, req: EventDeliveryRequest, chain: list[PendingEvent]) -> None:
        """One entity's events, strictly one after the other."""
        for ev in chain:
            await self._deliver_with_retries(req, ev.outbox_id)

    async def _send(
        self, req: EventDeliveryRequest, outbox_id: int, attempt: int, *, replay: bool
    ) -> DeliveryOutcome:
        try:
            return await workflow.execute_activity_method(
                EventDeliveryActivities.deliver,
                DeliverEvent(
                    subscription=req.subscription,
                    outbox_id=outbox_id,
                    attempt=attempt,
                    replay=replay,
                ),
                **SEND,
            )
        except ActivityError as err:
            return DeliveryOutcome(ok=False, error=str(err.cause or err)[:500])

    async def _deliver_with_retries(self, req: EventDeliveryRequest, outbox_id: int) -> None:
        first = workflow.now()
        attempt = 0
        while True:
            attempt += 1
            outcome = await self._send(req, outbox_id, attempt, replay=False)
            if outcome.ok or outcome.gone:
                if outcome.ok:
                    self._status = replace(self._status, delivered=self._status.delivered + 1)
                return
            self._status = replace(
                self._status,
                failed_attempts=self._status.failed_attempts + 1,
                last_error=outcome.error,
            )
            wait = backoff_s(attempt, initial_s=req.initial_backoff_s, cap_s=req.max_backoff_s)
            elapsed = (workflow.now() - first).total_seconds()
            if elapsed + wait > req.retry_window_s:
                await self._dead_letter(req, outbox_id, attempt, outcome)
                return
            await workflow.sleep(timedelta(seconds=wait))

    async def _dead_letter(
        self, req: EventDeliveryRequest, outbox_id: int, attempts: int, outcome: DeliveryOutcome
    ) -> None:
        await workflow.execute_activity_method(
            EventDeliveryActivities.dead_letter,
            DeadLetter(
                subscription=req.subscription,
                outbox_id=outbox_id,
                attempts=attempts,
                status=outcome.status,
                error=outcome.error,
            ),
            **BOOK,
        )
        self._status = replace(self._status, dead_lettered=self._status.dead_lettered + 1)

    async def _replay(self, req: EventDeliveryRequest) -> None:
        """Each dead letter asked for, once, oldest first; a failure stays on the list."""
        ids, self._replays = sorted(self._replays), []
        for outbox_id in ids:
            outcome = await self._send(req, outbox_id, 1, replay=True)
            if outcome.ok:
                self._status = replace(self._status, replayed=self._status.replayed + 1)
            elif not outcome.gone:
                await self._dead_letter(req, outbox_id, 1, outcome)

    @workflow.signal(name=REPLAY_SIGNAL)
    def replay(self, asked: ReplayAsked) -> None:
        """Send these dead letters again, next."""
        self._replays.extend(i for i in asked.outbox_ids if i not in self._replays)

    @workflow.query(name=STATUS_QUERY)
    def status(self) -> EventDeliveryStatus:
        """Events delivered, failed attempts, dead letters and replays in this run."""
        return self._status
