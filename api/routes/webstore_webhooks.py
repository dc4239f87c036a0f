"""Shopify and WooCommerce webhooks: verified on the raw body, stored once, handed to the order's workflow.

The answer comes as soon as the delivery is in the inbox and the workflow has it (signal-with-start);
mapping, routing and reserving happen in the OnlineOrder workflow.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from temporalio.service import RPCError

from api.deps import ClientDep, DbDep, SettingsDep
from api.errors import ApiError, error_responses
from api.online import hand_over
from db.repositories import inbox, webstores
from db.session import Database
from domain.errors import InvalidRequest
from domain.online_orders import ExternalOrder, timestamp_us
from integrations.order_payloads import shopify_order, woocommerce_order, woocommerce_version
from integrations.storefront import resolve_secret
from integrations.webstore_signatures import SignatureError, verify
from workflows.contracts import online_order_workflow_id
from workflows.online_contracts import OnlineOrderRequest, WebStoreEvent

log = logging.getLogger("tillflow.api.webstore_webhooks")
router = APIRouter(prefix="/webhooks", tags=["webhooks"])
StoreCode = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
                                description="the web store's code in tillflow")]
SHOPIFY_ORDER_TOPICS = ("orders/create", "orders/updated", "orders/cancelled", "orders/paid", "orders/edited")
WOO_ORDER_TOPICS = ("order.created", "order.updated")
_PING = re.compile(rb"^webhook_id=\d+$")
HANDOVER_GRACE = timedelta(seconds=10)


def _load_store(db: Database, code: str, platform: str) -> webstores.StoreConfig:
    with db.unit_of_work() as s:
        store = webstores.store(s, code, active_only=True)
    if store is None or store.platform != platform:
        raise ApiError(404, "not_found", f"There is no {platform} store {code} connected.")
    return store


def _json(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequest("The body is not JSON.") from None
    if not isinstance(body, dict):
        raise InvalidRequest("The body is not a JSON object.")
    return body


def _store_delivery(db: Database, provider: str, event_id: str, topic: str, payload: Any,
                    workflow_id: str | None) -> tuple[int | None, bool]:
    """(inbox id, whether to hand it over): a duplicate is handed over only if it never was."""
    with db.unit_of_work() as s:
        inbox_id = inbox.record(s, provider=provider, event_id=event_id, topic=topic, payload=payload)
        if inbox_id is not None:
            return inbox_id, True
        earlier = inbox.find(s, provider, event_id)
        # Never handed over (Temporal was down when it first came): this retry hands it over. A
        # duplicate racing the first delivery (seconds apart) is just a duplicate.
        stale = earlier is not None and earlier.received_at < datetime.now(UTC) - HANDOVER_GRACE
        if earlier is not None and earlier.status == "received" and workflow_id and stale:
            return earlier.id, True
        return None, False


def _mark(db: Database, inbox_id: int, status: str, workflow_id: str | None) -> None:
    with db.unit_of_work() as s:
        inbox.mark(s, inbox_id, status=status, workflow_id=workflow_id)


async def _deliver(db: Database, client: Any, background: BackgroundTasks, *, provider: str, event_id: str,
                   topic: str, payload: dict[str, Any], workflow_id: str | None,
                   order: OnlineOrderRequest | None, event: WebStoreEvent | None) -> JSONResponse:
    inbox_id, _ = await run_in_threadpool(_store_delivery, db, provider, event_id, topic, payload, workflow_id)
    if inbox_id is None:
        return JSONResponse({"received": True, "duplicate": True})
    status = "recorded"
    if order is not None and event is not None and workflow_id:
        try:
            status = await hand_over(client, workflow_id, order, event)
        except RPCError as err:
            # Left as "received": the web store's retry of this delivery hands it over again.
            raise ApiError(503, "unavailable", "The order service is unavailable; please retry.") from err
    # Bookkeeping after the answer: the web store only needs to know we have it.
    background.add_task(_mark, db, inbox_id, status, workflow_id)
    log.info("web store delivery", extra={"provider": provider, "event_id": event_id, "topic": topic,
                                          "status": status, "workflow_id": workflow_id})
    return JSONResponse({"received": True, "status": status})


@router.post("/shopify/{shop}", responses=error_responses(401, 404, 422, 503))
async def shopify_webhook(shop: StoreCode, request: Request, background: BackgroundTasks, db: DbDep,
                          client: ClientDep, settings: SettingsDep) -> Any:
    """Shopify orders/create, orders/updated, orders/cancelled, refunds/create; X-Shopify-Hmac-Sha256 checked."""
    raw = await request.body()
    store = await run_in_threadpool(_load_store, db, shop, "shopify")
    try:
        verify(raw, request.headers.get("x-shopify-hmac-sha256"),
               resolve_secret(store.webhook_secret, settings.webstore_secrets))
    except SignatureError as err:
        raise ApiError(401, "bad_signature", f"Shopify signature rejected: {err}.") from None
    topic = request.headers.get("x-shopify-topic", "")
    event_id = request.headers.get("x-shopify-event-id") or request.headers.get("x-shopify-webhook-id")
    if not topic or not event_id:
        raise InvalidRequest("X-Shopify-Topic and X-Shopify-Event-Id are required.")
    payload = _json(raw)
    order_req = event = workflow_id = None
    if topic in SHOPIFY_ORDER_TOPICS:
        order = shopify_order(payload)
        version = timestamp_us(request.headers.get("x-shopify-triggered-at") or str(payload.get("updated_at") or ""))
        workflow_id = online_order_workflow_id("shopify", order.external_id, shop)
        order_req = _request("shopify", shop, order, version, settings)
        event = WebStoreEvent(topic, version, order.cancelled, order.financial_status, order.status)
    elif topic == "refunds/create" and payload.get("order_id"):
        workflow_id = online_order_workflow_id("shopify", str(payload["order_id"]), shop)
    return await _deliver(db, client, background, provider="shopify", event_id=f"{shop}:{event_id}", topic=topic,
                          payload=payload, workflow_id=workflow_id, order=order_req, event=event)


@router.post("/woocommerce/{store}", responses=error_responses(401, 404, 422, 503))
async def woocommerce_webhook(store: StoreCode, request: Request, background: BackgroundTasks, db: DbDep,
                              client: ClientDep, settings: SettingsDep) -> Any:
    """WooCommerce order.created / order.updated; X-WC-Webhook-Signature checked; the creation ping is answered."""
    raw = await request.body()
    config = await run_in_threadpool(_load_store, db, store, "woocommerce")
    signature = request.headers.get("x-wc-webhook-signature")
    if signature is None and _PING.match(raw.strip()):
        # WooCommerce pings a new webhook, unsigned, with `webhook_id=N`; it must get a 200.
        return JSONResponse({"received": True, "ping": True})
    try:
        verify(raw, signature, resolve_secret(config.webhook_secret, settings.webstore_secrets))
    except SignatureError as err:
        raise ApiError(401, "bad_signature", f"WooCommerce signature rejected: {err}.") from None
    topic = request.headers.get("x-wc-webhook-topic", "")
    payload = _json(raw)
    if topic not in WOO_ORDER_TOPICS:
        delivery = request.headers.get("x-wc-webhook-delivery-id") or str(payload.get("id") or "")
        return await _deliver(db, client, background, provider="woocommerce", event_id=f"{store}:{topic}:{delivery}",
                              topic=topic or "unknown", payload=payload, workflow_id=None, order=None, event=None)
    order = woocommerce_order(payload)
    modified = woocommerce_version(payload)
    version = timestamp_us(modified)
    workflow_id = online_order_workflow_id("woocommerce", order.external_id, store)
    # The delivery id changes on every retry; the order id and its modification time do not.
    return await _deliver(db, client, background, provider="woocommerce",
                          event_id=f"{store}:{order.external_id}:{modified}", topic=topic, payload=payload,
                          workflow_id=workflow_id, order=_request("woocommerce", store, order, version, settings),
                          event=WebStoreEvent(topic, version, order.cancelled, order.financial_status, order.status))


def _request(source: str, store: str, order: ExternalOrder, version: int, settings: Any) -> OnlineOrderRequest:
    return OnlineOrderRequest(source, store, order, version, allow_split=settings.routing_allow_split,
                              stores_first=settings.routing_stores_first)
