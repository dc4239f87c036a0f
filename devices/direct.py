"""Printing and opening the drawer straight from the till agent, for when the device queue is out of
reach."""

from __future__ import annotations

import threading
from pathlib import Path

from contracts.devices import DeviceResult, DrawerKick, PrintJob
from devices.activities import drawer_kick_bytes
from devices.joblog import DeviceJobLog
from devices.printers import EscposPrinter, PrinterConfig, RawPrinter
from devices.receipt import receipt_bytes
from devices.status import PrinterStatus


class DirectDevices:
    """A till's printer and drawer without Temporal; each job id still reaches the device once."""

    def __init__(
        self, printer_url: str, journal_path: str | Path, *, printer: RawPrinter | None = None
    ) -> None:
        self.config = PrinterConfig.parse(printer_url)
        self.printer: RawPrinter = printer or EscposPrinter(self.config)
        self.jobs = DeviceJobLog(journal_path)
        self._lock = threading.Lock()  # one printer: jobs never interleave on the wire

    def describe(self) -> str:
        return self.printer.describe()

    def receipt_data(self, job: PrintJob) -> bytes:
        """The complete ESC/POS bytes of a receipt, rendered before anything is sent."""
        return receipt_bytes(job.receipt, profile=self.config.profile)

    def drawer_data(self) -> bytes:
        return drawer_kick_bytes(self.config.profile)

    def print_receipt(self, job: PrintJob) -> DeviceResult:
        """Print once per job id; PrinterUnavailable (or PrinterNotReady) when it cannot print
        now."""
        return self.send_once("receipt", job.job_id, self.receipt_data(job))

    def open_drawer(self, kick: DrawerKick) -> DeviceResult:
        """Kick the drawer once per job id."""
        return self.send_once("drawer", kick.job_id, self.drawer_data())

    def send_once(self, kind: str, job_id: str, data: bytes) -> DeviceResult:
        """Send a finished job unless the job log says it went out already."""
        device = self.printer.describe()
        with self._lock:
            done = self.jobs.find(kind, job_id)
            if done is not None:
                return DeviceResult(
                    job_id=job_id,
                    done=True,
                    detail=f"already done on {done.device} at {done.done_at}",
                    bytes_sent=done.bytes_sent,
                )
            sent = self.printer.send(data)
            self.jobs.record(kind, job_id, sent, device)
        return DeviceResult(job_id=job_id, done=True, detail=f"sent to {device}", bytes_sent=sent)

    def status(self) -> PrinterStatus:
        """The printer's status (DLE EOT where the printer URL asks for it)."""
        status = getattr(self.printer, "status", None)
        return status() if callable(status) else PrinterStatus("ready", "ready")
