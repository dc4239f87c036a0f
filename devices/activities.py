"""Temporal activities of a till's device worker: print a receipt, open the cash drawer."""

from __future__ import annotations

import base64
import threading
import time
from pathlib import Path

from escpos.printer import Dummy
from temporalio import activity
from temporalio.exceptions import ApplicationError

from contracts.devices import (
    OPEN_DRAWER_ACTIVITY,
    PRINT_RECEIPT_ACTIVITY,
    PRINT_Z_REPORT_ACTIVITY,
    SALE_DEVICES_ACTIVITY,
    DeviceResult,
    DrawerKick,
    PrintJob,
    SaleDevices,
    SaleDevicesResult,
    ZReportJob,
    ZReportPrinted,
)
from devices.joblog import DeviceJobLog
from devices.printers import EscposPrinter, PrinterConfig, PrinterUnavailable, RawPrinter
from devices.receipt import receipt_bytes
from devices.till_record import PrinterFromRecord
from devices.z_report import z_report_bytes

PRINTER_UNAVAILABLE = "PrinterUnavailable"
QUIET_SECONDS = 2.0  # a job quicker than this sends no heartbeat
WRONG_TILL = "WrongTill"


def drawer_kick_bytes(profile: str | None = None) -> bytes:
    """The ESC/POS pulse that opens a drawer wired to the printer's pin 2."""
    dummy = Dummy(profile=profile)
    dummy.cashdraw(2)
    return dummy.output


class DeviceActivities:
    """Receipt printer and cash drawer of one till; each job id reaches the device once."""

    def __init__(
        self,
        printer_url: str | None,
        till_code: str,
        journal_path: str | Path,
        *,
        printer: RawPrinter | None = None,
        quiet_seconds: float = QUIET_SECONDS,
        record: PrinterFromRecord | None = None,
    ) -> None:
        """`printer_url` fixes the printer (an override); without one, each job prints to the
        printer on the till's record (`record`)."""
        if not printer_url and record is None:
            raise ValueError("a device worker needs a printer URL or the till's record to ask")
        self.record = None if printer_url else record
        self.config = PrinterConfig.parse(printer_url) if printer_url else PrinterConfig("dummy")
        self.till_code = till_code
        self._fixed = printer
        self._url: str | None = None
        self.printer: RawPrinter = printer or EscposPrinter(self.config)
        self.jobs = DeviceJobLog(journal_path)
        # One physical printer: jobs must not interleave their bytes on the wire, and the
        # check-send-record of a job must not race a concurrent attempt of the same job.
        self._device_lock = threading.Lock()
        self.quiet_seconds = quiet_seconds

    @activity.defn(name=PRINT_RECEIPT_ACTIVITY)
    def print_receipt(self, job: PrintJob) -> DeviceResult:
        """Print a receipt once per job id; an outage raises retryable PrinterUnavailable."""
        # No till check here: a reprint may be asked for at another till than the sale's.
        started = time.monotonic()
        config, printer = self._current()
        # Rendered completely off-printer first, so a failure never leaves half a receipt.
        data = receipt_bytes(job.receipt, profile=config.profile)
        return self._send_once("receipt", job.job_id, data, started, printer)

    @activity.defn(name=PRINT_Z_REPORT_ACTIVITY)
    def print_z_report(self, job: ZReportJob) -> ZReportPrinted:
        """Print a shift's Z report once per job id; answers with the bytes it sent."""
        started = time.monotonic()
        config, printer = self._current()
        data = z_report_bytes(job.report, profile=config.profile)
        result = self._send_once("z_report", job.job_id, data, started, printer)
        return ZReportPrinted(result=result, escpos_b64=base64.b64encode(data).decode())

    @activity.defn(name=OPEN_DRAWER_ACTIVITY)
    def open_drawer(self, kick: DrawerKick) -> DeviceResult:
        """Kick the cash drawer once per job id; an outage raises retryable PrinterUnavailable."""
        if kick.till_code != self.till_code:
            raise _wrong_till(kick.till_code, self.till_code)
        config, printer = self._current()
        return self._send_once(
            "drawer", kick.job_id, drawer_kick_bytes(config.profile), time.monotonic(), printer
        )

    @activity.defn(name=SALE_DEVICES_ACTIVITY)
    def sale_devices(self, job: SaleDevices) -> SaleDevicesResult:
        """A finished sale's drawer kick (if any) and receipt; a retry skips the part already done,
        so the drawer opens once even when the receipt waits for paper."""
        drawer = self.open_drawer(job.drawer) if job.drawer is not None else None
        return SaleDevicesResult(receipt=self.print_receipt(job.receipt), drawer=drawer)

    def _progress(self, started: float, detail: str) -> None:
        """Heartbeat once a job has taken a while (waiting for the printer, a slow link). A job
        that is done in a moment says nothing: each heartbeat is a write on the Temporal server,
        and the heartbeat timeout only needs to catch a device worker that died mid-job."""
        if time.monotonic() - started >= self.quiet_seconds:
            activity.heartbeat(detail)

    def _current(self) -> tuple[PrinterConfig, RawPrinter]:
        """The printer for this job: the fixed one, or the one on the till's record now (asked
        again at once on a retry: the printer may have been replaced because it failed)."""
        if self.record is None:
            return self.config, self.printer
        retry = activity.in_activity() and activity.info().attempt > 1
        try:
            url = self.record.url(force=retry)
        except PrinterUnavailable as err:
            raise ApplicationError(
                f"till {self.till_code}: {err}", type=PRINTER_UNAVAILABLE
            ) from err
        with self._device_lock:
            if url != self._url:
                self.config = PrinterConfig.parse(url)
                self.printer = self._fixed or EscposPrinter(self.config)
                self._url = url
            return self.config, self.printer

    def _send_once(
        self, kind: str, job_id: str, data: bytes, started: float, printer: RawPrinter
    ) -> DeviceResult:
        device = printer.describe()
        with self._device_lock:
            done = self.jobs.find(kind, job_id)
            if done is not None:
                activity.logger.info("%s job %s already done at %s", kind, job_id, done.done_at)
                detail = f"already done on {done.device} at {done.done_at}"
                return DeviceResult(
                    job_id=job_id, done=True, detail=detail, bytes_sent=done.bytes_sent
                )
            self._progress(started, f"sending {len(data)} bytes to {device}")
            try:
                sent = printer.send(data)
            except PrinterUnavailable as err:
                # Always retryable: a pulled cable or a printer that is off or busy ends when
                # staff fix it, and the workflow's retry policy decides how long to keep trying.
                raise ApplicationError(
                    f"till {self.till_code}: {err}", type=PRINTER_UNAVAILABLE
                ) from err
            # Crash window: if the worker dies after send() and before record(), the retry
            # sends the job again (a second receipt or kick). That is the lesser harm: the
            # printer cannot tell us afterwards whether it printed, and a lost receipt is worse.
            self.jobs.record(kind, job_id, sent, device)
        self._progress(started, "sent")
        return DeviceResult(job_id=job_id, done=True, detail=f"sent to {device}", bytes_sent=sent)


def _wrong_till(asked: str, mine: str) -> ApplicationError:
    # A kick on the wrong device queue is a routing bug; retrying here would never open it,
    # and opening this till's drawer instead would be worse.
    return ApplicationError(
        f"drawer kick for till {asked} reached the device worker of till {mine}",
        type=WRONG_TILL,
        non_retryable=True,
    )
