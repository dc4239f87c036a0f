"""Fiscal signing as a step of the sagas that make till documents (issue 20): a sale's receipt, a
return's slip, a shift's closing. A location whose scheme is "none" runs no step at all (its
history gets no marker and no activity: the workflow is told the scheme by the step that priced or
assessed it). At the till the step waits a short, bounded time; where the law allows it (a German
TSE outage) the receipt then prints "signature pending" and the workflow signs after the print,
retrying until the signer is back. An offline sale is recorded pending and signed at its replay,
in sold-at order (`complete_pending`)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.fiscal import FiscalActivities
    from contracts.devices import Receipt
    from contracts.fiscal import (
        FISCAL_SIGN_PATCH,
        PENDING_ALLOWED,
        PENDING_LINES,
        CompletedPending,
        CompletePending,
        FiscalKind,
        FiscalScheme,
        FiscalSignature,
        SignDocument,
    )

# The till's wait: the activity itself gives up on the signer after TILLFLOW_FISCAL_TILL_WAIT_S
# and stores the record pending; these bounds only cover the activity failing as a whole.
AT_TILL: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=40),
    "schedule_to_close_timeout": timedelta(seconds=60),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=2), maximum_attempts=2),
}
# After the print (or where a signature may never be pending): until the signer answers.
UNTIL_SIGNED: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=60),
    "heartbeat_timeout": timedelta(seconds=60),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=5),
    ),
}


def signs(scheme: str) -> bool:
    """Whether this workflow runs the signing step: a fiscal location, and a history that has
    (or a new run that sets) the step's marker."""
    return scheme != "none" and workflow.patched(FISCAL_SIGN_PATCH)


async def sign_at_till(scheme: FiscalScheme, kind: FiscalKind) -> FiscalSignature | None:
    """This workflow's document signed before its receipt prints (None: no step). Where pending
    is allowed, it is pending when the signer was not reached in time."""
    if not signs(scheme):
        return None
    cmd = SignDocument(document_id=workflow.info().workflow_id, kind=kind, at_till=True)
    # Signed locally (Portugal): the receipt waits for it; else a bounded wait.
    policy = UNTIL_SIGNED if scheme not in PENDING_ALLOWED else AT_TILL
    try:
        answer: FiscalSignature = await workflow.execute_activity_method(
            FiscalActivities.sign_document, cmd, **policy
        )
        return answer
    except ActivityError as err:
        # The sale stands whatever the signer says (it is paid and recorded): a refusal leaves
        # the record pending for ops (GET /fiscal/{code}/records) and the receipt says so.
        workflow.logger.error("fiscal signing failed at the till: %s", err.cause or err)
        return FiscalSignature(
            document_id=cmd.document_id,
            scheme=scheme,
            status="pending",
            receipt_lines=PENDING_LINES.get(scheme, ("Signature pending",)),
        )


def onto_receipt(receipt: Receipt, signature: FiscalSignature | None) -> Receipt:
    """The receipt with the signature's lines and QR code (as it is: none without a step)."""
    if signature is None or signature.status == "not_required":
        return receipt
    return dataclasses.replace(
        receipt, fiscal_lines=signature.receipt_lines, fiscal_qr=signature.qr
    )


async def complete_after_print(
    signature: FiscalSignature | None, kind: FiscalKind
) -> FiscalSignature | None:
    """A document the receipt printed as pending, signed now, retrying until the signer is
    back (a German TSE outage); a signed one (or none) as it is."""
    if signature is None or signature.status != "pending":
        return signature
    try:
        signed: FiscalSignature = await workflow.execute_activity_method(
            FiscalActivities.sign_document,
            SignDocument(document_id=workflow.info().workflow_id, kind=kind),
            **UNTIL_SIGNED,
        )
    except ActivityError as err:  # a refusal, never an outage (those retry): left pending
        workflow.logger.error("fiscal signing refused: %s", err.cause or err)
        return signature
    return signed


async def record_offline(scheme: FiscalScheme, kind: FiscalKind) -> FiscalSignature | None:
    """An offline sale replayed: recorded pending, signed by its replay in sold-at order."""
    if not signs(scheme):
        return None
    deferred: FiscalSignature = await workflow.execute_activity_method(
        FiscalActivities.sign_document,
        SignDocument(document_id=workflow.info().workflow_id, kind=kind, defer=True),
        **UNTIL_SIGNED,
    )
    return deferred


async def complete_pending(location_code: str, stale_after_s: int = 0) -> CompletedPending:
    """Every pending record of the location signed, oldest first (a replay calls it after the
    sales of its batch, so they are signed in the order they were sold; the catch-up only for
    records pending longer than `stale_after_s`)."""
    while True:
        try:
            done: CompletedPending = await workflow.execute_activity_method(
                FiscalActivities.complete_pending,
                CompletePending(location_code=location_code, stale_after_s=stale_after_s),
                **UNTIL_SIGNED,
            )
        except ActivityError as err:  # a refusal: the records stay pending for ops
            workflow.logger.error("pending fiscal records not signed: %s", err.cause or err)
            return CompletedPending(signed=())
        if not done.still_pending or not done.signed:
            return done
