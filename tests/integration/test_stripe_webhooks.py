"""Stripe webhooks: signatures on the raw body, ±300 s, dedupe on evt_ id, routed to the sale."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from sqlalchemy import func, select

from db.models_payments import WebhookEvent
from integrations.stripe_webhooks import sign

SECRET = "whsec_test_suite"  # tests/conftest.py test_settings


def event(kind: str = "payment_intent.succeeded", intent: str = "pi_unknown") -> bytes:
    return json.dumps(
        {
            "id": f"evt_{uuid.uuid4().hex}",
            "type": kind,
            "data": {"object": {"id": intent, "object": "payment_intent"}},
        }
    ).encode()


def inbox_count(db) -> int:  # type: ignore[no-untyped-def]  # takes untyped fixture values
    with db.unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(WebhookEvent)) or 0


async def post(api, body: bytes, signature: str | None):  # type: ignore[no-untyped-def]  # takes untyped fixture values
    headers = {"content-type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    return await api.post("/webhooks/stripe", content=body, headers=headers)


@pytest.mark.parametrize(
    "case", ["tampered", "wrong_secret", "missing", "stale", "future", "garbage"]
)
async def test_bad_signatures_are_401_and_store_nothing(api, db, case: str) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    body, now = event(), int(time.time())
    signature: str | None = {
        "tampered": sign(body, SECRET, now),
        "wrong_secret": sign(body, "whsec_someone_else", now),
        "missing": None,
        "stale": sign(body, SECRET, now - 301),
        "future": sign(body, SECRET, now + 301),
        "garbage": "t=abc,v1=",
    }[case]
    if case == "tampered":
        body = body.replace(b"payment_intent.succeeded", b"payment_intent.canceled")
    before = inbox_count(db)
    r = await post(api, body, signature)
    assert r.status_code == 401 and r.json()["error"]["code"] == "bad_signature"
    assert inbox_count(db) == before


async def test_one_of_several_v1_signatures_may_match(api) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    body, now = event(), int(time.time())
    good = sign(body, SECRET, now).split(",")[1]
    r = await post(api, body, f"t={now},v1={'0' * 64},{good}")
    assert r.status_code == 200


async def test_delivered_three_times_handled_once(api, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    body = event("charge.dispute.created")
    answers = [await post(api, body, sign(body, SECRET, int(time.time()))) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert answers[0].json()["status"] == "recorded"
    assert answers[1].json()["duplicate"] and answers[2].json()["duplicate"]
    with db.unit_of_work() as s:
        evt_id = json.loads(body)["id"]
        assert (
            s.scalar(
                select(func.count())
                .select_from(WebhookEvent)
                .where(WebhookEvent.event_id == evt_id)
            )
            == 1
        )


async def test_event_for_an_open_sale_is_signalled_to_its_workflow(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, cashier, db, temporal_client
) -> None:
    r = await api.post(
        "/tills/BER1/sales",
        headers=cashier,
        json={
            "client_sale_id": uuid.uuid4().hex[:12],
            "lines": [{"sku": "SCARF-WOOL", "quantity": 1}],
            "tenders": [{"kind": "card", "amount": 1000, "simulate": "pm_card_visa"}],
        },
    )
    sale = r.json()
    assert sale["status"] == "open"
    intent = sale["tenders"][0]["reference"]
    body = event("payment_intent.amount_capturable_updated", intent)
    answer = await post(api, body, sign(body, SECRET, int(time.time())))
    assert answer.json()["status"] == "signalled"
    history = await temporal_client.get_workflow_handle(sale["workflow_id"]).fetch_history()
    signals = [
        e.workflow_execution_signaled_event_attributes.signal_name
        for e in history.events
        if e.HasField("workflow_execution_signaled_event_attributes")
    ]
    assert signals == ["payment_event"]
    await api.post(
        f"/tills/BER1/sales/{sale['workflow_id'].split(':')[-1]}/abandon", headers=cashier
    )


async def test_not_an_event_is_400(api) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """A correctly signed body that is not an event is a 400 (issue 13: was 422), stored nowhere."""
    body = b'{"hello": "world"}'
    r = await post(api, body, sign(body, SECRET, int(time.time())))
    assert r.status_code == 400
