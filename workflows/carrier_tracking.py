"""CarrierTracking: one carrier tracking update (issue 19) recorded against its parcel, and the
customer told when the parcel's status changed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.carriers import CarrierActivities
    from contracts.carriers import TRACKING_WORKFLOW, TrackingRecorded, TrackingUpdate

RECORD_STEP: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=10),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=30)),
}


@workflow.defn(name=TRACKING_WORKFLOW)
class CarrierTrackingWorkflow:
    @workflow.run
    async def run(self, update: TrackingUpdate) -> TrackingRecorded:
        """Record the update (idempotent on its event key) and queue the customer's message."""
        return await workflow.execute_activity_method(
            CarrierActivities.record_tracking,
            update,
            **RECORD_STEP,
        )
