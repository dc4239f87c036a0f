"""ESC/POS real-time status (DLE EOT n): is the printer online, is there paper, is the cover
shut."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from escpos.escpos import Escpos

DLE_EOT = b"\x10\x04"
PRINTER = 1  # n = 1: printer status
OFFLINE_CAUSE = 2  # n = 2: why it is offline
PAPER = 4  # n = 4: roll paper sensor
STATUS_TIMEOUT = 1.0  # printers answer in milliseconds; silence means "does not do DLE EOT"

# Every status byte has bits 1 and 4 set and bits 0 and 7 clear; anything else is not an answer.
_FIXED_MASK, _FIXED_BITS = 0x93, 0x12
_OFFLINE = 0x08  # n=1 bit 3
_COVER_OPEN = 0x04  # n=2 bit 2
_PAPER_END_STOP = 0x20  # n=2 bit 5
_ERROR = 0x40  # n=2 bit 6
_NEAR_END = 0x0C  # n=4 bits 2-3
_PAPER_OUT = 0x60  # n=4 bits 5-6

READY, PAPER_LOW, UNKNOWN = "ready", "paper_low", "unknown"
PAPER_OUT, COVER_OPEN, OFFLINE, ERROR, UNREACHABLE = (
    "paper_out",
    "cover_open",
    "offline",
    "error",
    "unreachable",
)


@dataclass(frozen=True)
class PrinterStatus:
    state: (
        str  # ready | paper_low | unknown | paper_out | cover_open | offline | error | unreachable
    )
    detail: str

    @property
    def can_print(self) -> bool:
        # "unknown": the printer does not answer DLE EOT; printing is still worth a try.
        return self.state in (READY, PAPER_LOW, UNKNOWN)


def _valid(byte: int | None) -> bool:
    return byte is not None and byte & _FIXED_MASK == _FIXED_BITS


def parse_status(printer: int | None, paper: int | None, cause: int | None = None) -> PrinterStatus:
    """Turn the answers to DLE EOT 1, 4 and (when offline) 2 into one status for people."""
    if not _valid(printer):
        return PrinterStatus(UNKNOWN, "the printer does not report its status")
    assert printer is not None
    if _valid(paper) and paper is not None and paper & _PAPER_OUT:
        return PrinterStatus(PAPER_OUT, "out of paper: put in a new roll")
    if printer & _OFFLINE:
        if _valid(cause) and cause is not None:
            if cause & _COVER_OPEN:
                return PrinterStatus(COVER_OPEN, "the printer cover is open")
            if cause & _PAPER_END_STOP:
                return PrinterStatus(PAPER_OUT, "out of paper: put in a new roll")
            if cause & _ERROR:
                return PrinterStatus(ERROR, "the printer reports an error: switch it off and on")
        return PrinterStatus(OFFLINE, "the printer is offline")
    if _valid(paper) and paper is not None and paper & _NEAR_END:
        return PrinterStatus(PAPER_LOW, "paper is running low")
    return PrinterStatus(READY, "ready")


def _exchange(printer: Escpos, n: int) -> int | None:
    """Send DLE EOT n and read the one status byte; None when the printer stays silent."""
    device = getattr(printer, "device", None)
    if isinstance(device, socket.socket):
        before = device.gettimeout()
        device.settimeout(STATUS_TIMEOUT)
        try:
            device.sendall(DLE_EOT + bytes([n]))
            data = device.recv(1)
        except TimeoutError:
            return None
        finally:
            device.settimeout(before)
        if not data:
            raise OSError("the printer closed the connection")
        return data[0]
    if device is not None and hasattr(device, "read") and hasattr(device, "reset_input_buffer"):
        # A pyserial port: stale bytes in the buffer would be taken for the answer.
        device.reset_input_buffer()
        before = device.timeout
        device.timeout = STATUS_TIMEOUT
        try:
            device.write(DLE_EOT + bytes([n]))
            data = device.read(1)
        finally:
            device.timeout = before
        return data[0] if data else None
    return None


def query_status(printer: Escpos) -> PrinterStatus:
    """Ask an open network or serial printer for its status; OSError if the link breaks."""
    first = _exchange(printer, PRINTER)
    if not _valid(first):
        return parse_status(first, None)
    paper = _exchange(printer, PAPER)
    cause = _exchange(printer, OFFLINE_CAUSE) if first is not None and first & _OFFLINE else None
    return parse_status(first, paper, cause)
