"""Shopify Admin REST API (`X-Shopify-Access-Token`): inventory levels, fulfilments, cancel,
refunds.

Shopify's REST writes take no idempotency key, so every write first looks for its own earlier
effect (a refund whose note carries our key, an order already fulfilled / cancelled / tagged).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import httpx

from contracts.online import RefundLine
from domain.online_orders import from_minor, to_minor
from integrations.storefront import StorefrontError, StoreItem, StoreRefund, Tracking
from integrations.storefront_http import call_store

DEFAULT_API_VERSION = "2025-01"
_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')
_DONE_FULFILMENT = {"closed", "cancelled", "incomplete"}


def _key_mark(key: str) -> str:
    return f"[tillflow:{key}]"


class ShopifyStorefront:
    """One Shopify shop; `base_url` is https://{shop}.myshopify.com (or a local test server)."""

    platform = "shopify"

    def __init__(
        self,
        base_url: str,
        access_token: str,
        *,
        api_version: str = DEFAULT_API_VERSION,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.http = httpx.Client(
            base_url=f"{base_url.rstrip('/')}/admin/api/{api_version}/",
            headers={"X-Shopify-Access-Token": access_token, "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
        )

    def close(self) -> None:
        self.http.close()

    # ---- HTTP --------------------------------------------------------------------------------

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return call_store(self.http, "Shopify", _errors, method, path, **kwargs)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One call to the shop's Admin API (relative to /admin/api/{version}/), errors mapped;
        the catalogue publisher (integrations/shopify_catalog.py) shares it."""
        return self._call(method, path, **kwargs)

    # ---- Storefront --------------------------------------------------------------------------

    def catalogue(self) -> list[StoreItem]:
        items: list[StoreItem] = []
        url: str | None = "products.json"
        params: dict[str, Any] | None = {"limit": 250, "fields": "id,variants"}
        while url:
            r = self._call("GET", url, params=params)
            for product in r.json().get("products", []):
                for v in product.get("variants", []):
                    items.append(
                        StoreItem(
                            sku=str(v.get("sku") or ""),
                            barcode=str(v.get("barcode") or ""),
                            product_id=str(product["id"]),
                            variant_id=str(v["id"]),
                            inventory_item_id=str(v.get("inventory_item_id") or ""),
                        )
                    )
            link = _NEXT.search(r.headers.get("Link", ""))
            url, params = (link.group(1), None) if link else (None, None)
        return items

    def set_available(
        self, item: StoreItem, quantity: int, *, location_external_id: str = ""
    ) -> None:
        if not (item.inventory_item_id and location_external_id):
            raise StorefrontError(f"{item.sku}: no Shopify inventory item or location to set")
        self._call(
            "POST",
            "inventory_levels/set.json",
            json={
                "location_id": int(location_external_id),
                "inventory_item_id": int(item.inventory_item_id),
                "available": max(0, quantity),
            },
        )

    def update_order_status(
        self, order_external_id: str, status: str, *, tracking: Tracking | None = None, key: str
    ) -> None:
        order = self._call("GET", f"orders/{order_external_id}.json").json()["order"]
        if status == "cancelled":
            if not order.get("cancelled_at"):
                self._call("POST", f"orders/{order_external_id}/cancel.json", json={})
            return
        if status in ("shipped", "completed", "picked_up"):
            self._fulfil(order_external_id, tracking)
            return
        tag = f"tillflow-{status}"
        tags = [t.strip() for t in str(order.get("tags") or "").split(",") if t.strip()]
        if tag not in tags:
            self._call(
                "PUT",
                f"orders/{order_external_id}.json",
                json={"order": {"id": int(order_external_id), "tags": ", ".join([*tags, tag])}},
            )

    def _fulfil(self, order_external_id: str, tracking: Tracking | None) -> None:
        found = self._call("GET", f"orders/{order_external_id}/fulfillment_orders.json").json()
        open_ids = [
            fo["id"]
            for fo in found.get("fulfillment_orders", [])
            if fo.get("status") not in _DONE_FULFILMENT
        ]
        if not open_ids:
            return  # fulfilled before: a repeat
        body: dict[str, Any] = {
            "line_items_by_fulfillment_order": [{"fulfillment_order_id": i} for i in open_ids],
            "notify_customer": True,
        }
        if tracking is not None:
            body["tracking_info"] = {
                "number": tracking.number,
                "company": tracking.company,
                "url": tracking.url,
            }
        self._call("POST", "fulfillments.json", json={"fulfillment": body})

    def refund(
        self,
        order_external_id: str,
        amount: int,
        lines: Sequence[RefundLine],
        key: str,
        *,
        currency: str,
        reason: str = "",
    ) -> StoreRefund:
        mark = _key_mark(key)
        for r in (
            self._call("GET", f"orders/{order_external_id}/refunds.json").json().get("refunds", [])
        ):
            if mark in str(r.get("note") or ""):
                return StoreRefund(str(r["id"]), _refunded(r, currency), created=False)
        parent = self._parent_transaction(order_external_id)
        body = {
            "refund": {
                "currency": currency,
                "notify": True,
                "note": f"{reason} {mark}".strip(),
                "refund_line_items": [
                    {
                        "line_item_id": int(ln.line_id),
                        "quantity": ln.quantity,
                        "restock_type": "no_restock",
                    }
                    for ln in lines
                ],
                "transactions": [
                    {
                        "parent_id": parent["id"],
                        "amount": from_minor(amount, currency),
                        "kind": "refund",
                        "gateway": parent.get("gateway", ""),
                    }
                ],
            }
        }
        created = self._call("POST", f"orders/{order_external_id}/refunds.json", json=body).json()[
            "refund"
        ]
        return StoreRefund(str(created["id"]), _refunded(created, currency) or amount, created=True)

    def _parent_transaction(self, order_external_id: str) -> dict[str, Any]:
        txs = (
            self._call("GET", f"orders/{order_external_id}/transactions.json")
            .json()
            .get("transactions", [])
        )
        paid = [
            t for t in txs if t.get("kind") in ("sale", "capture") and t.get("status") == "success"
        ]
        if not paid:
            raise StorefrontError(
                f"Shopify order {order_external_id} has no successful payment to refund"
            )
        return paid[-1]


def _refunded(refund: dict[str, Any], currency: str) -> int:
    return sum(
        to_minor(t.get("amount"), currency)
        for t in refund.get("transactions", [])
        if t.get("kind") == "refund"
    )


def _errors(r: httpx.Response) -> str:
    try:
        return str(r.json().get("errors", r.text))[:500]
    except ValueError:
        return r.text[:500]
