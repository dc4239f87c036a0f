"""The daily report pack: after the last store has closed the business day, every day-close
report is made for all stores and stored (XLSX, HTML, JSON), one activity per report, so
finance finds yesterday's pack waiting. A pack already stored is never rewritten."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from temporalio.common import RetryPolicy

    from activities.reports import ReportActivities
    from contracts.accounting import EXPORT_ACTIVITY, JournalExportCmd, JournalExportResult
    from contracts.errors import failure_message
    from contracts.reconciliation import SYNC_STRIPE, StripeSyncResult, day_close_sync
    from contracts.reports import (
        PACK_WORKFLOW,
        PackFileCmd,
        PackFileDone,
        PackPlan,
        PackPlanCmd,
        PackRequest,
        PackResult,
    )
    from contracts.stock_closings import CLOSE_STOCK_DAY, StockCloseCmd, StockCloseResult
    from workflows.policies import STEP

SYNC_STEP: dict[str, Any] = {
    "start_to_close_timeout": timedelta(minutes=10),
    "heartbeat_timeout": timedelta(minutes=1),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(minutes=1), maximum_attempts=10),
}
# A month-end of every store takes a while; a failing report is retried, then the pack fails.
REPORT_STEP: dict[str, Any] = {
    "start_to_close_timeout": timedelta(minutes=10),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(minutes=1), maximum_attempts=5),
}


@workflow.defn(name=PACK_WORKFLOW)
class DailyReportsWorkflow:
    @workflow.run
    async def run(self, req: PackRequest) -> PackResult:
        plan: PackPlan = await workflow.execute_activity_method(
            ReportActivities.plan,
            PackPlanCmd(
                business_date=req.business_date,
                at=workflow.now(),
                grace_minutes=req.grace_minutes,
            ),
            **STEP,
        )
        wait = plan.ready_at - workflow.now()
        if wait > timedelta(0):  # started early: the pack waits until the day has closed
            await workflow.sleep(wait)
        # Stripe's side of the day first (charges, refunds, fees, payouts), for reconciliation.
        await workflow.execute_activity(
            SYNC_STRIPE,
            day_close_sync(plan.business_date, req.stripe_sync_margin_hours),
            result_type=StripeSyncResult,
            **SYNC_STEP,
        )
        # The accounting export of each store's day, before the journal report shows it.
        exported: list[str] = []
        refused: list[str] = []
        for store in plan.stores:
            try:
                entry: JournalExportResult = await workflow.execute_activity(
                    EXPORT_ACTIVITY,
                    JournalExportCmd(
                        store=store,
                        day=plan.business_date,
                        workflow_id=workflow.info().workflow_id,
                    ),
                    result_type=JournalExportResult,
                    **REPORT_STEP,
                )
                exported += [entry.reference, *entry.adjustments]
            except ActivityError as err:  # e.g. an unbalanced day: the journal report shows it
                refused.append(f"{store}: {failure_message(err)}")
        # Every location's stock at the day's end, once, so the KPI report reads it (issue 16).
        if workflow.patched("stock-closings"):
            await workflow.execute_activity(
                CLOSE_STOCK_DAY,
                StockCloseCmd(business_date=plan.business_date),
                result_type=StockCloseResult,
                **REPORT_STEP,
            )
        done: list[PackFileDone] = []
        for name in plan.reports:
            done.append(
                await workflow.execute_activity_method(
                    ReportActivities.make_file,
                    PackFileCmd(
                        workflow_id=workflow.info().workflow_id,
                        business_date=plan.business_date,
                        report=name,
                    ),
                    **REPORT_STEP,
                )
            )
        return PackResult(
            business_date=plan.business_date,
            files=tuple(done),
            exported=tuple(exported),
            not_exported=tuple(refused),
        )
