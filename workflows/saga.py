"""The one saga idiom every compensating workflow uses.

A compensation is an activity (so it shows in the workflow's history as its own step) pushed
*before* the step it undoes runs: a step that fails half-way, or whose answer was lost, is undone
too, so each compensation must be idempotent (they all are: keyed on the workflow id). On failure
or cancellation the stack unwinds in reverse; each compensation is shielded from cancellation.

    saga = Saga()
    saga.push(Acts.restore_stock, StockRestore(...), local=True, **COMPENSATION)
    await workflow.execute_local_activity_method(Acts.commit_stock, ...)
    ...
    except BaseException:
        await saga.compensate()
        raise

or `async with Saga() as saga:` which compensates on any exception leaving the block.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from temporalio import workflow


@dataclass
class _Step:
    activity: Callable[..., Any]
    arg: Any
    local: bool
    options: dict[str, Any]


@dataclass
class Saga:
    """A stack of compensations; `compensate` runs them newest first, each exactly once."""

    _steps: list[_Step] = field(default_factory=list)

    def push(
        self, activity: Callable[..., Any], arg: Any, *, local: bool = False, **options: Any
    ) -> None:
        """Register how to undo the step about to run (an activity method and its argument)."""
        self._steps.append(_Step(activity, arg, local, options))

    def __bool__(self) -> bool:
        return bool(self._steps)

    @staticmethod
    def _start(step: _Step) -> asyncio.Future[Any]:
        if step.local:
            return workflow.start_local_activity_method(step.activity, step.arg, **step.options)
        return workflow.start_activity_method(step.activity, step.arg, **step.options)

    async def compensate(self) -> None:
        """Undo every pushed step in reverse; a cancellation of the workflow does not stop it."""
        while self._steps:
            step = self._steps.pop()
            # Shielded: a second cancellation request must not leave stock or money half-undone.
            await asyncio.shield(self._start(step))

    def clear(self) -> None:
        """The saga succeeded past the point of no return: nothing is to be undone any more."""
        self._steps.clear()

    async def __aenter__(self) -> Saga:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None:
            await self.compensate()
