"""Barcode scanner on a serial line (pyserial): every complete line is one scan; partial lines never
count.

    /dev/ttyACM0                       a USB scanner in serial (CDC) mode
    /dev/ttyUSB0?baudrate=115200       a serial scanner at another speed
    loop://?terminator=LF              any pyserial URL (loop://, socket://host:port, rfc2217://...)

``baudrate`` (default 9600) and ``terminator`` (CR, LF, CRLF, TAB; default: CR or LF, whichever
the scanner sends, with CRLF counted once) are ours; every other query option goes to pyserial.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import parse_qsl, urlencode

import serial

log = logging.getLogger("tillflow.devices.scanner")

TERMINATORS = {"CR": b"\r", "LF": b"\n", "CRLF": b"\r\n", "TAB": b"\t"}
MAX_CODE_LENGTH = 256  # longer than any barcode: a line this long is line noise, not a scan
READ_TIMEOUT = 0.05
REOPEN_DELAY = 1.0


@dataclass(frozen=True)
class ScannerConfig:
    """Where the scanner is and how its lines end."""

    port: str  # device path or pyserial URL, without our own options
    baudrate: int = 9600
    terminator: bytes | None = None  # None: CR or LF

    @classmethod
    def parse(cls, spec: str) -> ScannerConfig:
        """Parse ``/dev/ttyACM0?baudrate=9600&terminator=CR``; ValueError says what is wrong."""
        spec = spec.strip()
        if not spec:
            raise ValueError(
                "scanner: give a device path such as /dev/ttyACM0 or a pyserial URL such as loop://"
            )
        base, _, query = spec.partition("?")
        options = parse_qsl(query, keep_blank_values=True)
        ours = {k: v for k, v in options if k in ("baudrate", "terminator")}
        rest = [(k, v) for k, v in options if k not in ("baudrate", "terminator")]
        try:
            baudrate = int(ours.get("baudrate", "9600"))
        except ValueError:
            raise ValueError(
                f"scanner {spec!r}: baudrate must be a number, got {ours['baudrate']!r}"
            ) from None
        if baudrate <= 0:
            raise ValueError(f"scanner {spec!r}: baudrate must be positive")
        name = ours.get("terminator", "").upper()
        if name and name not in TERMINATORS:
            raise ValueError(
                f"scanner {spec!r}: terminator must be one of {', '.join(TERMINATORS)}"
            )
        port = f"{base}?{urlencode(rest)}" if rest else base
        return cls(port=port, baudrate=baudrate, terminator=TERMINATORS[name] if name else None)


class LineAssembler:
    """Bytes in, complete codes out; what follows the last terminator waits for the rest of its
    line."""

    def __init__(self, terminator: bytes | None = None) -> None:
        self.terminator = terminator
        self._buffer = bytearray()
        self._skip_lf = False  # auto mode: the LF of a CRLF pair ends nothing new

    def feed(self, data: bytes) -> list[str]:
        """Every line completed by this chunk, as text; empty lines and line noise are dropped."""
        if self.terminator is None:
            return self._feed_auto(data)
        self._buffer += data
        *lines, rest = bytes(self._buffer).split(self.terminator)
        self._buffer = bytearray(rest)
        self._guard()
        return [c for c in map(_code, lines) if c]

    def _feed_auto(self, data: bytes) -> list[str]:
        out = []
        for byte in data:
            if byte == 0x0A and self._skip_lf:
                self._skip_lf = False
                continue
            self._skip_lf = byte == 0x0D
            if byte in (0x0D, 0x0A):
                code = _code(bytes(self._buffer))
                self._buffer.clear()
                if code:
                    out.append(code)
            else:
                self._buffer.append(byte)
        self._guard()
        return out

    def _guard(self) -> None:
        if len(self._buffer) > MAX_CODE_LENGTH:
            log.warning("scanner: dropped %d bytes without a line end", len(self._buffer))
            self._buffer.clear()

    def discard(self) -> None:
        """Forget a partial line (the port closed mid-scan): it must never become a scan."""
        self._buffer.clear()


def _code(line: bytes) -> str:
    return line.decode("ascii", errors="replace").strip()


class Scanner(Protocol):
    """A barcode scanner that calls back with each complete scan while started."""

    connected: bool

    def start(self) -> None: ...

    def stop(self, timeout: float = 2.0) -> None: ...


class SerialScanner:
    """Scanner on pyserial: reads on a thread and calls `on_scan(code)` for each complete line."""

    def __init__(
        self,
        config: ScannerConfig,
        on_scan: Callable[[str], None],
        *,
        port: serial.SerialBase | None = None,
    ) -> None:
        self.config = config
        self.on_scan = on_scan
        self._given = port  # an already open port (e.g. loop:// in tests) is used as is
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.connected = False

    def start(self) -> None:
        """Start reading in the background."""
        self._thread = threading.Thread(target=self._run, name="scanner", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop reading; a partial line in flight is dropped."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _open(self) -> serial.SerialBase:
        if self._given is not None:
            return self._given
        return serial.serial_for_url(
            self.config.port, baudrate=self.config.baudrate, timeout=READ_TIMEOUT
        )

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                port = self._open()
            except (serial.SerialException, OSError, ValueError) as err:
                self.connected = False
                log.warning("scanner %s unavailable: %s", self.config.port, err)
                self._stop.wait(REOPEN_DELAY)
                continue
            self.connected = True
            assembler = LineAssembler(self.config.terminator)
            try:
                self._read(port, assembler)
            except (serial.SerialException, OSError) as err:
                # Unplugged mid-scan: whatever half line was read is thrown away with the assembler.
                log.warning("scanner %s disconnected: %s", self.config.port, err)
                self._stop.wait(REOPEN_DELAY)
            finally:
                assembler.discard()
                self.connected = False
                if self._given is None:
                    port.close()

    def _read(self, port: serial.SerialBase, assembler: LineAssembler) -> None:
        port.timeout = READ_TIMEOUT
        while not self._stop.is_set():
            data = port.read(max(1, port.in_waiting))
            if not data:
                continue
            for code in assembler.feed(data):
                try:
                    self.on_scan(code)
                except Exception:
                    log.exception("scan listener failed")


def wait_connected(scanner: SerialScanner, timeout: float = 5.0) -> bool:
    """Wait until the scanner's port is open (tests and start-up messages)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if scanner.connected:
            return True
        time.sleep(0.01)
    return False
