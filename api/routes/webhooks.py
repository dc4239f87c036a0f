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


def _intent_id(event: dict[str, Any]) -> str:
    obj = (event.get("data") or {}).get("object") or {}
    if obj.get("object") == "payment_intent":
        return str(obj.get("id") or "")
    return str(obj.get("payment_intent") or "")


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


@router.post("/stripe", responses=error_responses(401, 422))
async def stripe_webhook(
    request: Request, db: DbDep, client: ClientDep, settings: SettingsDep
) -> dict[str, Any]:
    """Stripe events: signature checked (±300 s), stored once per evt_ id, routed to the sale's
    workflow."""
    raw = await request.body()
    try:
        verify(
            raw,
            request.headers.get("stripe-signature"),
            settings.stripe_webhook_secret,
            time.time(),
        )
    except SignatureError as err:
        raise ApiError(401, "bad_signature", f"Stripe signature rejected: {err}.") from None
    try:
        event = json.loads(raw)
        assert (
            isinstance(event, dict)
            and str(event["id"]).startswith("evt_")
            and isinstance(event["type"], str)
        )
    except (ValueError, KeyError, AssertionError):
        raise ApiError(
            422, "invalid", "Not a Stripe event: expected a JSON object with an evt_ id and a type."
        ) from None
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
