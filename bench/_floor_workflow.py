"""The Temporal floor: a workflow with one no-op local activity, answered by an update like a sale.

Run the way the Sale workflow runs (outside the sandbox), so the ratio compares like with like.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow

FLOOR_TASK_QUEUE = "tillflow-bench-floor"
NOOP_ACTIVITY = "bench.noop"


@dataclass(frozen=True)
class FloorRequest:
    sale_id: str


@dataclass(frozen=True)
class FloorResult:
    sale_id: str


# Outside the sandbox, as the Sale workflow runs: the floor is what the sale pays to Temporal.
@workflow.defn(name="BenchFloor", sandboxed=False)
class FloorWorkflow:
    """One no-op local activity, then done; `checkout` answers once it has run."""

    def __init__(self) -> None:
        self._result: FloorResult | None = None

    @workflow.run
    async def run(self, req: FloorRequest) -> FloorResult:
        await workflow.execute_local_activity(
            NOOP_ACTIVITY, req, start_to_close_timeout=timedelta(seconds=10)
        )
        self._result = FloorResult(req.sale_id)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._result

    @workflow.update
    async def checkout(self) -> FloorResult:
        """Wait until the local activity has run, like the sale's checkout update."""
        await workflow.wait_condition(lambda: self._result is not None)
        assert self._result is not None
        return self._result


# The floor shape of a cash sale: start, one local-activity marker, the answer (update),
# the device step (one regular activity after the answer), completion.
@workflow.defn(name="BenchFloorSale", sandboxed=False)
class FloorSaleWorkflow:
    """One no-op local activity, the answer, then one no-op regular activity (the device step)."""

    def __init__(self) -> None:
        self._result: FloorResult | None = None

    @workflow.run
    async def run(self, req: FloorRequest) -> FloorResult:
        await workflow.execute_local_activity(
            NOOP_ACTIVITY, req, start_to_close_timeout=timedelta(seconds=10)
        )
        self._result = FloorResult(req.sale_id)
        await workflow.execute_activity(
            NOOP_ACTIVITY, req, start_to_close_timeout=timedelta(seconds=10)
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._result

    @workflow.update
    async def checkout(self) -> FloorResult:
        """Wait until the local activity has run, like the sale's checkout update."""
        await workflow.wait_condition(lambda: self._result is not None)
        assert self._result is not None
        return self._result
