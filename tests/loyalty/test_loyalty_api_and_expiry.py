"""GET /customers/{id}/loyalty and POST …/loyalty/adjust through the ASGI app (the LoyaltyAdjust
workflow on the dev server), and the LoyaltyExpiry workflow on the time-skipping server."""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.loyalty import loyalty_activities
from contracts.loyalty import EXPIRY_WORKFLOW, ExpiryRequest, ExpiryResult
from db.models import AuditEntry
from db.repositories import loyalty
from db.session import Database
from domain.loyalty import add_months
from tests.loyalty.loyalty_kit import TIERS, Kit, LoyaltyApi, rules_with
from tillflow.payloads import DATA_CONVERTER
from tillflow.workers import sandbox_runner
from workflows.loyalty_expiry import LoyaltyExpiryWorkflow

SKIPPING_QUEUE = "loyalty-time-skipping"


def _earn(db: Database, cid: int, points: int, at: datetime | None = None) -> str:
    ref = f"sale:LOYAPI:{uuid.uuid4().hex[:10]}"
    with db.unit_of_work() as s:
        loyalty.post_earn(s, cid, ref, points, loyalty.earn_key(ref), tiers=TIERS, at=at)
    return ref


async def test_cashiers_see_the_balance_managers_the_ledger(
    loyalty_api: LoyaltyApi, db: Database, kit: Kit
) -> None:
    cid = kit.customer()
    _earn(db, cid, 120)
    http = loyalty_api.http
    r = await http.get(f"/customers/{cid}/loyalty", headers=loyalty_api.cashier)
    assert r.status_code == 200, r.text
    assert r.json() == {"customer_id": cid, "balance": 120, "value": 120}
    r = await http.get(f"/customers/{cid}/loyalty", headers=loyalty_api.manager)
    body = r.json()
    assert body["tier"] == "base" and body["next_expiry_points"] == 120
    assert [e["kind"] for e in body["ledger"]] == ["earn"] and body["ledger"][0]["points"] == 120
    r = await http.get("/customers/2147483000/loyalty", headers=loyalty_api.manager)
    assert r.status_code == 404
    r = await http.get(f"/customers/{cid}/loyalty")
    assert r.status_code == 401


async def test_a_manager_adjusts_with_a_reason_once_and_audited(
    loyalty_api: LoyaltyApi, db: Database, kit: Kit
) -> None:
    cid = kit.customer()
    http = loyalty_api.http
    url = f"/customers/{cid}/loyalty/adjust"
    body = {"points": 50, "reason": "goodwill after a late delivery"}
    r = await http.post(url, json=body, headers=loyalty_api.cashier)
    assert r.status_code == 403
    r = await http.post(url, json={"points": 5, "reason": ""}, headers=loyalty_api.manager)
    assert r.status_code == 422
    key = {"Idempotency-Key": f"adj-{uuid.uuid4().hex}"}
    first = await http.post(url, json=body, headers={**loyalty_api.manager, **key})
    assert first.status_code == 200, first.text
    again = await http.post(url, json=body, headers={**loyalty_api.manager, **key})
    assert again.json() == first.json() and first.json()["balance"] == 50
    r = await http.post(
        url, json={"points": -51, "reason": "took too much"}, headers=loyalty_api.manager
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "insufficient_points", r.text
    r = await http.post(
        "/customers/2147483000/loyalty/adjust", json=body, headers=loyalty_api.manager
    )
    assert r.status_code == 404
    with db.unit_of_work() as s:
        assert loyalty.balance(s, cid).balance == 50
        assert [e.kind for e in loyalty.ledger_page(s, cid)] == ["adjust"]
        audited = s.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "loyalty.adjust", AuditEntry.subject == f"customer:{cid}"
            )
        ).all()
    assert len(audited) == 1 and audited[0].detail["reason"] == body["reason"]


@pytest.fixture(scope="module")
async def skipping(db: Database) -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(Path(sys.executable).parent / "temporal-test-server"),
        data_converter=DATA_CONVERTER,
    )
    worker = Worker(
        env.client,
        task_queue=SKIPPING_QUEUE,
        workflows=[LoyaltyExpiryWorkflow],
        activities=loyalty_activities(db, rules_with()),
        activity_executor=ThreadPoolExecutor(2),
        workflow_runner=sandbox_runner(),
    )
    async with worker:
        yield env
    await env.shutdown()


async def test_the_expiry_workflow_expires_due_lots_when_their_day_comes(
    skipping: WorkflowEnvironment, db: Database, kit: Kit
) -> None:
    cid = kit.customer()
    now = datetime.now(UTC)
    _earn(db, cid, 70, at=add_months(now, -12) + timedelta(days=2))  # expires in two days
    _earn(db, cid, 30, at=now)  # a year to go
    with db.unit_of_work() as s:
        bal = loyalty.balance(s, cid)
    assert bal.next_expiry_points == 70 and bal.balance == 100
    # Three days pass in an instant; the run closes the due lot only.
    result = await skipping.client.execute_workflow(
        EXPIRY_WORKFLOW,
        ExpiryRequest(run_at=now + timedelta(days=3)),
        id=f"loyalty-expiry-test-{uuid.uuid4().hex[:8]}",
        task_queue=SKIPPING_QUEUE,
        result_type=ExpiryResult,
    )
    assert result.points >= 70
    with db.unit_of_work() as s:
        bal = loyalty.balance(s, cid)
    assert (bal.balance, bal.next_expiry_points) == (30, 30)
