"""Loyalty points as a step of the sagas that move goods: earned when a sale completes or an
online order is fulfilled, taken back when a return completes. The points never hold a sale up:
the step runs after the customer has their answer, retries a while, and a failure only logs
(the activity posts once per workflow, so a later run can post what one missed)."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.loyalty import LoyaltyActivities
    from contracts.loyalty import EarnCmd, ReverseCmd
    from workflows.policies import NETWORK_STEP

EARN_PATCH = "loyalty-earn"  # histories from before points were earned replay without the step
REVERSE_PATCH = "loyalty-reverse"


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
