"""Carrier tests (issue 19): an address, Shopify orders shipped to it, signed Shippo webhooks."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from temporalio.testing import WorkflowEnvironment

from contracts.common import WEB_TASK_QUEUE
from contracts.online import OnlineOrderRequest, online_order_workflow_id
from domain.online_orders import ExternalLine, ExternalOrder, ShippingAddress
from helpers.fake_shopify import FakeShopifyServer
from integrations.shippo import sign

WEBHOOK_SECRET = "shippo-webhook-secret-for-tests"
ADDRESS = ShippingAddress(
    name="Kim Kunde",
    lines=("Torstr. 1", "2. OG"),
    city="Berlin",
    postcode="10119",
    country="DE",
    phone="+49 30 1234567",
)


def track_updated(
    tracking_number: str, status: str, details: str = "", *, object_id: str = ""
) -> dict[str, Any]:
    """A `track_updated` webhook body as Shippo documents it (data: a Track object)."""
    return {
        "event": "track_updated",
        "test": True,
        "data": {
            "carrier": "dhl_germany",
            "tracking_number": tracking_number,
            "address_from": {"city": "Berlin", "country": "DE"},
            "address_to": {"city": "Berlin", "country": "DE"},
            "eta": None,
            "servicelevel": {"name": "DHL Paket", "token": "dhl_germany_paket"},
            "metadata": None,
            "tracking_status": {
                "object_id": object_id or uuid.uuid4().hex,
                "status": status,
                "substatus": None,
                "status_details": details,
                "status_date": "2026-12-01T18:30:00Z",
                "location": {"city": "Berlin", "country": "DE"},
            },
            "tracking_history": [],
        },
    }


def signed(body: dict[str, Any], secret: str = WEBHOOK_SECRET) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    return raw, {
        "Content-Type": "application/json",
        "Shippo-Auth-Signature": sign(secret, raw, int(time.time())),
    }


async def place_order(
    env: WorkflowEnvironment,
    shop: Any,
    shopify: FakeShopifyServer,
    lines: list[tuple[str, int]],
    address: ShippingAddress | None = ADDRESS,
) -> str:
    """A paid Shopify order shipped to `address`, started straight on the time-skipping server."""
    from workflows.online_order import OnlineOrderWorkflow  # the sandbox-safe import order

    oid = uuid.uuid4().int % 10**9
    shopify.add_order(
        oid,
        [{"id": oid * 10 + n, "sku": sku, "quantity": q} for n, (sku, q) in enumerate(lines, 1)],
        total=f"{sum(1290 * q for _, q in lines) / 100:.2f}",
    )
    order = ExternalOrder(
        str(oid),
        f"#{oid}",
        "EUR",
        tuple(
            ExternalLine(str(oid * 10 + n), sku, q, unit_price=1290, title=f"Item {sku}")
            for n, (sku, q) in enumerate(lines, start=1)
        ),
        sum(1290 * q for _, q in lines),
        "kim@example.test",
        "Kim Kunde",
        "DE",
        52.52,
        13.40,
        financial_status="paid",
        address=address,
    )
    wf = online_order_workflow_id("shopify", str(oid), shop.code)
    await env.client.start_workflow(
        OnlineOrderWorkflow.run,
        OnlineOrderRequest(source="shopify", store_code=shop.code, order=order, version_us=1),
        id=wf,
        task_queue=WEB_TASK_QUEUE,
    )
    return wf
