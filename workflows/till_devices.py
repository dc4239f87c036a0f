"""Answer a device worker's question: which printer, card reader and scanner its till has."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.till_devices import TillDeviceActivities
    from contracts.devices import TILL_DEVICES_WORKFLOW, TillDevices, TillDevicesRequest
    from workflows.policies import STEP


@workflow.defn(name=TILL_DEVICES_WORKFLOW)
class TillDevicesWorkflow:
    """One local activity reading the till's record."""

    @workflow.run
    async def run(self, req: TillDevicesRequest) -> TillDevices:
        return await workflow.execute_local_activity_method(TillDeviceActivities.read, req, **STEP)
