"""Device activities through Temporal's ActivityEnvironment: once-only printing and outages."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from escpos.constants import CD_KICK_2, HW_INIT, PAPER_FULL_CUT
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from contracts.devices import DeviceResult, DrawerKick, PrintJob, SaleDevices
from devices.activities import DeviceActivities, drawer_kick_bytes
from devices.printers import PrinterUnavailable
from devices.receipt import receipt_bytes


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(env: ActivityEnvironment, fn: Callable[[Any], DeviceResult], arg: Any) -> DeviceResult:
    return env.run(fn, arg)


@pytest.fixture
def heartbeats() -> list[object]:
    return []


@pytest.fixture
def env(heartbeats: list[object]) -> ActivityEnvironment:
    environment = ActivityEnvironment()
    environment.on_heartbeat = lambda *details: heartbeats.extend(details)
    return environment


def test_receipt_prints_once_per_job_id(
    tmp_path: Path, env: ActivityEnvironment, print_job: PrintJob, heartbeats: list[object]
) -> None:
    out = tmp_path / "receipts" / "T1.bin"
    acts = DeviceActivities(f"file:{out}", "T1", tmp_path / "devices.sqlite")
    first = run(env, acts.print_receipt, print_job)
    again = run(env, acts.print_receipt, print_job)

    expected = receipt_bytes(print_job.receipt)
    assert out.read_bytes() == expected
    assert first == DeviceResult(
        job_id=print_job.job_id, done=True, detail=f"sent to file:{out}", bytes_sent=len(expected)
    )
    assert again.done and again.bytes_sent == len(expected)
    assert again.detail.startswith(f"already done on file:{out} at ")
    assert heartbeats == []  # a job done in a moment costs the server no heartbeat writes


class FakeSlowPrinter:
    """A printer (RawPrinter) on a slow link: each job takes a moment to go out."""

    def describe(self) -> str:
        return "fake-slow"

    def send(self, data: bytes) -> int:
        time.sleep(0.05)
        return len(data)


def test_a_slow_job_reports_progress(
    tmp_path: Path, env: ActivityEnvironment, print_job: PrintJob, heartbeats: list[object]
) -> None:
    acts = DeviceActivities(
        "file:/dev/null",
        "T1",
        tmp_path / "devices.sqlite",
        printer=FakeSlowPrinter(),
        quiet_seconds=0.02,
    )
    assert env.run(acts.print_receipt, print_job).done
    assert heartbeats == ["sent"]  # the device worker is alive: the heartbeat timeout does not fire


def test_once_only_survives_a_worker_restart(
    tmp_path: Path, env: ActivityEnvironment, print_job: PrintJob
) -> None:
    out, journal = tmp_path / "T1.bin", tmp_path / "devices.sqlite"
    run(env, DeviceActivities(f"file:{out}", "T1", journal).print_receipt, print_job)
    run(env, DeviceActivities(f"file:{out}", "T1", journal).print_receipt, print_job)
    assert out.read_bytes() == receipt_bytes(print_job.receipt)


def test_each_job_appends(tmp_path: Path, env: ActivityEnvironment, print_job: PrintJob) -> None:
    out = tmp_path / "T1.bin"
    acts = DeviceActivities(f"file:{out}", "T1", tmp_path / "devices.sqlite")
    second = PrintJob(job_id="receipt:reprint:1", receipt=print_job.receipt)
    run(env, acts.print_receipt, print_job)
    run(env, acts.print_receipt, second)
    data = out.read_bytes()
    assert data == receipt_bytes(print_job.receipt) * 2
    assert data.count(HW_INIT) == 2 and data.count(PAPER_FULL_CUT) == 2


def test_drawer_kick_sends_the_pulse_once(
    tmp_path: Path, env: ActivityEnvironment, drawer_kick: DrawerKick
) -> None:
    out = tmp_path / "T1.bin"
    acts = DeviceActivities(f"file:{out}", "T1", tmp_path / "devices.sqlite")
    result = run(env, acts.open_drawer, drawer_kick)
    run(env, acts.open_drawer, drawer_kick)
    assert out.read_bytes() == CD_KICK_2 == b"\x1b\x70\x00\x32\x32"
    assert result.bytes_sent == len(CD_KICK_2) and drawer_kick_bytes() == CD_KICK_2


def test_receipt_and_drawer_jobs_may_share_an_id(
    tmp_path: Path, env: ActivityEnvironment, print_job: PrintJob
) -> None:
    out = tmp_path / "T1.bin"
    acts = DeviceActivities(f"file:{out}", "T1", tmp_path / "devices.sqlite")
    run(env, acts.print_receipt, print_job)
    run(env, acts.open_drawer, DrawerKick(job_id=print_job.job_id, till_code="T1", reason="sale"))
    assert out.read_bytes() == receipt_bytes(print_job.receipt) + CD_KICK_2


def test_drawer_of_another_till_is_refused(tmp_path: Path, env: ActivityEnvironment) -> None:
    out = tmp_path / "T1.bin"
    acts = DeviceActivities(f"file:{out}", "T1", tmp_path / "devices.sqlite")
    with pytest.raises(ApplicationError) as err:
        run(env, acts.open_drawer, DrawerKick(job_id="k1", till_code="T2", reason="sale"))
    assert err.value.type == "WrongTill" and err.value.non_retryable
    assert not out.exists()


def test_unreachable_printer_is_a_retryable_outage(
    tmp_path: Path, env: ActivityEnvironment, print_job: PrintJob, drawer_kick: DrawerKick
) -> None:
    port = closed_port()
    journal = tmp_path / "devices.sqlite"
    acts = DeviceActivities(f"tcp://127.0.0.1:{port}?timeout=2", "T1", journal)
    for fn, arg in ((acts.print_receipt, print_job), (acts.open_drawer, drawer_kick)):
        with pytest.raises(ApplicationError) as err:
            run(env, fn, arg)
        assert err.value.type == "PrinterUnavailable"
        assert not err.value.non_retryable
        assert f"till T1: printer tcp://127.0.0.1:{port} is unavailable" in err.value.message

    # Nothing was recorded, so the retry after the outage prints.
    with socket.socket() as server:
        server.bind(("127.0.0.1", port))
        server.listen(1)
        result = run(env, acts.print_receipt, print_job)
        conn, _ = server.accept()
        with conn:
            received = b""
            while chunk := conn.recv(65536):
                received += chunk
    assert received == receipt_bytes(print_job.receipt)
    assert result.bytes_sent == len(received)


def test_bad_printer_url_fails_at_construction(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unsupported printer URL"):
        DeviceActivities("lp0", "T1", tmp_path / "devices.sqlite")


class FakeRollPrinter:
    """A printer (RawPrinter) whose roll runs out after the drawer kick, until staff put one in."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.paper = False

    def describe(self) -> str:
        return "fake-roll"

    def send(self, data: bytes) -> int:
        if data != drawer_kick_bytes() and not self.paper:
            raise PrinterUnavailable("out of paper")
        self.received.append(data)
        return len(data)


def test_sale_devices_kicks_once_and_prints_when_paper_is_back(
    tmp_path: Path, env: ActivityEnvironment, print_job: PrintJob, drawer_kick: DrawerKick
) -> None:
    printer = FakeRollPrinter()
    acts = DeviceActivities("file:/dev/null", "T1", tmp_path / "devices.sqlite", printer=printer)
    job = SaleDevices(receipt=print_job, drawer=drawer_kick)
    with pytest.raises(ApplicationError) as err:
        env.run(acts.sale_devices, job)
    assert err.value.type == "PrinterUnavailable" and not err.value.non_retryable
    assert printer.received == [drawer_kick_bytes()]  # the customer's change is not held up

    printer.paper = True  # the retry skips the kick that went out
    done = env.run(acts.sale_devices, job)
    assert printer.received == [drawer_kick_bytes(), receipt_bytes(print_job.receipt)]
    assert (
        done.drawer is not None
        and done.drawer.done
        and done.drawer.detail.startswith("already done")
    )
    assert done.receipt == DeviceResult(
        job_id=print_job.job_id,
        done=True,
        detail="sent to fake-roll",
        bytes_sent=len(printer.received[1]),
    )


def test_sale_devices_without_cash_only_prints(
    tmp_path: Path, env: ActivityEnvironment, print_job: PrintJob
) -> None:
    out = tmp_path / "T1.bin"
    done = env.run(
        DeviceActivities(f"file:{out}", "T1", tmp_path / "devices.sqlite").sale_devices,
        SaleDevices(receipt=print_job),
    )
    assert done.drawer is None and done.receipt.done
    assert out.read_bytes() == receipt_bytes(print_job.receipt)
