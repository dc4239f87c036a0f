"""`tillflow up` on a fresh var dir: everything starts, a sale goes through, Ctrl-C stops it all,
and a second start reuses the data. On that second start the API and a device worker are killed
while a sale is in flight: both come back and the sale is recorded exactly once.

(One `up` test, not two: each start of the whole stack costs the suite 20-30 s.)"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psutil
from helpers.webstore import eventually
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text
from temporalio.service import RPCError

from db.session import sqlalchemy_url
from tillflow.temporal import connect

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
        TILLFLOW_WORKER_METRICS_PORT=str(_free_port()),
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
        database = re.search(r"^ +PostgreSQL +(postgres\S+)$", out, re.MULTILINE)
        assert database, out
        asyncio.run(_kill_mid_sale_and_recover(env, tmp_path / "var", log, database.group(1)))
    finally:
        if proc.poll() is None:
            _stop(proc)


def _pid(var: Path, name: str) -> int:
    path = var / "run" / f"{name}.pid"
    return int(path.read_text()) if path.exists() else 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def _metric_names(body: str) -> set[str]:
    return {s.name for f in text_string_to_metric_families(body) for s in f.samples}


async def _kill_mid_sale_and_recover(env: dict[str, str], var: Path, out: Path, url: str) -> None:
    """The API (with its in-process sale worker) and BER1's device worker are killed while a sale
    is in flight; the supervisor restarts both, the till sends the sale again, and it is one
    sale. Then a receipt prints through the new device worker, and both the API and the central
    worker serve their metrics."""
    api_url = f"http://127.0.0.1:{env['TILLFLOW_API_PORT']}"
    engine = create_engine(sqlalchemy_url(url))
    client = await connect(f"127.0.0.1:{env['TILLFLOW_TEMPORAL_PORT']}")
    receipts = var / "receipts" / "BER1.bin"
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as http:
        login = await http.post("/tills/BER1/login", json={"staff_code": "1001", "pin": "1234"})
        assert login.status_code == 200, login.text
        auth = {"Authorization": f"Bearer {login.json()['token']}"}
        cid = uuid.uuid4().hex[:16]
        body = {
            "client_sale_id": cid,
            "lines": [{"sku": "NOTEBOOK-A5", "quantity": 1}],
            "tenders": [{"kind": "cash", "amount": 2000}],
        }
        workflow_id = f"sale:BER1:{cid}"
        api_pid, dev_pid = _pid(var, "api"), _pid(var, "devices-BER1")
        assert _alive(api_pid) and _alive(dev_pid)

        async def post() -> httpx.Response | Exception:
            try:
                return await http.post("/tills/BER1/sales", json=body, headers=auth)
            except httpx.HTTPError as err:
                return err

        in_flight = asyncio.create_task(post())

        async def started() -> bool:
            try:
                await client.get_workflow_handle(workflow_id).describe()
            except RPCError:
                return False
            return True

        await eventually(started, timeout=30, interval=0.01)
        os.kill(api_pid, signal.SIGKILL)  # mid-sale
        os.kill(dev_pid, signal.SIGKILL)
        first = await in_flight

        # Both come back, as new processes, and say so in their logs.
        await eventually(
            lambda: _pid(var, "api") not in (0, api_pid) and _pid(var, "devices-BER1") != dev_pid,
            timeout=60,
        )

        async def healthy() -> bool:
            try:
                return (await http.get("/health")).status_code == 200
            except httpx.HTTPError:
                return False

        await eventually(healthy, timeout=90, interval=0.5)
        assert "api exited with code -9" in (var / "logs" / "api.log").read_text()
        assert "devices-BER1 restarted" in (var / "logs" / "devices-BER1.log").read_text()
        assert "restarting in" in out.read_text()

        # The till sends the sale again (it never heard the answer, or did): one sale, the same.
        again = await http.post("/tills/BER1/sales", json=body, headers=auth)
        assert again.status_code == 200, again.text
        assert again.json()["status"] == "completed"
        if isinstance(first, httpx.Response) and first.status_code == 200:
            assert first.json()["sale_id"] == again.json()["sale_id"]
        with engine.connect() as conn:
            orders = conn.execute(
                text("SELECT count(*) FROM orders WHERE workflow_id = :w"), {"w": workflow_id}
            ).scalar_one()
            movements = conn.execute(
                text("SELECT coalesce(sum(delta), 0) FROM stock_movements WHERE workflow_id = :w"),
                {"w": workflow_id},
            ).scalar_one()
        assert orders == 1 and movements == -1

        # The new device worker prints: the receipt of a sale after the restart lands.
        size = receipts.stat().st_size if receipts.exists() else 0
        second = await http.post(
            "/tills/BER1/sales",
            json=body | {"client_sale_id": uuid.uuid4().hex[:16]},
            headers=auth,
        )
        assert second.status_code == 200, second.text
        await eventually(
            lambda: receipts.exists() and receipts.stat().st_size > size, timeout=60, interval=0.3
        )

        # Metrics: the API and the central worker, each with the Temporal SDK's own.
        api_metrics = _metric_names((await http.get("/metrics")).text)
        assert "tillflow_sales_total" in api_metrics
        assert any(n.startswith("temporal_") for n in api_metrics), sorted(api_metrics)[:20]
        worker = f"http://127.0.0.1:{env['TILLFLOW_WORKER_METRICS_PORT']}/metrics"
        worker_metrics = _metric_names((await http.get(worker)).text)
        assert "tillflow_stock_sync_lag_seconds" in worker_metrics
        assert any(n.startswith("temporal_") for n in worker_metrics)
    engine.dispose()
