"""A till that was offline closes its shift from its journal once it uploads: the offline sales
first (they belong to the shift), then the blind close as the Shift's close update, the Z printed
once on the till's printer; a repeated upload changes nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers.tills import Served, login, wait_until
from helpers.webstore import eventually
from sqlalchemy import func, select
from temporalio.worker import Worker

from activities.replay_shift import offline_shift_activities
from activities.shifts import shift_activities
from db.models import AuditEntry, Location, Till
from db.session import Database
from devices.worker import build_device_worker
from domain.shifts import denominations
from tills.journal import APPLIED
from tills.offline_shift import close_offline
from workflows.shift import ShiftWorkflow

QUEUE = f"test-offline-shift-{uuid.uuid4().hex[:8]}"
FLOAT = [{"denomination": 2000, "quantity": 5}, {"denomination": 100, "quantity": 50}]  # 150.00


@dataclass
class OfflineTill:
    code: str
    printer: Path
    central: Served
    http: httpx.AsyncClient


@pytest.fixture(scope="module")
async def offline_till(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db: Database, temporal_client, test_settings, gateway, api, tmp_path_factory
) -> AsyncIterator[OfflineTill]:
    """A till of its own at BER, its device worker printing to a file, the Shift worker (with the
    offline close's activity) on a queue of its own, and a central API starting shifts there."""
    from api.app import create_app

    code = f"O{uuid.uuid4().hex[:6].upper()}"
    with db.unit_of_work() as s:
        ber = s.scalar(select(Location.id).where(Location.code == "BER"))
        s.add(Till(code=code, location_id=ber, name=f"Offline close {code}", active=True))
    root = tmp_path_factory.mktemp("offline-shift")
    printer = root / f"{code}.bin"
    devices = build_device_worker(
        temporal_client, code, f"file:{printer}", root / f"{code}.jobs.sqlite"
    )
    worker = Worker(
        temporal_client,
        task_queue=QUEUE,
        workflows=[ShiftWorkflow],
        activities=[*shift_activities(db), *offline_shift_activities(db)],
        activity_executor=ThreadPoolExecutor(4),
    )
    tasks = [asyncio.create_task(w.run()) for w in (devices, worker)]
    settings = test_settings.model_copy(
        update={"shift_task_queue": QUEUE, "shift_variance_threshold": 100}
    )
    central = Served(
        lambda: create_app(
            settings, db=db, client=temporal_client, gateway=gateway, run_worker=False
        )
    )
    await central.start()
    http = httpx.AsyncClient(base_url=central.url, timeout=60)
    yield OfflineTill(code=code, printer=printer, central=central, http=http)
    await http.aclose()
    await central.stop()
    await worker.shutdown()
    await devices.shutdown()
    await asyncio.gather(*tasks)


def key(h: dict[str, str]) -> dict[str, str]:
    return {**h, "Idempotency-Key": uuid.uuid4().hex}


def in_notes(amount: int) -> list[dict[str, int]]:
    """An amount of euros as a drawer holds it (largest notes and coins first)."""
    out = []
    for d in denominations("EUR"):
        if amount >= d:
            out.append({"denomination": d, "quantity": amount // d})
            amount %= d
    return out


async def open_shift(t: OfflineTill, h: dict[str, str]) -> dict[str, Any]:
    r = await t.http.post(f"/tills/{t.code}/shifts", json={"float": FLOAT}, headers=key(h))
    assert r.status_code == 201, r.text
    return dict(r.json())


def z_prints(t: OfflineTill) -> int:
    return t.printer.read_bytes().count(b"Z REPORT") if t.printer.exists() else 0


def offline_closes(db: Database, shift_workflow_id: str) -> int:
    with db.unit_of_work() as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(
                    AuditEntry.action == "shift.close_offline",
                    AuditEntry.workflow_id == shift_workflow_id,
                )
            )
            or 0
        )


async def test_offline_sales_then_offline_close_close_the_shift_once(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    offline_till, start_agent, db
) -> None:
    t = offline_till
    cora = await login(t.http, t.code, "1002", "2345")
    shift = await open_shift(t, cora)
    n = shift["n"]
    agent = await start_agent(t.code, t.central.url)
    await agent.login("1002", "2345")
    await wait_until(lambda: agent.agent.snapshot is not None and agent.agent.online, 10, "online")
    # What the agent's shift screens keep of central's answer: the shift the till is in.
    agent.agent.journal.remember_shift(n, "open")

    await t.central.stop()  # the store's link goes down
    takings = 0
    for _ in range(2):
        r = await agent.post(
            "/api/sales",
            {
                "client_sale_id": f"off-{uuid.uuid4().hex[:10]}",
                "lines": [{"sku": "NOTEBOOK-A5", "quantity": 1}],
                "tenders": [{"kind": "cash", "amount": 5000}],
            },
        )
        assert r.status_code == 200 and r.json()["offline"] is True, r.text
        takings += r.json()["total"]
    session = agent.agent.sessions.get(agent.session["X-Till-Session"])
    assert session is not None
    body = {"cash": in_notes(15000 + takings), "tenders": []}
    answer = await close_offline(agent.agent, session, body)
    assert answer["status"] == "closing_offline" and "back online" in answer["message"]
    assert answer["n"] == n
    again = await close_offline(agent.agent, session, body)  # pressed twice: one close
    assert again == answer
    waiting = agent.agent.journal.waiting(50)
    assert [e.body.get("kind") for e in waiting] == [None, None, "shift_close"]  # sales first

    await t.central.start()  # back: the journal uploads, the shift closes from it
    await wait_until(
        lambda: agent.agent.journal.counts().get("waiting", 0) == 0, 60, "the journal to upload"
    )
    close_entry = agent.agent.journal.entry(waiting[-1].client_sale_id)
    assert close_entry is not None and close_entry.status == APPLIED, close_entry
    assert f"Shift {n} closed" in close_entry.message and "variance €0.00" in close_entry.message

    async def printed() -> Any:
        z = await t.http.get(f"/tills/{t.code}/shifts/{n}/z", headers=cora)
        return z.json() if z.status_code == 200 and z.json()["printed"] else None

    z = await eventually(printed)
    report = z["report"]
    assert report["sales_count"] == 2 and report["variance"] == 0  # the offline sales counted
    cash = next(line for line in report["tenders"] if line["tender"] == "cash")
    assert cash["expected"] == 15000 + takings == cash["counted"]
    assert z_prints(t) == 1
    assert offline_closes(db, shift["workflow_id"]) == 1

    # The agent crashed before it heard the answer: the same journal comes again.
    again_up = await t.http.post(
        f"/tills/{t.code}/journal",
        json={"batch_id": f"again-{uuid.uuid4().hex[:8]}", "entries": [e.body for e in waiting]},
        headers=cora,
    )
    assert again_up.status_code == 200, again_up.text
    outcomes = {e["client_sale_id"]: e for e in again_up.json()["entries"]}
    assert {e["status"] for e in outcomes.values()} == {"applied"}
    assert outcomes[waiting[-1].client_sale_id]["message"] == close_entry.message
    z_again = (await t.http.get(f"/tills/{t.code}/shifts/{n}/z", headers=cora)).json()
    assert z_again["z_number"] == z["z_number"] and z_again["report"] == report
    await asyncio.sleep(0.5)  # a second Z would be printing by now
    assert z_prints(t) == 1 and offline_closes(db, shift["workflow_id"]) == 1


def close_entry(n: int | None, cash: int, *, at: datetime | None = None) -> dict[str, Any]:
    return {
        "kind": "shift_close",
        "client_sale_id": f"shift-close:{n}:{uuid.uuid4().hex[:8]}",
        "n": n,
        "closed_at": (at or datetime.now(UTC)).isoformat(),
        "cashier": "cora",
        "cash": in_notes(cash),
        "tenders": [],
    }


async def test_a_short_offline_count_waits_for_the_manager_and_a_second_is_refused(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    offline_till, db
) -> None:
    t = offline_till
    cora = await login(t.http, t.code, "1002", "2345")
    shift = await open_shift(t, cora)
    n = shift["n"]

    async def upload(*entries: dict[str, Any]) -> dict[str, Any]:
        r = await t.http.post(
            f"/tills/{t.code}/journal",
            json={"batch_id": uuid.uuid4().hex[:12], "entries": list(entries)},
            headers=cora,
        )
        assert r.status_code == 200, r.text
        return {e["client_sale_id"]: e for e in r.json()["entries"]}

    short = close_entry(None, 15000 - 500)  # the shift unknown to the till: its open one
    first = (await upload(short))[short["client_sale_id"]]
    assert first["status"] == "applied" and "waits for a manager" in first["message"], first
    assert first["sale_id"] == shift["workflow_id"]
    current = await t.http.get(f"/tills/{t.code}/shifts/current", headers=cora)
    assert current.json()["status"] == "review" and current.json()["variance"] == -500

    # A second close of the same shift (another entry) is not applied over the first.
    second = close_entry(n, 15000)
    assert (await upload(second))[second["client_sale_id"]]["status"] == "flagged"
    # The first one again: the same answer, nothing counted twice.
    assert (await upload(short))[short["client_sale_id"]]["status"] == "applied"
    unknown = close_entry(n + 50, 15000)
    got = (await upload(unknown))[unknown["client_sale_id"]]
    assert got["status"] == "flagged" and f"no shift {n + 50}" in got["message"]
    early = close_entry(n, 15000, at=datetime.now(UTC) - timedelta(days=2))
    got = (await upload(early))[early["client_sale_id"]]
    assert got["status"] == "flagged"

    mia = await t.http.post("/auth/login", json={"username": "mia", "password": "manager-demo"})
    mh = {"Authorization": f"Bearer {mia.json()['token']}"}
    ok = await t.http.post(
        f"/tills/{t.code}/shifts/{n}/approve",
        json={"decision": "approve", "note": "5.00 short, counted twice"},
        headers=key(mh),
    )
    assert ok.status_code == 200 and ok.json()["status"] == "closed", ok.text
    after = (await upload(short))[short["client_sale_id"]]
    assert after["status"] == "applied" and f"Shift {n} closed" in after["message"]
    assert offline_closes(db, shift["workflow_id"]) == 1


async def test_a_bad_close_entry_is_a_422_with_a_message(offline_till) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    t = offline_till
    cora = await login(t.http, t.code, "1002", "2345")
    good = close_entry(1, 100)
    for entry, word in [
        ({**good, "closed_at": "2026-01-01T10:00:00"}, "timezone"),
        ({**good, "closed_at": (datetime.now(UTC) + timedelta(days=1)).isoformat()}, "future"),
        ({**good, "cash": [{"denomination": 0, "quantity": 1}]}, "denomination"),
        ({**good, "tenders": [{"tender": "cash", "amount": 1}]}, "tender"),
        ({**good, "lines": []}, "lines"),
    ]:
        r = await t.http.post(
            f"/tills/{t.code}/journal", json={"batch_id": "bad", "entries": [entry]}, headers=cora
        )
        assert r.status_code == 422, (entry, r.text)
        assert word in r.json()["error"]["message"], r.json()
