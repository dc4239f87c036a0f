"""The Transfer saga: record and hold at the source (release) → pick (sellable → in transit) →
receive in one or more deliveries → close (shortages become a variance at the source).

Its one compensation, `transfer.release` (the hold at the source), is on workflows/saga.py: pushed
before the record step, run when that step fails, or when the transfer is cancelled or forgotten
for a year before its pick; the pick clears it (the goods must then be received)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.transfers import TransferActivities
    from contracts.errors import to_failure
    from contracts.transfer import (
        CANCEL_UPDATE,
        PICK_UPDATE,
        RECEIVE_UPDATE,
        REQUEST_UPDATE,
        STATUS_QUERY,
        TRANSFER_WORKFLOW,
        CancelCmd,
        CancelIn,
        PickCmd,
        PickIn,
        ReceiveCmd,
        ReceiveIn,
        RecordTransfer,
        TransferRef,
        TransferRequest,
        TransferView,
    )
    from domain.errors import Conflict
    from workflows.policies import COMPENSATION
    from workflows.saga import Saga
    from workflows.steered import Steered

FINAL = ("received", "cancelled", "failed")
# A person's step (pick, receive) may come weeks later; the workflow waits that long.
STALE_AFTER = timedelta(days=365)
# Since it, a failed record step undoes its hold through the Saga (shielded from cancellation);
# histories from before ran the same `transfer.release`, unshielded.
SAGA_PATCH = "transfer-saga"


@workflow.defn(name=TRANSFER_WORKFLOW)
class TransferWorkflow(Steered):
    """One transfer between two locations, from the request to its last delivery."""

    BEFORE = "requesting"

    @workflow.init
    def __init__(self, req: TransferRequest) -> None:
        self._req = req
        self._init_steps()
        self._deliveries = 0

    @workflow.run
    async def run(self, req: TransferRequest) -> TransferView:
        wf = workflow.info().workflow_id
        ref = TransferRef(workflow_id=wf, transfer_id=req.transfer_id)
        saga = Saga()
        try:
            # A hold half-made, or made with its answer lost, is undone when the step fails.
            saga.push(TransferActivities.release, ref, **COMPENSATION)
            await self._record(
                TransferActivities.record,
                RecordTransfer(workflow_id=wf, request=req),
                undo=lambda: self._undo_record(saga, ref),
            )
            await workflow.wait_condition(
                lambda: self._state in ("picked", *FINAL), timeout=STALE_AFTER
            )
        except (TimeoutError, asyncio.CancelledError):
            if self._state == "requested":
                # Never picked (cancelled by an operator, or forgotten for a year): give it back.
                await saga.compensate()
            raise
        # Picked (the point of no return: the goods must arrive, or be written off as short), or
        # cancelled by its own step, which gave the hold back: nothing is left to undo.
        saga.clear()
        await workflow.wait_condition(lambda: self._state in FINAL)
        await workflow.wait_condition(workflow.all_handlers_finished)
        assert self._view is not None
        return self._view

    @staticmethod
    async def _undo_record(saga: Saga, ref: TransferRef) -> None:
        if workflow.patched(SAGA_PATCH):
            await saga.compensate()
            return
        saga.clear()  # a history from before the Saga: the same release, unshielded
        await workflow.execute_activity_method(TransferActivities.release, ref, **COMPENSATION)

    async def _person(self, fn: Callable[..., Any], make: Callable[[], object]) -> TransferView:
        """One person's step; its answer is the transfer's new view."""
        view: TransferView = await self._step(fn, make, keep=True)
        return view

    def _refuse_unless(self, *states: str, doing: str) -> None:
        if self._state not in states:
            raise to_failure(
                Conflict(
                    f"Transfer {self._req.transfer_id} is {self._state}; it cannot be {doing}.",
                    code="transfer_" + ("picked" if self._state == "picked" else "state"),
                )
            )

    @workflow.update(name=REQUEST_UPDATE)
    async def request(self) -> TransferView:
        """Answer the requester once the units are held at the source (or why not)."""
        view: TransferView = await self._first_answer()
        return view

    @workflow.update(name=PICK_UPDATE)
    async def pick(self, pick: PickIn) -> TransferView:
        """The source picked the goods (perhaps fewer than requested)."""
        wf = workflow.info().workflow_id
        return await self._person(
            TransferActivities.pick,
            lambda: PickCmd(workflow_id=wf, transfer_id=self._req.transfer_id, pick=pick),
        )

    @pick.validator
    def _validate_pick(self, pick: PickIn) -> None:
        self._refuse_unless("requested", doing="picked")

    @workflow.update(name=RECEIVE_UPDATE)
    async def receive(self, receipt: ReceiveIn) -> TransferView:
        """A delivery arrived at the destination; `close` ends the transfer."""
        wf = workflow.info().workflow_id

        def numbered() -> ReceiveCmd:  # numbered in the order deliveries run: keys their rows
            self._deliveries += 1
            return ReceiveCmd(
                workflow_id=wf,
                transfer_id=self._req.transfer_id,
                delivery_no=self._deliveries,
                receipt=receipt,
            )

        return await self._person(TransferActivities.receive, numbered)

    @receive.validator
    def _validate_receive(self, receipt: ReceiveIn) -> None:
        self._refuse_unless("picked", doing="received")

    @workflow.update(name=CANCEL_UPDATE)
    async def cancel(self, cancel: CancelIn) -> TransferView:
        """Cancel before the pick (the held units are given back)."""
        wf = workflow.info().workflow_id
        return await self._person(
            TransferActivities.cancel,
            lambda: CancelCmd(workflow_id=wf, transfer_id=self._req.transfer_id, cancel=cancel),
        )

    @cancel.validator
    def _validate_cancel(self, cancel: CancelIn) -> None:
        if self._state == "picked":
            raise to_failure(
                Conflict(
                    f"Transfer {self._req.transfer_id} has been picked: it must be received "
                    "(what never arrives is written off as a shortage when it closes).",
                    code="transfer_picked",
                )
            )
        self._refuse_unless("requested", doing="cancelled")

    @workflow.query(name=STATUS_QUERY)
    def status(self) -> TransferView | None:
        """Where the transfer is (None until it is recorded)."""
        return self._view
