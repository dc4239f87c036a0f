"""The fiscal catch-up (issue 20): documents left `pending` are signed later, oldest first per
location, by a Temporal Schedule (every TILLFLOW_FISCAL_CATCH_UP_MINUTES). A TSE outage is caught
up by the Sale's own retries and an offline batch by its replay; this signs what those could not:
a document whose signer refused until an admin put its fiscal unit right, or a replay cut off
before it signed its batch. Only records pending longer than the request's `stale_after_s` are
touched, so nothing is signed ahead of a replay still recording its sales in sold-at order."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.fiscal import FiscalActivities
    from contracts.fiscal import CATCH_UP_WORKFLOW, CatchUpRequest, CatchUpResult
    from workflows.fiscal_steps import complete_pending


@workflow.defn(name=CATCH_UP_WORKFLOW)
class FiscalCatchUpWorkflow:
    @workflow.run
    async def run(self, req: CatchUpRequest) -> CatchUpResult:
        codes: tuple[str, ...] = await workflow.execute_activity_method(
            FiscalActivities.pending_locations,
            req,
            start_to_close_timeout=timedelta(seconds=30),
        )
        signed, left = 0, []
        for code in codes:  # one location after the other: each signer's order is its own
            done = await complete_pending(code, req.stale_after_s)
            signed += len(done.signed)
            if done.still_pending:
                left.append((code, done.still_pending))
        return CatchUpResult(signed=signed, still_pending=tuple(left))
