"""The serial barcode scanner: whole lines only, none lost or merged, delivered to the till page
over SSE."""

from __future__ import annotations

import asyncio
import json
import os
import time

import pytest
import serial
from helpers.tills import free_port, wait_until

from devices.scanner import LineAssembler, ScannerConfig, SerialScanner, wait_connected


def test_scanner_settings_from_the_url() -> None:
    assert ScannerConfig.parse("/dev/ttyACM0") == ScannerConfig("/dev/ttyACM0", 9600, None)
    assert ScannerConfig.parse("/dev/ttyUSB0?baudrate=115200&terminator=crlf") == ScannerConfig(
        "/dev/ttyUSB0", 115200, b"\r\n"
    )
    assert (
        ScannerConfig.parse("loop://?logging=debug&terminator=LF").port == "loop://?logging=debug"
    )
    for bad, message in (
        ("", "device path"),
        ("/dev/x?baudrate=fast", "baudrate must be a number"),
        ("/dev/x?terminator=EOT", "terminator must be one of"),
    ):
        with pytest.raises(ValueError, match=message):
            ScannerConfig.parse(bad)


def test_lines_are_cut_only_at_terminators() -> None:
    auto = LineAssembler()
    assert auto.feed(b"4006381") == []  # half a scan is nothing yet
    assert auto.feed(b"000017\r\n40063810") == ["4006381000017"]
    assert auto.feed(b"00024\r\r\n\n 123 \n") == [
        "4006381000024",
        "123",
    ]  # blank lines are not scans
    tab = LineAssembler(b"\t")
    assert tab.feed(b"A\tB\tC") == ["A", "B"] and tab.feed(b"\t") == ["C"]
    noise = LineAssembler()
    assert noise.feed(b"x" * 1000) == [] and noise.feed(b"OK\r") == ["OK"]  # line noise is dropped


def test_loop_url_partial_line_is_never_committed() -> None:
    port = serial.serial_for_url("loop://", timeout=0.05)
    codes: list[str] = []
    scanner = SerialScanner(ScannerConfig.parse("loop://"), codes.append, port=port)
    scanner.start()
    assert wait_connected(scanner)
    port.write(b"A1\r\nB2\rC3\nPARTIAL")
    deadline = time.monotonic() + 5
    while len(codes) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    scanner.stop()
    assert codes == ["A1", "B2", "C3"]  # the unterminated "PARTIAL" died with the port


async def test_1000_scans_10ms_apart_through_a_pty_reach_the_page(start_agent) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    master, slave = os.openpty()
    try:
        # The central API is not needed for scans: point the agent at a closed port.
        agent = await start_agent(
            "BER1", f"http://127.0.0.1:{free_port()}", scanner=os.ttyname(slave)
        )
        await wait_until(
            lambda: agent.agent.scanner is not None and agent.agent.scanner.connected,
            10,
            "the scanner port to open",
        )
        expected = [f"{4006381000000 + i * 7:013d}" for i in range(1000)]
        received: list[str] = []

        async def read_events() -> None:
            async with agent.http.stream("GET", "/api/events") as response:
                event = ""
                async for line in response.aiter_lines():
                    if line.startswith("retry:"):
                        subscribed.set()
                    elif line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: ") and event == "scan":
                        received.append(json.loads(line[6:])["code"])
                        if len(received) == len(expected):
                            return

        def scan_all() -> None:
            for i, code in enumerate(expected):
                # Scanners differ: some end with CR, some with CRLF; both must give one scan each.
                os.write(master, code.encode() + (b"\r\n" if i % 2 else b"\r"))
                time.sleep(0.01)

        subscribed = asyncio.Event()
        reader = asyncio.create_task(read_events())
        await asyncio.wait_for(subscribed.wait(), 10)
        started = time.monotonic()
        await asyncio.to_thread(scan_all)
        await asyncio.wait_for(reader, 20)
        assert received == expected  # none lost, none merged, none split, in order
        assert time.monotonic() - started >= 10  # they really came 10 ms apart
    finally:
        os.close(master)
        os.close(slave)


async def test_scanner_unplugged_and_back(start_agent) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    agent = await start_agent(
        "BER1", f"http://127.0.0.1:{free_port()}", scanner="/dev/tillflow-no-scanner"
    )
    await asyncio.sleep(0.3)
    status = await agent.status()
    assert status["scanner"] is False  # shown, and the agent keeps running without it
