"""MagentoPull (issue 19): started by its schedule every minute (contracts/magento.py
`start_magento_pull`); pulls each active Magento store's updated orders and hands them to their
OnlineOrder. A store that cannot be pulled this round is reported and tried again next round."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from temporalio.common import RetryPolicy

    from activities.magento_pull import MagentoPullActivities
    from contracts.magento import PULL_WORKFLOW, PullRequest, PullResult, StorePull, StorePulled

# A round is a minute: a store that keeps failing waits for the next one, not for backoff here.
PULL_STEP: dict[str, Any] = {
    "start_to_close_timeout": timedelta(minutes=5),
    "heartbeat_timeout": timedelta(minutes=1),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=20), maximum_attempts=3),
}


@workflow.defn(name=PULL_WORKFLOW)
class MagentoPullWorkflow:
    @workflow.run
    async def run(self, req: PullRequest) -> PullResult:
        stores = req.stores or await workflow.execute_activity_method(
            MagentoPullActivities.stores,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_attempts=3),
        )
        pulled: list[StorePulled] = []
        errors: list[str] = []
        for code in stores:
            try:
                pulled.append(
                    await workflow.execute_activity_method(
                        MagentoPullActivities.pull_orders,
                        StorePull(store_code=code),
                        **PULL_STEP,
                    )
                )
            except ActivityError as err:
                errors.append(f"{code}: {err.cause or err}")
        return PullResult(stores=tuple(pulled), errors=tuple(errors))
