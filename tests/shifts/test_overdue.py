"""A shift left open past the store's closing time is flagged for the manager (time-skipping
Temporal: the evening passes in an instant)."""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from helpers.webstore import eventually
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.shifts import shift_activities
from contracts.shift import SHIFT_WORKFLOW, ShiftRequest, shift_workflow_id
from db.models import AuditEntry, Location, Till, User
from db.models_shifts import Shift
from db.session import Database
from tillflow.payloads import DATA_CONVERTER
from tillflow.workers import sandbox_runner
from workflows.shift import ShiftWorkflow

QUEUE = "shifts-time-skipping"


@pytest.fixture(scope="module")
async def skipping(db: Database) -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(Path(sys.executable).parent / "temporal-test-server"),
        data_converter=DATA_CONVERTER,
    )
    worker = Worker(
        env.client,
        task_queue=QUEUE,
        workflows=[ShiftWorkflow],
        activities=shift_activities(db),
        activity_executor=ThreadPoolExecutor(4),
        workflow_runner=sandbox_runner(),
    )
    async with worker:
        yield env
    await env.shutdown()


async def test_a_shift_open_after_closing_time_is_flagged(skipping, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    code = f"O{uuid.uuid4().hex[:6].upper()}"
    with db.unit_of_work() as s:
        ber = s.scalar(select(Location.id).where(Location.code == "BER"))
        till = Till(code=code, location_id=ber, name=f"Overdue test {code}", active=True)
        s.add(till)
        s.flush()
        till_id = till.id
        carl = s.scalar(select(User.id).where(User.username == "carl"))
    req = ShiftRequest(
        till_code=code,
        till_id=till_id,
        location_id=ber,
        location_code="BER",
        currency="EUR",
        n=1,
        opened_by=carl,
        float_count=((2000, 5),),
        variance_threshold=500,
        paid_out_limit=5000,
        overdue_grace_minutes=30,
    )
    wf = shift_workflow_id(code, 1)
    handle = await skipping.client.start_workflow(SHIFT_WORKFLOW, req, id=wf, task_queue=QUEUE)

    def row() -> Shift | None:
        with db.unit_of_work() as s:
            shift = s.scalar(select(Shift).where(Shift.workflow_id == wf))
            if shift is not None:
                s.expunge(shift)
            return shift

    opened = await eventually(row)
    assert opened.closes_at is not None and opened.flagged_at is None
    # The store closes (20:00 in Berlin, on its next opening day) and the grace passes.
    await skipping.sleep(timedelta(days=3))
    flagged = await eventually(lambda: (r := row()) is not None and r.flagged_at is not None and r)
    assert flagged.status == "open" and flagged.flagged_at >= opened.closes_at
    with db.unit_of_work() as s:
        actions = s.scalars(select(AuditEntry.action).where(AuditEntry.workflow_id == wf)).all()
    assert "shift.overdue" in actions and "shift.open" in actions
    await handle.terminate("test done")
