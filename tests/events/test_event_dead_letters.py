"""A receiver that refuses everything: the event is retried with exponential backoff for the day
(on the time-skipping server), then lands on the dead-letter list; an admin's replay delivers it
with the same id."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers.api import own_api, password_login
from helpers.event_receiver import EventReceiver
from helpers.webstore import eventually
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.event_delivery import event_delivery_activities
from contracts.events import event_delivery_workflow_id
from db.repositories import events
from db.session import Database
from domain.events import Event, backoff_s
from tillflow.payloads import DATA_CONVERTER
from tillflow.workers import sandbox_runner
from workflows.event_delivery import EventDeliveryWorkflow

QUEUE = f"tillflow-events-skipping-{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
async def skipping(db: Database) -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(Path(sys.executable).parent / "temporal-test-server"),
        data_converter=DATA_CONVERTER,
    )
    worker = Worker(
        env.client,
        task_queue=QUEUE,
        workflows=[EventDeliveryWorkflow],
        activities=event_delivery_activities(db, timeout_s=5.0),
        activity_executor=ThreadPoolExecutor(4),
        workflow_runner=sandbox_runner(),
    )
    async with worker:
        yield env
    await env.shutdown()


@pytest.fixture(scope="module")
async def sapi(db: Database, skipping: WorkflowEnvironment, test_settings, gateway) -> Any:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """The API on the time-skipping server with the production defaults for retries."""
    settings = test_settings.model_copy(
        update={
            "events_allow_private_urls": True,
            "events_poll_ms": 100,
            "events_wait_s": 1.0,
            "web_task_queue": QUEUE,
        }
    )
    async with own_api(settings, db=db, client=skipping.client, gateway=gateway) as at:
        yield at("127.0.0.1")


def _expected_attempts(window_s: float = 86400, initial_s: float = 30, cap_s: float = 3600) -> int:
    elapsed, attempt = 0.0, 0
    while True:
        attempt += 1
        wait = backoff_s(attempt, initial_s=initial_s, cap_s=cap_s)
        if elapsed + wait > window_s:
            return attempt
        elapsed += wait


async def test_a_refused_event_is_dead_lettered_after_a_day_and_replayed(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    sapi, db: Database, skipping: WorkflowEnvironment
) -> None:
    admin = await password_login(sapi, "admin", "admin-demo")
    receiver = EventReceiver(fail_all=True).start()
    try:
        code = f"dead-{uuid.uuid4().hex[:8]}"
        r = await sapi.post(
            "/events/subscriptions",
            json={"code": code, "url": receiver.url, "event_types": ["order.cancelled"]},
            headers=admin,
        )
        assert r.status_code == 201, r.text
        receiver.secrets = [r.json()["secret"]]
        entity = f"order:test:{code}"
        event = Event(type="order.cancelled", entity=entity, key=code, data={"number": code})
        with db.unit_of_work() as s:
            events.emit(s, event)
        base = f"/events/subscriptions/{code}"
        none = await sapi.post(f"{base}/dead-letters/replay", json={}, headers=admin)
        assert none.status_code == 422  # nothing dead yet

        sleeper = asyncio.create_task(skipping.sleep(timedelta(hours=30)))

        async def dead() -> list[dict[str, Any]]:
            got = await sapi.get(f"{base}/dead-letters", headers=admin)
            return list(got.json()["items"])

        async def dead_now() -> list[dict[str, Any]] | None:
            return items if (items := await dead()) else None

        items = await eventually(dead_now, timeout=90, interval=0.3)
        assert [d["event_id"] for d in items] == [event.event_id]
        attempts = _expected_attempts()
        assert items[0]["attempts"] == attempts and items[0]["last_status"] == 500
        assert len([d for d in receiver.deliveries if d.event_id == event.event_id]) == attempts
        assert all(d.verified_with for d in receiver.deliveries)
        sub = (await sapi.get(base, headers=admin)).json()
        assert sub["dead_letters"] == 1 and "500" in sub["last_error"]

        # Paused while nobody looks: the run ends, and the skipped time runs out.
        off = await sapi.patch(base, json={"active": False}, headers=admin)
        assert off.status_code == 200 and off.json()["active"] is False
        await sleeper
        bad = await sapi.post(f"{base}/dead-letters/replay", json={}, headers=admin)
        assert bad.status_code == 409  # switched off

        receiver.fail_all = False
        on = await sapi.patch(base, json={"active": True}, headers=admin)
        assert on.status_code == 200 and on.json()["active"] is True
        unknown = await sapi.post(
            f"{base}/dead-letters/replay", json={"ids": [items[0]["id"] + 10**9]}, headers=admin
        )
        assert unknown.status_code == 422
        replay = await sapi.post(
            f"{base}/dead-letters/replay",
            json={"ids": [items[0]["id"]]},
            headers={**admin, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert replay.status_code == 202, replay.text
        assert replay.json()["replaying"] == [items[0]["id"]]
        delivered = await eventually(lambda: receiver.accepted() or None)
        assert delivered[0].event_id == event.event_id and delivered[0].body["data"] == {
            "number": code
        }
        assert event.event_id in receiver.processed

        async def replayed() -> dict[str, Any] | None:
            got = await sapi.get(f"{base}/dead-letters?status=all", headers=admin)
            rows = got.json()["items"]
            return rows[0] if rows and rows[0]["status"] == "replayed" else None

        row = await eventually(replayed)
        assert row["replayed_at"] is not None
        assert (await dead()) == []
        await sapi.delete(base, headers=admin)
        await skipping.client.get_workflow_handle(event_delivery_workflow_id(code)).result()
    finally:
        receiver.stop()
