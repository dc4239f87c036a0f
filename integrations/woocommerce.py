"""WooCommerce REST API v3 (basic auth with consumer key and secret): stock, order status, refunds.

WooCommerce keeps one stock number per product or variation (no locations), so tillflow sends
the sum of what the store's locations can ship. Writes carry our key in `meta_data` or a note,
and each write first looks for its own earlier effect, since the API takes no idempotency key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from contracts.online import RefundLine
from domain.online_orders import from_minor, to_minor
from integrations.storefront import StorefrontError, StoreItem, StoreRefund, Tracking
from integrations.storefront_http import call_store

KEY_FIELD = "tillflow_key"
# Our statuses as WooCommerce order statuses.
STATUSES = {
    "accepted": "processing",
    "ready_for_pickup": "processing",
    "shipped": "completed",
    "picked_up": "completed",
    "completed": "completed",
    "cancelled": "cancelled",
    "exception": "on-hold",
}


class WooCommerceStorefront:
    """One WooCommerce site; `base_url` is the site root (https://shop.example.com)."""

    platform = "woocommerce"

    def __init__(
        self,
        base_url: str,
        consumer_key: str,
        consumer_secret: str,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.http = httpx.Client(
            base_url=f"{base_url.rstrip('/')}/wp-json/wc/v3/",
            auth=(consumer_key, consumer_secret),
            timeout=timeout,
            transport=transport,
            headers={"Accept": "application/json"},
        )

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return call_store(self.http, "WooCommerce", _message, method, path, **kwargs)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One call to the site's REST API (relative to /wp-json/wc/v3/), errors mapped; the
        catalogue publisher (integrations/woocommerce_catalog.py) shares it."""
        return self._call(method, path, **kwargs)

    def pages(self, path: str) -> list[dict[str, Any]]:
        """Every item of a paginated list (X-WP-TotalPages)."""
        return self._pages(path)

    def _pages(self, path: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        page = 1
        while True:
            r = self._call("GET", path, params={"per_page": 100, "page": page})
            out += r.json()
            if page >= int(r.headers.get("X-WP-TotalPages", "1") or 1):
                return out
            page += 1

    def catalogue(self) -> list[StoreItem]:
        items: list[StoreItem] = []
        for p in self._pages("products"):
            if p.get("type") == "variable":
                for v in self._pages(f"products/{p['id']}/variations"):
                    items.append(
                        StoreItem(
                            str(v.get("sku") or ""),
                            str(v.get("global_unique_id") or ""),
                            str(p["id"]),
                            str(v["id"]),
                        )
                    )
            else:
                items.append(
                    StoreItem(
                        str(p.get("sku") or ""), str(p.get("global_unique_id") or ""), str(p["id"])
                    )
                )
        return items

    def set_available(
        self, item: StoreItem, quantity: int, *, location_external_id: str = ""
    ) -> None:
        path = (
            f"products/{item.product_id}/variations/{item.variant_id}"
            if item.variant_id
            else f"products/{item.product_id}"
        )
        self._call("PUT", path, json={"manage_stock": True, "stock_quantity": max(0, quantity)})

    def update_order_status(
        self, order_external_id: str, status: str, *, tracking: Tracking | None = None, key: str
    ) -> None:
        wanted = STATUSES.get(status)
        if wanted is None:
            raise StorefrontError(f"no WooCommerce status for {status!r}")
        order = self._call("GET", f"orders/{order_external_id}").json()
        if order.get("status") != wanted:
            self._call("PUT", f"orders/{order_external_id}", json={"status": wanted})
        if tracking is not None:
            text = (
                f"Shipped with {tracking.company or 'carrier'}: {tracking.number} {tracking.url}"
            ).strip()
            notes = self._call("GET", f"orders/{order_external_id}/notes").json()
            if not any(text in str(n.get("note", "")) for n in notes):
                self._call(
                    "POST",
                    f"orders/{order_external_id}/notes",
                    json={"note": text, "customer_note": True},
                )

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
        for r in self._call("GET", f"orders/{order_external_id}/refunds").json():
            if any(
                m.get("key") == KEY_FIELD and m.get("value") == key for m in r.get("meta_data", [])
            ):
                return StoreRefund(
                    str(r["id"]), abs(to_minor(r.get("amount"), currency)), created=False
                )
        body: dict[str, Any] = {
            "amount": from_minor(amount, currency),
            "reason": reason,
            "api_refund": True,  # the payment gateway gives the money back, not just a record
            "meta_data": [{"key": KEY_FIELD, "value": key}],
        }
        if lines:
            body["line_items"] = [
                {
                    "id": int(ln.line_id),
                    "quantity": ln.quantity,
                    **({"refund_total": from_minor(ln.amount, currency)} if ln.amount else {}),
                }
                for ln in lines
            ]
        created = self._call("POST", f"orders/{order_external_id}/refunds", json=body).json()
        return StoreRefund(
            str(created["id"]),
            abs(to_minor(created.get("amount"), currency)) or amount,
            created=True,
        )


def _message(r: httpx.Response) -> str:
    try:
        body = r.json()
        return f"{body.get('code', '')}: {body.get('message', '')}"[:500]
    except (ValueError, AttributeError):
        return r.text[:500]
