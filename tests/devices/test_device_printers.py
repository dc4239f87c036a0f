"""Printer URLs and the python-escpos classes they open."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from escpos.printer import Dummy, Network, Serial

from devices.printers import (
    AppendFile,
    EscposPrinter,
    PrinterConfig,
    PrinterUnavailable,
    open_printer,
)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("file:/tmp/r.bin", PrinterConfig("file", path="/tmp/r.bin")),
        ("file:var/receipts/T1.bin", PrinterConfig("file", path="var/receipts/T1.bin")),
        ("file:///tmp/r.bin", PrinterConfig("file", path="/tmp/r.bin")),
        ("tcp://10.0.0.5:9101", PrinterConfig("tcp", host="10.0.0.5", port=9101)),
        ("tcp://printer.local", PrinterConfig("tcp", host="printer.local", port=9100)),
        ("tcp://10.0.0.5:9100?timeout=2.5", PrinterConfig("tcp", host="10.0.0.5", timeout=2.5)),
        (
            "serial:/dev/ttyUSB0?baudrate=19200",
            PrinterConfig("serial", path="/dev/ttyUSB0", baudrate=19200),
        ),
        ("serial:/dev/ttyS0", PrinterConfig("serial", path="/dev/ttyS0", baudrate=9600)),
        ("usb:0x04b8:0x0202", PrinterConfig("usb", vendor_id=0x04B8, product_id=0x0202)),
        ("USB:04b8:0e15", PrinterConfig("usb", vendor_id=0x04B8, product_id=0x0E15)),
        ("dummy:", PrinterConfig("dummy")),
        ("dummy:?profile=TM-T88V", PrinterConfig("dummy", profile="TM-T88V")),
    ],
)
def test_parse(url: str, expected: PrinterConfig) -> None:
    assert PrinterConfig.parse(url) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "unsupported printer URL"),
        ("/dev/usb/lp0", "unsupported printer URL"),
        ("lpt:/dev/lp0", "unsupported printer URL"),
        ("tcp://", "has no host"),
        ("tcp://host:notaport", "invalid port"),
        ("tcp://host:9100?baudrate=9600", "unknown option(s) baudrate"),
        ("tcp://host:9100?timeout=soon", "timeout must be a number"),
        ("tcp://host:9100?timeout=0", "timeout must be positive"),
        ("serial:/dev/ttyUSB0?baudrate=fast", "baudrate must be a number"),
        ("serial:", "has no path"),
        ("file:", "has no path"),
        ("file://server/share/r.bin", "remote host"),
        ("usb:0x04b8", "expected usb:VENDOR:PRODUCT"),
        ("usb:0x04b8:0x0202:7", "expected usb:VENDOR:PRODUCT"),
        ("usb:0x0:0x0202", "between 0x0001 and 0xffff"),
        ("dummy:?profile=NoSuchPrinter", "unknown escpos profile"),
    ],
)
def test_bad_urls_say_what_is_wrong(url: str, message: str) -> None:
    with pytest.raises(ValueError, match="printer URL") as err:
        PrinterConfig.parse(url)
    assert message in str(err.value)


def test_describe_round_trips() -> None:
    for url in ("tcp://10.0.0.5:9100", "usb:0x04b8:0x0202", "dummy:", "serial:/dev/ttyUSB0"):
        assert PrinterConfig.parse(url).describe() == url


def test_open_builds_the_escpos_classes(tmp_path: Path) -> None:
    file_printer = open_printer(PrinterConfig.parse(f"file:{tmp_path}/r.bin"))
    assert isinstance(file_printer, AppendFile)
    file_printer.close()
    assert isinstance(open_printer(PrinterConfig.parse("dummy:")), Dummy)


def test_file_printer_appends_and_creates_folders(tmp_path: Path) -> None:
    target = tmp_path / "var" / "receipts" / "T1.bin"
    printer = EscposPrinter(PrinterConfig.parse(f"file:{target}"))
    assert printer.send(b"first") == 5
    assert printer.send(b"second") == 6
    assert target.read_bytes() == b"firstsecond"


def test_unreachable_network_printer(tmp_path: Path) -> None:
    port = closed_port()
    with pytest.raises(PrinterUnavailable, match=f"tcp://127.0.0.1:{port} is unavailable"):
        EscposPrinter(PrinterConfig.parse(f"tcp://127.0.0.1:{port}?timeout=2")).send(b"x")


def test_network_printer_receives_bytes() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        sent = EscposPrinter(PrinterConfig.parse(f"tcp://127.0.0.1:{port}")).send(b"\x1b@hello")
        conn, _ = server.accept()
        with conn:
            received = conn.recv(64)
    assert sent == 7
    assert received == b"\x1b@hello"


def test_missing_serial_device() -> None:
    config = PrinterConfig.parse("serial:/dev/tillflow-no-such-tty?baudrate=19200")
    with pytest.raises(PrinterUnavailable, match="serial:/dev/tillflow-no-such-tty"):
        open_printer(config)
    assert Serial.is_usable()
    assert Network.is_usable()


def test_missing_file_folder_is_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with pytest.raises(PrinterUnavailable):
        EscposPrinter(PrinterConfig.parse(f"file:{blocker}/r.bin")).send(b"x")
