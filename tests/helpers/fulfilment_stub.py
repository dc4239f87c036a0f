"""TEST ONLY stand-ins for the Bopis / ShipFromStore children (the fulfilment issue builds the real
ones).

Each waits for a `finish` signal carrying its FulfilmentResult, keeps track of the lines its parent
moves in or out, and ends `withdrawn` when every line has been moved elsewhere.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts.fulfilment import FulfilmentLines, FulfilmentRequest, FulfilmentResult


class _StubFulfilment:
    def __init__(self) -> None:
        self._result: FulfilmentResult | None = None
        self._lines: dict[str, int] = {}

    async def _run(self, req: FulfilmentRequest) -> FulfilmentResult:
        for ln in req.lines:
            self._lines[ln.sku] = self._lines.get(ln.sku, 0) + ln.quantity
        await workflow.wait_condition(
            lambda: self._result is not None or not any(self._lines.values())
        )
        return self._result or FulfilmentResult(status="withdrawn")

    @workflow.signal
    def finish(self, result: FulfilmentResult) -> None:
        self._result = result

    @workflow.signal
    def add_lines(self, moved: FulfilmentLines) -> None:
        for ln in moved.lines:
            self._lines[ln.sku] = self._lines.get(ln.sku, 0) + ln.quantity

    @workflow.signal
    def withdraw_lines(self, moved: FulfilmentLines) -> None:
        for ln in moved.lines:
            self._lines[ln.sku] = max(0, self._lines.get(ln.sku, 0) - ln.quantity)

    @workflow.query
    def lines(self) -> dict[str, int]:
        return {k: v for k, v in self._lines.items() if v}


@workflow.defn(name="ShipFromStore")
class StubShipFromStore(_StubFulfilment):
    @workflow.run
    async def run(self, req: FulfilmentRequest) -> FulfilmentResult:
        return await self._run(req)


@workflow.defn(name="Bopis")
class StubBopis(_StubFulfilment):
    @workflow.run
    async def run(self, req: FulfilmentRequest) -> FulfilmentResult:
        return await self._run(req)
