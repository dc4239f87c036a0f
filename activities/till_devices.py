"""Read a till's device settings for its device worker (printer URL, card reader, scanner)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity

from contracts.devices import TILL_DEVICES_ACTIVITY, TillDevices, TillDevicesRequest
from contracts.errors import encode_errors
from db.repositories import places_admin
from db.session import Database


@encode_errors
class TillDeviceActivities:
    """The till's record as the back office last saved it."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @activity.defn(name=TILL_DEVICES_ACTIVITY)
    def read(self, req: TillDevicesRequest) -> TillDevices:
        """The till's printer, card reader and scanner (found=False: no such till)."""
        with self.db.unit_of_work() as s:
            row = places_admin.till_devices(s, req.till_code)
        if row is None:
            return TillDevices(till_code=req.till_code, found=False)
        return TillDevices(
            till_code=row.till_code,
            found=True,
            active=row.active,
            printer_url=row.printer_url,
            card_reader=row.card_reader,
            scanner=row.scanner,
        )


def till_devices_activities(db: Database) -> list[Callable[..., Any]]:
    """The activity callables to register beside TillDevicesWorkflow (on the sales queue)."""
    return [TillDeviceActivities(db).read]
