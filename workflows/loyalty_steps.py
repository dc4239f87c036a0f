"""Loyalty points as a step of the sagas that move goods: earned when a sale completes or an
online order is fulfilled, taken back when a return completes. The points never hold a sale up:
the step runs after the customer has their answer, retries a while, and a failure only logs
(the activity posts once per workflow, so a later run can post what one missed)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.loyalty import LoyaltyActivities
    from contracts.devices import Receipt
    from contracts.loyalty import EarnCmd, LoyaltyPosting, ReverseCmd
    from domain.loyalty import receipt_note
    from workflows.policies import NETWORK_STEP

EARN_PATCH = "loyalty-earn"  # histories from before points were earned replay without the step
REVERSE_PATCH = "loyalty-reverse"
# Sales from before it earned after printing; since, they earn first and print the balance.
RECEIPT_PATCH = "loyalty-receipt-balance"
# The receipt waits for it: a few quick tries, then it prints without the points.
BEFORE_PRINT: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=10),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=1), maximum_attempts=3),
}


async def earn_points() -> None:
    """This Sale / OnlineOrder's points for its customer (nothing without one)."""
    if not workflow.patched(EARN_PATCH):
        return
    try:
        await workflow.execute_activity_method(
            LoyaltyActivities.earn_for_order,
            EarnCmd(workflow_id=workflow.info().workflow_id),
            **NETWORK_STEP,
        )
    except ActivityError as err:
        workflow.logger.warning("loyalty points not earned: %s", err.cause or err)


async def earn_onto_receipt(receipt: Receipt) -> tuple[Receipt, bool]:
    """A till sale's points earned before its receipt prints, with "Points: +N, balance M" on it,
    and whether they were earned. Not earned (a history from before, or the earn failed in its
    few quick tries): the receipt as it was, and the sale earns after printing (`earn_points`)."""
    if not workflow.patched(RECEIPT_PATCH) or not workflow.patched(EARN_PATCH):
        return receipt, False
    try:
        posting: LoyaltyPosting = await workflow.execute_activity_method(
            LoyaltyActivities.earn_for_order,
            EarnCmd(workflow_id=workflow.info().workflow_id),
            **BEFORE_PRINT,
        )
    except ActivityError as err:
        workflow.logger.warning("loyalty points not earned before printing: %s", err.cause or err)
        return receipt, False
    if posting.status not in ("posted", "already_posted"):
        return receipt, True
    note = receipt_note(posting.points, posting.balance)
    return dataclasses.replace(receipt, notes=(*receipt.notes, note)), True


async def reverse_points() -> None:
    """The share of its sale's points this Return refunds, taken back."""
    if not workflow.patched(REVERSE_PATCH):
        return
    try:
        await workflow.execute_activity_method(
            LoyaltyActivities.reverse_for_return,
            ReverseCmd(workflow_id=workflow.info().workflow_id),
            **NETWORK_STEP,
        )
    except ActivityError as err:
        workflow.logger.warning("loyalty points not reversed: %s", err.cause or err)
