"""`tillflow up` as a subprocess (its own var dir, database and free ports): the API and a device
worker are killed while a sale is in flight, come back, and the sale is recorded exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers.tills import free_port
from helpers.webstore import eventually
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text
from temporalio.service import RPCError

from api.auth import hash_secret
from db import migrate
from db.seed import seed_demo
from db.session import Database, sqlalchemy_url
from tillflow.temporal import connect


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


def _seed_one_till(url: str, receipts: Path) -> None:
    """The demo retailer without shifts, and only till BER1 active: `up` then starts one device
    worker and BER1's till agent, not four of each."""
    receipts.mkdir(parents=True)
    migrate.upgrade(url)
    db = Database(url, pool_size=1)
    with db.unit_of_work() as s:
        seed_demo(s, hash_secret=hash_secret, receipts_dir=receipts, shifts_required=False)
        s.execute(text("UPDATE tills SET active = false WHERE code <> 'BER1'"))
    db.dispose()


@pytest.fixture
def stack(tmp_path: Path, scratch_database: Any, pg_server: Any) -> Iterator[dict[str, Any]]:
    name = f"tillflow_up_{uuid.uuid4().hex[:8]}"
    url = scratch_database(name)
    var = tmp_path / "var"
    _seed_one_till(url, var / "receipts")
    ports = {
        "api": free_port(),
        "temporal": free_port(),
        "ui": free_port(),
        "stripe": free_port(),
        "worker_metrics": free_port(),
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("TILLFLOW_")}
    env |= {
        "TILLFLOW_VAR_DIR": str(var),
        "TILLFLOW_DATABASE_URL": url,
        "TILLFLOW_API_PORT": str(ports["api"]),
        "TILLFLOW_TEMPORAL_PORT": str(ports["temporal"]),
        "TILLFLOW_TEMPORAL_UI_PORT": str(ports["ui"]),
        "TILLFLOW_LOCALSTRIPE_PORT": str(ports["stripe"]),
        "TILLFLOW_WORKER_METRICS_PORT": str(ports["worker_metrics"]),
        "TILLFLOW_WORKER_NICE": "0",
        "TILLFLOW_LOG_FORMAT": "text",
        "TILLFLOW_DEMO_SEED": "false",  # seeded above, with one till: fewer processes to start
    }
    out = (tmp_path / "up.out").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tillflow.cli", "up"],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=tmp_path,
    )
    try:
        yield {"proc": proc, "var": var, "ports": ports, "out": tmp_path / "up.out", "url": url}
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        out.close()
        pg_server.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE);")


async def test_up_restarts_the_api_and_a_device_worker_and_no_sale_is_lost(stack) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    var: Path = stack["var"]
    out: Path = stack["out"]
    api_url = f"http://127.0.0.1:{stack['ports']['api']}"

    def banner() -> bool:
        assert stack["proc"].poll() is None, out.read_text()
        return "tillflow is up." in out.read_text()

    await eventually(banner, timeout=150, interval=0.5)
    engine = create_engine(sqlalchemy_url(stack["url"]))
    client = await connect(f"127.0.0.1:{stack['ports']['temporal']}")
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
        # The sale has started: the API (with its in-process sale worker) and BER1's device worker
        # die now, mid-sale.
        os.kill(api_pid, signal.SIGKILL)
        os.kill(dev_pid, signal.SIGKILL)
        first = await in_flight

        # Both come back, as new processes, said so in their logs.
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
        worker = f"http://127.0.0.1:{stack['ports']['worker_metrics']}/metrics"
        worker_metrics = _metric_names((await http.get(worker)).text)
        assert "tillflow_stock_sync_lag_seconds" in worker_metrics
        assert any(n.startswith("temporal_") for n in worker_metrics)
    engine.dispose()

    stack["proc"].send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(stack["proc"].wait, 60) == 0
