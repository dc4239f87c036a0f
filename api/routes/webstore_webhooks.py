"""Shopify and WooCommerce webhooks: verified on the raw body, stored once, acknowledged, handed
over.

The answer comes as soon as the delivery is committed to the inbox (the UNIQUE key is the dedupe);
right after it, the delivery goes to its OnlineOrder workflow with signal-with-start. Mapping,
routing and reserving happen in the workflow. See api/webstore_deliveries.py for the relay.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from api.deps import DbDep, SettingsDep
from api.errors import ApiError, error_responses
from api.webstore_deliveries import Delivery, HandOver, Work, work_for
from contracts.catalog import signal_changed
from db.repositories import catalog_sync, inbox, webstores
from db.session import Database
from domain.errors import InvalidRequest
from integrations.order_payloads import woocommerce_version
from integrations.storefront import resolve_secret
from integrations.webstore_signatures import SignatureError, verify
from tillflow.settings import Settings

log = logging.getLogger("tillflow.api.webstore_webhooks")
router = APIRouter(prefix="/webhooks", tags=["webhooks"])
StoreCode = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        description="the web store's code in tillflow",
    ),
]
_PING = re.compile(rb"^webhook_id=\d+$")
# What a topic, time or event id header may be: printable ASCII, as short as the inbox's columns.
_TOKEN = re.compile(r"[\x21-\x7e]{1,100}")
_EVENT_ID = re.compile(r"[\x21-\x7e]{1,120}")
MAX_EVENT_ID = 200  # webhook_inbox.event_id


def _load_store(db: Database, code: str, platform: str) -> webstores.StoreConfig:
    with db.unit_of_work() as s:
        store = webstores.store(s, code, active_only=True)
    if store is None or store.platform != platform:
        raise ApiError(404, "not_found", f"There is no {platform} store {code} connected.")
    return store


# Connections are read on every delivery; a storm of them need not read the same row each time. A
# change (new secret, disconnect) is seen within STORE_CACHE_S.
STORE_CACHE_S = 5.0
_stores: dict[tuple[int, str, str], tuple[float, webstores.StoreConfig]] = {}


async def _store(db: Database, code: str, platform: str) -> webstores.StoreConfig:
    key = (id(db), code, platform)
    hit = _stores.get(key)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    store = await run_in_threadpool(_load_store, db, code, platform)
    _stores[key] = (time.monotonic() + STORE_CACHE_S, store)
    return store


def forget_store(code: str) -> None:
    """Drop this process's cached connection (after a rotation); other processes refresh within
    STORE_CACHE_S, while the previous secret is still valid."""
    for key in [k for k in _stores if k[1] == code]:
        _stores.pop(key, None)


def _malformed(message: str) -> ApiError:
    """A verified delivery we cannot use: a 400, and nothing of it is stored."""
    return ApiError(400, "malformed", message)


def _signature(request: Request, name: str) -> str | None:
    """The one signature header (a second one, however it came, is no signature)."""
    values = request.headers.getlist(name)
    if len(values) > 1:
        raise SignatureError(f"several {name} headers")
    return values[0] if values else None


def _header(request: Request, name: str, pattern: re.Pattern[str]) -> str:
    value = request.headers.get(name, "")
    if value and not pattern.fullmatch(value):
        raise _malformed(f"The {name} header is not a short printable ASCII value.")
    return value


def _json(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except ValueError:  # JSONDecodeError, UnicodeDecodeError
        raise _malformed("The body is not JSON.") from None
    if not isinstance(body, dict):
        raise _malformed("The body is not a JSON object.")
    return body


def _work(d: Delivery, settings: Settings) -> Work | None:
    try:
        return work_for(
            d,
            allow_split=settings.routing_allow_split,
            stores_first=settings.routing_stores_first,
            ship_to_store=settings.routing_ship_to_store,
        )
    except InvalidRequest as err:
        raise _malformed(f"Not a usable {d.provider} delivery: {err.message}") from None


def _record(db: Database, provider: str, event_id: str, d: Delivery) -> int | None:
    # One statement, its own transaction: one round trip to PostgreSQL instead of three.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        return inbox.record(
            conn, provider=provider, event_id=event_id, topic=d.topic, payload=d.stored()
        )


async def _accept(
    request: Request, db: Database, event_id: str, d: Delivery, work: Work | None
) -> JSONResponse:
    if len(event_id) > MAX_EVENT_ID:
        raise _malformed("The delivery's event id is too long.")
    inbox_id = await run_in_threadpool(_record, db, d.provider, event_id, d)
    if inbox_id is None:
        return JSONResponse({"received": True, "duplicate": True})
    hand: HandOver = request.app.state.hand_over
    hand.submit(inbox_id, work)  # after the answer: the web store only needs to know we have it
    log.info(
        "web store delivery",
        extra={
            "provider": d.provider,
            "event_id": event_id,
            "topic": d.topic,
            "workflow_id": work.workflow_id if work else None,
        },
    )
    return JSONResponse({"received": True, "status": "queued"})


def _secrets(store: webstores.StoreConfig, settings: Settings) -> list[str]:
    """The store's webhook secrets valid now (the previous one too during a rotation window)."""
    return [
        resolve_secret(secret, settings.webstore_secrets)
        for secret in store.webhook_secrets(datetime.now(UTC))
    ]


# ---- product webhooks (catalogue sync, issue 14) -----------------------------------------------

SHOPIFY_PRODUCT_TOPICS = ("products/create", "products/update", "products/delete")
WOO_PRODUCT_TOPICS = ("product.created", "product.updated", "product.deleted", "product.restored")
_nudges: set[asyncio.Task[None]] = set()


async def _nudge(request: Request, store: str, topic: str) -> None:
    try:
        await signal_changed(request.app.state.temporal, store, topic)
    except Exception as err:  # noqa: BLE001 - the running CatalogSync finds the delivery anyway
        log.warning("catalogue sync nudge failed", extra={"store": store, "error": str(err)})


async def _accept_product(
    request: Request, db: Database, event_id: str, d: Delivery
) -> JSONResponse:
    """A verified product webhook: into the inbox once (under its own provider name, so the order
    relay never takes it), then the store's CatalogSync is nudged; it applies the change."""
    if not isinstance(d.body.get("id"), (int, str)) or isinstance(d.body.get("id"), bool):
        raise _malformed("A product webhook needs the product's id.")
    if len(event_id) > MAX_EVENT_ID:
        raise _malformed("The delivery's event id is too long.")
    provider = catalog_sync.inbound_provider(d.provider)
    inbox_id = await run_in_threadpool(_record, db, provider, event_id, d)
    if inbox_id is None:
        return JSONResponse({"received": True, "duplicate": True})
    task = asyncio.create_task(_nudge(request, d.store, d.topic))
    _nudges.add(task)
    task.add_done_callback(_nudges.discard)
    log.info(
        "web store product delivery",
        extra={"provider": d.provider, "event_id": event_id, "topic": d.topic},
    )
    return JSONResponse({"received": True, "status": "queued"})


@router.post("/shopify/{shop}", responses=error_responses(400, 401, 404, 422))
async def shopify_webhook(
    shop: StoreCode, request: Request, db: DbDep, settings: SettingsDep
) -> Any:
    """Shopify orders/create, orders/updated, orders/cancelled, refunds/create and
    products/create, products/update, products/delete; X-Shopify-Hmac-Sha256 checked."""
    raw = await request.body()  # within the webhooks' size limit (api/body_limits.py)
    store = await _store(db, shop, "shopify")
    try:
        verify(
            raw,
            _signature(request, "x-shopify-hmac-sha256"),
            _secrets(store, settings),
        )
    except SignatureError as err:
        raise ApiError(401, "bad_signature", f"Shopify signature rejected: {err}.") from None
    topic = _header(request, "x-shopify-topic", _TOKEN)
    event_id = _header(request, "x-shopify-event-id", _EVENT_ID) or _header(
        request, "x-shopify-webhook-id", _EVENT_ID
    )
    if not topic or not event_id:
        raise _malformed("X-Shopify-Topic and X-Shopify-Event-Id are required.")
    triggered_at = _header(request, "x-shopify-triggered-at", _TOKEN)
    d = Delivery("shopify", shop, topic, triggered_at, _json(raw))
    if topic in SHOPIFY_PRODUCT_TOPICS:
        return await _accept_product(request, db, f"{shop}:{event_id}", d)
    work = _work(d, settings)
    return await _accept(request, db, f"{shop}:{event_id}", d, work)


@router.post("/woocommerce/{store}", responses=error_responses(400, 401, 404, 422))
async def woocommerce_webhook(
    store: StoreCode, request: Request, db: DbDep, settings: SettingsDep
) -> Any:
    """WooCommerce order.created / order.updated and product.created / updated / deleted;
    X-WC-Webhook-Signature checked; the creation ping is answered."""
    raw = await request.body()  # within the webhooks' size limit (api/body_limits.py)
    config = await _store(db, store, "woocommerce")
    try:
        signature = _signature(request, "x-wc-webhook-signature")
        if signature is None and _PING.match(raw.strip()):
            # WooCommerce pings a new webhook, unsigned, with `webhook_id=N`; it must get a 200.
            return JSONResponse({"received": True, "ping": True})
        verify(raw, signature, _secrets(config, settings))
    except SignatureError as err:
        raise ApiError(401, "bad_signature", f"WooCommerce signature rejected: {err}.") from None
    topic = _header(request, "x-wc-webhook-topic", _TOKEN) or "unknown"
    d = Delivery("woocommerce", store, topic, "", _json(raw))
    if topic in WOO_PRODUCT_TOPICS:
        # As for orders: the delivery id changes on every retry, the product's modification time
        # does not (a deletion happens once).
        version = str(d.body.get("date_modified_gmt") or d.body.get("date_modified") or "")
        if topic == "product.deleted" or not version:
            version = topic
        return await _accept_product(
            request, db, f"{store}:product:{d.body.get('id', '')}:{version}", d
        )
    work = _work(d, settings)
    if work is not None:
        # The delivery id changes on every retry; the order id and its modification time do not.
        event_id = f"{store}:{d.body['id']}:{woocommerce_version(d.body)}"
    else:
        delivery = _header(request, "x-wc-webhook-delivery-id", _EVENT_ID)
        event_id = f"{store}:{topic}:{delivery or d.body.get('id', '')}"
    return await _accept(request, db, event_id, d, work)


# ---- Magento 2 / Adobe Commerce (issue 19) -----------------------------------------------------


@router.post("/magento/{store}", responses=error_responses(400, 401, 404, 422))
async def magento_webhook(
    store: StoreCode, request: Request, db: DbDep, settings: SettingsDep
) -> Any:
    """Adobe Commerce order webhooks (e.g. observer.sales_order_save_after) with the order in
    `data.order`; x-adobe-commerce-webhook-signature (RSA-SHA256, the store's public key) checked.
    Deduped with the order pull on increment_id + updated_at; answered `{"op": "success"}`."""
    from integrations.magento import SIGNATURE_HEADER, verify_webhook, webhook_order
    from integrations.order_payloads import magento_event_id

    raw = await request.body()  # within the webhooks' size limit (api/body_limits.py)
    config = await _store(db, store, "magento")
    try:
        verify_webhook(raw, _signature(request, SIGNATURE_HEADER), _secrets(config, settings))
    except SignatureError as err:
        raise ApiError(401, "bad_signature", f"Adobe Commerce signature rejected: {err}.") from None
    body = _json(raw)
    order = webhook_order(body)
    if order is None:
        raise _malformed("An Adobe Commerce order webhook needs the order (data.order).")
    topic = str(body.get("eventName") or "magento.order.webhook")[:100]
    d = Delivery("magento", store, topic, "", order)
    work = _work(d, settings)
    try:
        event_id = magento_event_id(store, order)
    except InvalidRequest as err:
        raise _malformed(err.message) from None
    answer = await _accept(request, db, event_id, d, work)
    # Adobe Commerce reads `op` of the answer: "success" lets the store's operation go on.
    return JSONResponse({"op": "success", **json.loads(bytes(answer.body))})
