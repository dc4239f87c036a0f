"""workflows/saga.py itself: pushed before the step, unwound newest first on failure or
cancellation, each compensation an activity in the history, and a second cancellation does not
stop the unwinding."""

from __future__ import annotations

import asyncio
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from helpers.history import activity_types
from temporalio import activity, workflow
from temporalio.client import Client, WorkflowFailureError
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from workflows.saga import Saga

_STEP: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=10),
    "retry_policy": RetryPolicy(maximum_attempts=1),
}
_UNDO: dict[str, Any] = {"start_to_close_timeout": timedelta(seconds=10)}
_log: list[str] = []
_undo_started = threading.Event()


@dataclass(frozen=True, kw_only=True)
class Plan:
    fail_at: str = ""  # the step that fails ("" = none: wait to be cancelled after the last)
    slow_undo: bool = False  # the first compensation waits a little (to cancel again meanwhile)


class Steps:
    @activity.defn(name="saga.do")
    def do(self, step: str) -> None:
        if step.startswith("boom"):
            raise ApplicationError(f"{step} failed", type="Boom", non_retryable=True)
        _log.append(f"do {step}")

    @activity.defn(name="saga.undo")
    def undo(self, step: str) -> None:
        _undo_started.set()
        if step == "slow":
            threading.Event().wait(1.0)
        _log.append(f"undo {step}")

    @activity.defn(name="saga.undo_local")
    def undo_local(self, step: str) -> None:
        _log.append(f"undo {step}")


@workflow.defn(name="SagaProbe", sandboxed=False)
class SagaProbe:
    @workflow.run
    async def run(self, plan: Plan) -> None:
        saga = Saga()
        try:
            for step in ("a", "b", "c"):
                name = "boom" if plan.fail_at == step else step
                if step == "a":
                    saga.push(Steps.undo_local, step, local=True, **_UNDO)
                else:
                    saga.push(
                        Steps.undo, "slow" if plan.slow_undo and step == "c" else step, **_UNDO
                    )
                await workflow.execute_activity_method(Steps.do, name, **_STEP)
            await workflow.wait_condition(lambda: False)  # until cancelled
        except BaseException:
            await saga.compensate()
            raise


@pytest.fixture(scope="module")
async def saga_queue(temporal_client: Client):  # type: ignore[no-untyped-def]  # async generator fixture
    queue = f"saga-{uuid.uuid4().hex[:6]}"
    steps = Steps()
    async with Worker(
        temporal_client,
        task_queue=queue,
        workflows=[SagaProbe],
        activities=[steps.do, steps.undo, steps.undo_local],
        activity_executor=ThreadPoolExecutor(4),
    ):
        yield queue


async def test_a_failed_step_is_undone_with_everything_before_it_in_reverse(
    temporal_client: Client, saga_queue: str
) -> None:
    """Step b fails: its own compensation (pushed before it ran) and a's run, newest first."""
    _log.clear()
    wf_id = f"saga:{uuid.uuid4().hex}"
    with pytest.raises(WorkflowFailureError):
        await temporal_client.execute_workflow(
            SagaProbe.run, Plan(fail_at="b"), id=wf_id, task_queue=saga_queue
        )
    assert _log == ["do a", "undo b", "undo a"]
    history = await temporal_client.get_workflow_handle(wf_id).fetch_history()
    assert activity_types(history) == ["saga.do", "saga.do", "saga.undo", "saga.undo_local"]


async def test_cancellation_unwinds_and_a_second_cancel_does_not_stop_it(
    temporal_client: Client, saga_queue: str
) -> None:
    """Cancelled twice while compensating: every compensation still runs, in reverse."""
    _log.clear()
    _undo_started.clear()
    wf_id = f"saga:{uuid.uuid4().hex}"
    handle = await temporal_client.start_workflow(
        SagaProbe.run, Plan(slow_undo=True), id=wf_id, task_queue=saga_queue
    )
    for _ in range(100):
        if _log == ["do a", "do b", "do c"]:
            break
        await asyncio.sleep(0.05)
    await handle.cancel()
    await asyncio.get_running_loop().run_in_executor(None, _undo_started.wait, 10)
    await handle.cancel()  # while the slow compensation runs
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    assert _log == ["do a", "do b", "do c", "undo slow", "undo b", "undo a"]
    assert activity_types(await handle.fetch_history()) == [
        "saga.do",
        "saga.do",
        "saga.do",
        "saga.undo",
        "saga.undo",
        "saga.undo_local",
    ]
