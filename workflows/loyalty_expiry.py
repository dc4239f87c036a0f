"""Loyalty's own workflows: the daily expiry of points (started by its schedule, contracts/
loyalty.py `start_expiry_schedule`) and a manager's adjustment (one audited posting, once per key).
Earning, reversing and redeeming are steps of the Sale, OnlineOrder and Return workflows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from temporalio.common import RetryPolicy

    from activities.loyalty import LoyaltyActivities
    from contracts.errors import as_workflow_failure
    from contracts.loyalty import (
        ADJUST_WORKFLOW,
        EXPIRY_WORKFLOW,
        AdjustRequest,
        ExpireCmd,
        ExpiryRequest,
        ExpiryResult,
        LoyaltyPosting,
    )
    from workflows.policies import STEP

# Every account with a lot due is closed in one transaction: give it time, retry a few times.
EXPIRY_STEP: dict[str, Any] = {
    "start_to_close_timeout": timedelta(minutes=10),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(minutes=1), maximum_attempts=10),
}


@workflow.defn(name=EXPIRY_WORKFLOW)
class LoyaltyExpiryWorkflow:
    """Expire every lot of points due by the run's time (first in, first out), once per lot."""

    @workflow.run
    async def run(self, req: ExpiryRequest) -> ExpiryResult:
        if req.run_at is not None and req.run_at > workflow.now():
            await workflow.sleep(req.run_at - workflow.now())
        return await workflow.execute_activity_method(
            LoyaltyActivities.expire, ExpireCmd(now=workflow.now()), **EXPIRY_STEP
        )


@workflow.defn(name=ADJUST_WORKFLOW)
class LoyaltyAdjustWorkflow:
    """A manager's adjustment of a customer's points, audited; refusals come back as errors."""

    @workflow.run
    async def run(self, req: AdjustRequest) -> LoyaltyPosting:
        try:
            return await workflow.execute_activity_method(LoyaltyActivities.adjust, req, **STEP)
        except ActivityError as err:
            raise as_workflow_failure(err) from None
