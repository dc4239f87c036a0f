"""What the workflows a person steers step by step share (Transfer, Count, Shift): the first step
records the thing and the first answer waits for it; then one person's step at a time, each an
activity whose business refusal fails that person's update, not the workflow."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from contracts.errors import as_workflow_failure
    from workflows.policies import STEP


class Steered:
    """Mixed into a workflow class; its `__init__` calls `_init_steps()`. `_view` is the latest
    view of the thing (with a `state`), `_error` the failure of its first step."""

    BEFORE = "starting"  # the state until the first step has recorded the thing

    def _init_steps(self) -> None:
        self._view: Any = None
        self._error: ApplicationError | None = None
        self._lock = asyncio.Lock()  # one person's step at a time

    @property
    def _state(self) -> str:
        if self._error is not None:
            return "failed"
        return str(self._view.state) if self._view is not None else self.BEFORE

    async def _record(
        self,
        fn: Callable[..., Any],
        arg: object,
        *,
        undo: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        """The first step; when it fails, `undo` runs, the waiting first answer gets the failure
        and so does the workflow."""
        async with self._lock:
            try:
                self._view = await workflow.execute_activity_method(fn, arg, **STEP)
            except (ActivityError, ApplicationError) as err:
                self._error = as_workflow_failure(err)
                if undo is not None:
                    await undo()
                await workflow.wait_condition(workflow.all_handlers_finished)
                raise self._error from err

    async def _first_answer(self) -> Any:
        """The view once the first step recorded the thing (or why it could not)."""
        await workflow.wait_condition(lambda: self._view is not None or self._error is not None)
        if self._error is not None:
            raise self._error
        return self._view

    async def _step(
        self, fn: Callable[..., Any], make: Callable[[], object], *, keep: bool = False
    ) -> Any:
        """One person's step; its argument is made once the step before it has finished. `keep`:
        the result is the new view."""
        async with self._lock:
            try:
                result = await workflow.execute_activity_method(fn, make(), **STEP)
            except (ActivityError, ApplicationError) as err:
                raise as_workflow_failure(err) from err
            if keep:
                self._view = result
            return result
