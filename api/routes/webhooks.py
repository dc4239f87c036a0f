"""Webhooks in: verified on the raw body, stored once, handed to the workflow they belong to."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from temporalio.service import RPCError

from api.deps import ClientDep, DbDep, SettingsDep
from api.errors import ApiError, error_responses
from contracts.sale import PaymentEvent, signal_payment_event
from db.repositories import inbox, orders
from db.session import Database
from integrations.stripe_webhooks import SignatureError, verify

log = logging.getLogger("tillflow.api.webhooks")
router = APIRouter(prefix="/webhooks", tags=["webhooks"])
RECONCILIATION_ONLY = ("charge.refunded", "charge.dispute.created")
MAX_ID_LENGTH = 200  # webhook_inbox.event_id; Stripe's own ids are far shorter
MAX_TYPE_LENGTH = 100  # webhook_inbox.topic


def _intent_id(event: dict[str, Any]) -> str:
    """The PaymentIntent an event is about ("" when none); `_event` made sure of the shape."""
    obj = event.get("data", {}).get("object", {})
    if obj.get("object") == "payment_intent":
        intent = obj.get("id")
    else:
        intent = obj.get("payment_intent")
        if isinstance(intent, dict):  # an expanded PaymentIntent
            intent = intent.get("id")
    return intent if isinstance(intent, str) else ""


def _malformed(message: str) -> ApiError:
    return ApiError(400, "malformed", message)


def _event(raw: bytes) -> dict[str, Any]:
    """The verified body as a Stripe event; a 400 (stored nowhere) when it is not one."""
    try:
        event = json.loads(raw)
    except ValueError:
        raise _malformed("Not a Stripe event: the body is not JSON.") from None
    if not isinstance(event, dict):
        raise _malformed("Not a Stripe event: expected a JSON object.")
    event_id, kind = event.get("id"), event.get("type")
    if not (isinstance(event_id, str) and event_id.startswith("evt_")):
        raise _malformed("Not a Stripe event: expected an evt_ id.")
    if not (isinstance(kind, str) and kind):
        raise _malformed("Not a Stripe event: expected a type.")
    if len(event_id) > MAX_ID_LENGTH or len(kind) > MAX_TYPE_LENGTH:
        raise _malformed("Not a Stripe event: its id or type is too long.")
    data = event.get("data", {})
    if not isinstance(data, dict) or not isinstance(data.get("object", {}), dict):
        raise _malformed("Not a Stripe event: data.object must be an object.")
    intent = _intent_id(event)
    if len(intent) > MAX_ID_LENGTH:
        raise _malformed("Not a Stripe event: its PaymentIntent id is too long.")
    return event


def _store(db: Database, event: dict[str, Any]) -> tuple[int | None, str | None]:
    with db.unit_of_work() as s:
        inbox_id = inbox.record(
            s, provider="stripe", event_id=event["id"], topic=event["type"], payload=event
        )
        intent = _intent_id(event)
        payment = orders.payment_by_provider_ref(s, intent) if intent else None
        return inbox_id, payment.workflow_id if payment else None


def _mark(db: Database, inbox_id: int, status: str, workflow_id: str | None) -> None:
    with db.unit_of_work() as s:
        inbox.mark(s, inbox_id, status=status, workflow_id=workflow_id)


@router.post("/stripe", responses=error_responses(400, 401, 422))
async def stripe_webhook(
    request: Request, db: DbDep, client: ClientDep, settings: SettingsDep
) -> dict[str, Any]:
    """Stripe events: signature checked (±300 s), stored once per evt_ id, routed to the sale's
    workflow."""
    raw = await request.body()  # within the webhooks' size limit (api/body_limits.py)
    headers = request.headers.getlist("stripe-signature")
    try:
        if len(headers) > 1:
            raise SignatureError("several Stripe-Signature headers")
        # During a rotation the previous signing secret is accepted too (it is set only then).
        secrets = [settings.stripe_webhook_secret, settings.stripe_webhook_secret_previous or ""]
        verify(raw, headers[0] if headers else None, secrets, time.time())
    except SignatureError as err:
        raise ApiError(401, "bad_signature", f"Stripe signature rejected: {err}.") from None
    event = _event(raw)
    inbox_id, workflow_id = await run_in_threadpool(_store, db, event)
    if inbox_id is None:
        return {"received": True, "duplicate": True}
    status = "recorded"
    if (
        workflow_id
        and event["type"].startswith("payment_intent.")
        and event["type"] not in RECONCILIATION_ONLY
    ):
        try:
            # A Sale and an OnlineOrder hear a payment event by the same signal name.
            event_in = PaymentEvent(type=event["type"], intent_id=_intent_id(event))
            await signal_payment_event(client, workflow_id, event_in)
            status = "signalled"
        except RPCError:
            pass  # the sale is closed: the event stays recorded for reconciliation
    await run_in_threadpool(_mark, db, inbox_id, status, workflow_id)
    log.info(
        "stripe event",
        extra={
            "event_id": event["id"],
            "topic": event["type"],
            "status": status,
            "workflow_id": workflow_id,
        },
    )
    return {"received": True, "status": status}
