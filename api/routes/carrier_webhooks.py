"""Carriers' tracking webhooks in (issue 19): verified on the raw body, stored once, handed to a
CarrierTracking workflow that records the parcel's status and tells the customer."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from api.deps import ClientDep, DbDep, SettingsDep
from api.errors import ApiError, error_responses
from contracts.carriers import TrackingUpdate, start_tracking, tracking_workflow_id
from db.repositories import inbox
from db.session import Database
from integrations.shippo import SIGNATURE_HEADER, SignatureError, track_update, verify_webhook

log = logging.getLogger("tillflow.api.carrier_webhooks")
router = APIRouter(prefix="/webhooks/carriers", tags=["webhooks"])


def _store(db: Database, update: TrackingUpdate, payload: Any) -> int | None:
    with db.unit_of_work() as s:
        return inbox.record(
            s, provider="shippo", event_id=update.event_key, topic="track_updated", payload=payload
        )


def _mark(db: Database, inbox_id: int, status: str, workflow_id: str) -> None:
    with db.unit_of_work() as s:
        inbox.mark(s, inbox_id, status=status, workflow_id=workflow_id)


@router.post("/shippo", responses=error_responses(400, 401, 422))
async def shippo_webhook(
    request: Request,
    db: DbDep,
    client: ClientDep,
    settings: SettingsDep,
    token: str | None = None,
) -> dict[str, Any]:
    """Shippo `track_updated` webhooks: signed (the `Shippo-Auth-Signature` HMAC header, or the
    `?token=` Shippo's webhook URL carries), stored once per tracking status, recorded against
    the parcel; the customer gets a `shipment_update` message when its status changes. Other
    events are acknowledged and ignored."""
    raw = await request.body()  # within the webhooks' size limit (api/body_limits.py)
    signatures = request.headers.getlist(SIGNATURE_HEADER)
    try:
        if len(signatures) > 1:
            raise SignatureError("several signature headers")
        secret = (
            settings.shippo_webhook_secret.get_secret_value()
            if settings.shippo_webhook_secret
            else ""
        )
        verify_webhook(
            raw,
            secret=secret,
            signature=signatures[0] if signatures else None,
            token=token,
            tolerance_s=settings.shippo_webhook_tolerance_s,
        )
    except SignatureError as err:
        raise ApiError(401, "bad_signature", f"Shippo webhook rejected: {err}") from None
    try:
        payload = json.loads(raw)
        parsed = track_update(payload)
    except ValueError as err:
        raise ApiError(400, "malformed", f"Not a Shippo webhook: {err}.") from None
    if parsed is None:
        return {"received": True, "ignored": True}
    update = TrackingUpdate(
        provider="shippo",
        event_key=parsed.event_key,
        tracking_number=parsed.tracking_number,
        carrier=parsed.carrier,
        status=parsed.status,  # type: ignore[arg-type]  # one of TRACKING_STATUSES
        status_details=parsed.status_details,
        status_date=parsed.status_date.isoformat() if parsed.status_date else "",
    )
    inbox_id = await run_in_threadpool(_store, db, update, payload)
    # Deduped by the workflow id too: a delivery stored before whose start failed starts now.
    started = await start_tracking(client, update)
    workflow_id = tracking_workflow_id(update.event_key)
    if inbox_id is not None:
        await run_in_threadpool(_mark, db, inbox_id, "started", workflow_id)
    log.info(
        "shippo tracking",
        extra={
            "tracking_number": update.tracking_number,
            "status": update.status,
            "workflow_id": workflow_id,
            "duplicate": not started,
        },
    )
    if not started:
        return {"received": True, "duplicate": True}
    return {"received": True, "status": update.status, "workflow_id": workflow_id}
