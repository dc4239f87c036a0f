"""Receipt printer connections from URL-ish strings, on python-escpos' printer classes.

    file:/path/to/receipts.bin          append each job's raw bytes to a file (demo tills, logs)
    tcp://host:9100?timeout=10          Ethernet printer (escpos Network)
    serial:/dev/ttyUSB0?baudrate=19200  serial printer (escpos Serial)
    usb:0x04b8:0x0202                   USB printer by vendor:product id (escpos Usb, needs pyusb)
    dummy:                              discard output (escpos Dummy), for tests

Every kind also takes ``?profile=NAME`` (a python-escpos capabilities profile, e.g. TM-T88V).
Network and serial printers take ``?status=on``: read the ESC/POS status (DLE EOT) before each
job and hold the job while the printer is out of paper, open or offline. It is off by default
because some print servers never answer DLE EOT, which would cost every job a wait.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal, Protocol, TypeVar
from urllib.parse import SplitResult, parse_qsl, urlsplit

from escpos.capabilities import get_profile
from escpos.escpos import Escpos
from escpos.exceptions import DeviceNotFoundError
from escpos.exceptions import Error as EscposError
from escpos.printer import Dummy, File, Network, Serial, Usb

from devices.status import READY, UNREACHABLE, PrinterStatus, query_status

N = TypeVar("N", int, float)
PrinterKind = Literal["file", "tcp", "serial", "usb", "dummy"]

_OPTIONS: dict[str, frozenset[str]] = {
    "file": frozenset({"profile"}),
    "tcp": frozenset({"profile", "timeout", "status"}),
    "serial": frozenset({"profile", "baudrate", "timeout", "status"}),
    "usb": frozenset({"profile"}),
    "dummy": frozenset({"profile"}),
}
_EXAMPLES = (
    "file:/path/receipts.bin, tcp://host:9100, serial:/dev/ttyUSB0?baudrate=19200,"
    " usb:0x04b8:0x0202, dummy:"
)


class PrinterUnavailable(Exception):
    """The printer could not be opened or written to; worth retrying later."""


class PrinterNotReady(PrinterUnavailable):
    """The printer answered that it cannot print now (no paper, cover open); the job waits."""

    def __init__(self, message: str, status: PrinterStatus) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class PrinterConfig:
    """Where a till's receipt printer is and how to talk to it."""

    kind: PrinterKind
    path: str = ""  # file or serial device
    host: str = ""
    port: int = 9100
    vendor_id: int = 0
    product_id: int = 0
    baudrate: int = 9600
    # Short by default: a blocked write must fail well inside the activity's heartbeat timeout.
    timeout: float = 10.0
    profile: str | None = None
    status: bool = False  # ask DLE EOT before each job (tcp and serial)

    @classmethod
    def parse(cls, url: str) -> PrinterConfig:
        """Parse a printer URL such as ``tcp://10.0.0.5:9100``; ValueError says what is wrong."""
        parts = urlsplit(url.strip())
        kind = parts.scheme.lower()
        if kind not in _OPTIONS:
            raise ValueError(f"unsupported printer URL {url!r}: expected one of {_EXAMPLES}")
        options = _options(url, kind, parts.query)
        profile = options.get("profile")
        timeout = _number(url, options, "timeout", 10.0, float)
        status = _switch(url, options, "status")
        if kind == "tcp":
            host, port = _host(url, parts.hostname), _port(url, parts)
            return cls("tcp", host=host, port=port, timeout=timeout, profile=profile, status=status)
        if kind == "usb":
            vendor, product = _usb_ids(url, parts.path)
            return cls("usb", vendor_id=vendor, product_id=product, profile=profile)
        if kind == "dummy":
            return cls("dummy", profile=profile)
        path = _local_path(url, parts.netloc, parts.path)
        if kind == "file":
            return cls("file", path=path, profile=profile)
        baudrate = _number(url, options, "baudrate", 9600, int)
        return cls(
            "serial", path=path, baudrate=baudrate, timeout=timeout, profile=profile, status=status
        )

    def describe(self) -> str:
        """A short name for messages and logs, e.g. ``tcp://10.0.0.5:9100``."""
        if self.kind == "tcp":
            return f"tcp://{self.host}:{self.port}"
        if self.kind == "usb":
            return f"usb:{self.vendor_id:#06x}:{self.product_id:#06x}"
        if self.kind == "dummy":
            return "dummy:"
        return f"{self.kind}:{self.path}"


class AppendFile(File):
    """escpos File printer that appends: escpos' own File opens with 'wb' and would wipe the log."""

    def open(self, raise_not_found: bool = True) -> None:
        """Open the file for appending, creating its folder (e.g. ./var/receipts/) on first use."""
        if self._device:
            self.close()
        try:
            Path(self.devfile).parent.mkdir(parents=True, exist_ok=True)
            handle: IO[bytes] = open(self.devfile, "ab")  # noqa: SIM115 - closed by close()
        except OSError as err:
            self.device = None
            if raise_not_found:
                raise DeviceNotFoundError(f"Could not open the file {self.devfile}: {err}") from err
            return
        self.device = handle


class RawPrinter(Protocol):
    """Sends one finished ESC/POS byte stream to a device."""

    def send(self, data: bytes) -> int: ...

    def describe(self) -> str: ...


class EscposPrinter:
    """RawPrinter on python-escpos: opens the device per job, writes once, closes."""

    def __init__(self, config: PrinterConfig) -> None:
        self.config = config

    def describe(self) -> str:
        """The printer's URL-ish name."""
        return self.config.describe()

    def status(self) -> PrinterStatus:
        """The printer's status now (DLE EOT); "ready" for printers that cannot tell."""
        if not self.config.status:
            return PrinterStatus(READY, "ready (status not read from this printer)")
        try:
            printer = open_printer(self.config)
        except PrinterUnavailable as err:
            return PrinterStatus(UNREACHABLE, str(err))
        try:
            return query_status(printer)
        except (EscposError, OSError) as err:
            return PrinterStatus(
                UNREACHABLE, f"printer {self.describe()} failed while answering: {err}"
            )
        finally:
            _close_quietly(printer)

    def send(self, data: bytes) -> int:
        """Write all bytes in one call; PrinterUnavailable when the device cannot be reached."""
        printer = open_printer(self.config)
        try:
            if self.config.status:
                # Checked on the same connection as the job, so nothing can slip in between.
                status = query_status(printer)
                if not status.can_print:
                    raise PrinterNotReady(f"printer {self.describe()}: {status.detail}", status)
            # escpos has no public raw write; _raw is what its own Dummy docs point to.
            printer._raw(data)
        except (EscposError, OSError) as err:
            raise PrinterUnavailable(
                f"printer {self.describe()} failed while writing: {err}"
            ) from err
        finally:
            _close_quietly(printer)
        return len(data)


def open_printer(config: PrinterConfig) -> Escpos:
    """Build and open the python-escpos printer for a config; PrinterUnavailable if it cannot."""
    printer = _build(config)
    try:
        printer.open()
    except (EscposError, OSError) as err:
        raise PrinterUnavailable(f"printer {config.describe()} is unavailable: {err}") from err
    return printer


def _build(config: PrinterConfig) -> Escpos:
    profile = config.profile
    if config.kind == "file":
        return AppendFile(config.path, profile=profile)
    if config.kind == "tcp":
        return Network(config.host, port=config.port, timeout=config.timeout, profile=profile)
    if config.kind == "serial":
        return Serial(
            config.path, baudrate=config.baudrate, timeout=config.timeout, profile=profile
        )
    if config.kind == "usb":
        if not Usb.is_usable():
            raise PrinterUnavailable(
                f"printer {config.describe()} needs pyusb, which is not installed"
            )
        return Usb(config.vendor_id, config.product_id, profile=profile)
    return Dummy(profile=profile)


def _close_quietly(printer: Escpos) -> None:
    # A failed close must not hide the write's own error or turn a printed job into a failure.
    with contextlib.suppress(EscposError, OSError):
        printer.close()


def _options(url: str, kind: str, query: str) -> dict[str, str]:
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError as err:
        raise ValueError(f"printer URL {url!r} has a malformed query: {err}") from err
    options = dict(pairs)
    unknown = sorted(set(options) - _OPTIONS[kind])
    if unknown:
        allowed = ", ".join(sorted(_OPTIONS[kind]))
        raise ValueError(
            f"printer URL {url!r}: unknown option(s) {', '.join(unknown)}; {kind} takes {allowed}"
        )
    profile = options.get("profile")
    if profile is not None:
        try:
            get_profile(profile)
        except KeyError:
            raise ValueError(f"printer URL {url!r}: unknown escpos profile {profile!r}") from None
    return options


def _number(url: str, options: dict[str, str], name: str, default: N, cast: type[N]) -> N:
    if name not in options:
        return default
    try:
        value = cast(options[name])
    except ValueError:
        raise ValueError(
            f"printer URL {url!r}: {name} must be a number, got {options[name]!r}"
        ) from None
    if value <= 0:
        raise ValueError(f"printer URL {url!r}: {name} must be positive")
    return value


def _switch(url: str, options: dict[str, str], name: str) -> bool:
    value = options.get(name, "off").lower()
    if value not in ("on", "off", "true", "false", "1", "0"):
        raise ValueError(f"printer URL {url!r}: {name} must be on or off, got {options[name]!r}")
    return value in ("on", "true", "1")


def _host(url: str, hostname: str | None) -> str:
    if not hostname:
        raise ValueError(f"printer URL {url!r} has no host; expected tcp://host:9100")
    return hostname


def _port(url: str, parts: SplitResult) -> int:
    try:
        port = parts.port
    except ValueError:
        raise ValueError(
            f"printer URL {url!r} has an invalid port; expected tcp://host:9100"
        ) from None
    return 9100 if port is None else int(port)


def _usb_ids(url: str, path: str) -> tuple[int, int]:
    ids = path.split(":")
    try:
        vendor, product = (int(part, 16) for part in ids)
    except ValueError:
        raise ValueError(
            f"printer URL {url!r}: expected usb:VENDOR:PRODUCT in hex, e.g. usb:0x04b8:0x0202"
        ) from None
    if not (0 < vendor <= 0xFFFF and 0 < product <= 0xFFFF):
        raise ValueError(f"printer URL {url!r}: USB ids must be between 0x0001 and 0xffff")
    return vendor, product


def _local_path(url: str, netloc: str, path: str) -> str:
    # file:///abs and file://localhost/abs are the standard spellings; other hosts are not local.
    if netloc not in ("", "localhost"):
        raise ValueError(
            f"printer URL {url!r} names a remote host; use a local path like file:/path"
        )
    if not path:
        raise ValueError(f"printer URL {url!r} has no path")
    return path
