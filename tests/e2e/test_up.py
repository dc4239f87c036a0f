"""`tillflow up` on a fresh var dir: everything starts, a sale goes through, Ctrl-C stops it all,
and a second start reuses the data."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

TILLFLOW = [sys.executable, "-m", "tillflow.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(var: Path, api_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TILLFLOW_")}
    env.update(
        TILLFLOW_VAR_DIR=str(var),
        TILLFLOW_API_PORT=str(api_port),
        TILLFLOW_TEMPORAL_PORT=str(_free_port()),
        TILLFLOW_TEMPORAL_UI_PORT=str(_free_port()),
        TILLFLOW_LOCALSTRIPE_PORT=str(_free_port()),
        TILLFLOW_LOG_LEVEL="WARNING",
    )
    return env


def _start(env: dict[str, str], log: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        TILLFLOW + ["up"], env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, text=True
    )


def _wait_up(proc: subprocess.Popen[str], log: Path, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = log.read_text()
        if "Press Ctrl-C to stop everything." in out:
            return out
        assert proc.poll() is None, out
        time.sleep(0.3)
    raise AssertionError("tillflow up did not come up:\n" + log.read_text())


def _stop(proc: subprocess.Popen[str]) -> list[psutil.Process]:
    family = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 0
    return family


def test_busy_port_names_the_setting(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        run = subprocess.run(
            TILLFLOW + ["up"], env=_env(tmp_path, port), capture_output=True, text=True, timeout=60
        )
    assert run.returncode == 2
    assert f"Port {port}" in run.stderr and "TILLFLOW_API_PORT" in run.stderr


def test_up_runs_everything_stops_cleanly_and_reuses_data(tmp_path: Path) -> None:
    api_port = _free_port()
    env = _env(tmp_path / "var", api_port)
    log = tmp_path / "up.log"
    proc = _start(env, log)
    try:
        out = _wait_up(proc, log)
        assert "/docs" in out and "Temporal UI" in out and "carl 1001 / PIN 1234" in out
        base = f"http://127.0.0.1:{api_port}"
        assert httpx.get(f"{base}/health", timeout=10).json()["status"] == "ok"
        token = httpx.post(
            f"{base}/tills/BER1/login", json={"staff_code": "1001", "pin": "1234"}
        ).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        sale = httpx.post(
            f"{base}/tills/BER1/sales",
            headers=auth,
            timeout=30,
            json={
                "client_sale_id": "up-test-1",
                "lines": [{"sku": "MUG-STONE", "quantity": 1}],
                "tenders": [{"kind": "cash", "amount": 2000}],
            },
        ).json()
        assert sale["status"] == "completed"
        card = httpx.post(
            f"{base}/tills/BER1/sales",
            headers=auth,
            timeout=30,
            json={
                "client_sale_id": "up-test-card",
                "lines": [{"sku": "MUG-STONE", "quantity": 1}],
                "tenders": [{"kind": "card", "amount": 1490, "simulate": "pm_card_visa"}],
            },
        ).json()
        assert card["status"] == "completed" and card["tenders"][0]["card_last4"] == "4242"
        # Background work yields the CPU to the API: TILLFLOW_WORKER_NICE (default 10).
        children = psutil.Process(proc.pid).children(recursive=True)
        niceness = {
            " ".join(p.cmdline()[-2:]): p.nice() for p in children if "tillflow.cli" in p.cmdline()
        }
        assert niceness["tillflow.cli worker"] == 10 and niceness["tillflow.cli api"] == 0, niceness
        deadline = time.monotonic() + 30
        receipt = tmp_path / "var" / "receipts" / "BER1.bin"
        while not (receipt.exists() and sale["sale_id"].encode() in receipt.read_bytes()):
            assert time.monotonic() < deadline, "the demo till never printed the receipt"
            time.sleep(0.3)
        # The demo's Lisbon store signs as Portuguese certified software does (a demo series,
        # signed locally): its receipt carries the ATCUD and money written the Portuguese way.
        luis = httpx.post(
            f"{base}/tills/LIS1/login", json={"staff_code": "2001", "pin": "1234"}
        ).json()["token"]
        lisbon = httpx.post(
            f"{base}/tills/LIS1/sales",
            headers={"Authorization": f"Bearer {luis}"},
            timeout=30,
            json={
                "client_sale_id": "up-test-lisbon",
                "lines": [{"sku": "MUG-STONE", "quantity": 1}],
                "tenders": [{"kind": "cash", "amount": 2000}],
            },
        ).json()
        assert lisbon["status"] == "completed", lisbon
        slip = tmp_path / "var" / "receipts" / "LIS1.bin"
        while not (slip.exists() and b"ATCUD:DEMOFS00-1" in slip.read_bytes()):
            assert time.monotonic() < deadline + 30, "the Lisbon receipt has no ATCUD"
            time.sleep(0.3)
        assert b"14,90" in slip.read_bytes()  # pt_PT: a decimal comma
    finally:
        family = _stop(proc) if proc.poll() is None else []
    assert family and not [
        p for p in family if p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    ]

    proc = _start(env, log)
    try:
        out = _wait_up(proc, log)
        assert "already there" in out
        token = httpx.post(
            f"http://127.0.0.1:{api_port}/tills/BER1/login",
            json={"staff_code": "1001", "pin": "1234"},
        ).json()["token"]
        again = httpx.get(
            f"http://127.0.0.1:{api_port}/tills/BER1/sales/{sale['sale_id']}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert again.status_code == 200 and again.json()["total"] == sale["total"]
    finally:
        if proc.poll() is None:
            _stop(proc)
