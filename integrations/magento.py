"""Magento 2 / Adobe Commerce REST API (integration token, Bearer): orders pulled by `updated_at`,
stock to MSI source items, shipments, credit memos, cancellations.

Magento keeps stock per MSI source: tillflow sends each mapped location's number to the source
whose code is the location mapping's external id. The order id in URLs is the order's
`entity_id`; the customer sees its `increment_id`. The API takes no idempotency key, so each write
first looks for its own earlier effect (our key is written into a comment).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from contracts.online import RefundLine
from domain.online_orders import from_minor, to_minor
from integrations.storefront import StorefrontError, StoreItem, StoreRefund, Tracking
from integrations.storefront_http import call_store

PAGE_SIZE = 100
KEY_PREFIX = "tillflow:"  # our comments carry `tillflow:{key}`
SHIPPED = ("shipped", "picked_up", "completed")


def search_criteria(
    field: str, value: str, condition: str, *, page: int, size: int = PAGE_SIZE
) -> dict[str, str | int]:
    """Magento's searchCriteria query parameters: one filter, sorted ascending on that field."""
    f = "searchCriteria[filter_groups][0][filters][0]"
    return {
        f"{f}[field]": field,
        f"{f}[value]": value,
        f"{f}[condition_type]": condition,
        "searchCriteria[sortOrders][0][field]": field,
        "searchCriteria[sortOrders][0][direction]": "ASC",
        "searchCriteria[pageSize]": size,
        "searchCriteria[currentPage]": page,
    }


class MagentoStorefront:
    """One Magento 2 store view's REST API; `base_url` is the site root (https://shop.example.com)."""

    platform = "magento"

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.http = httpx.Client(
            base_url=f"{base_url.rstrip('/')}/rest/V1/",
            timeout=timeout,
            transport=transport,
            headers={"Accept": "application/json", "Authorization": f"Bearer {token}"},
        )

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return call_store(self.http, "Magento", _message, method, path, **kwargs)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One call to the REST API (relative to /rest/V1/), errors mapped; the catalogue
        publisher (integrations/magento_catalog.py) shares it."""
        return self._call(method, path, **kwargs)

    def search(self, path: str, field: str, value: str, condition: str) -> list[dict[str, Any]]:
        """Every item of a searchCriteria list with one filter (all pages)."""
        return self._search(path, field, value, condition)

    def _search(self, path: str, field: str, value: str, condition: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        page = 1
        while True:
            body = self._call(
                "GET", path, params=search_criteria(field, value, condition, page=page)
            ).json()
            items = body.get("items") or []
            out += items
            if not items or len(out) >= int(body.get("total_count") or 0):
                return out
            page += 1

    # ---- orders in ---------------------------------------------------------------------------

    def orders_updated_since(self, updated_at: str) -> list[dict[str, Any]]:
        """Every order whose `updated_at` ("YYYY-MM-DD HH:MM:SS", UTC) is at or after the given
        one, oldest change first."""
        return self._search("orders", "updated_at", updated_at, "gteq")

    def order(self, order_external_id: str) -> dict[str, Any]:
        return dict(self._call("GET", f"orders/{order_external_id}").json())

    # ---- Storefront --------------------------------------------------------------------------

    def catalogue(self) -> list[StoreItem]:
        items: list[StoreItem] = []
        for p in self._search("products", "type_id", "simple,virtual", "in"):
            attrs = {
                str(a.get("attribute_code")): str(a.get("value") or "")
                for a in p.get("custom_attributes") or []
                if isinstance(a, dict)
            }
            barcode = attrs.get("barcode") or attrs.get("ean") or attrs.get("gtin") or ""
            items.append(StoreItem(str(p.get("sku") or ""), barcode, str(p.get("id") or "")))
        return items

    def set_available(
        self, item: StoreItem, quantity: int, *, location_external_id: str = ""
    ) -> None:
        if not location_external_id:
            raise StorefrontError("a Magento location needs its MSI source code as external_id")
        n = max(0, quantity)
        self._call(
            "POST",
            "inventory/source-items",
            json={
                "sourceItems": [
                    {
                        "sku": item.sku,
                        "source_code": location_external_id,
                        "quantity": n,
                        "status": 1 if n > 0 else 0,
                    }
                ]
            },
        )

    def update_order_status(
        self, order_external_id: str, status: str, *, tracking: Tracking | None = None, key: str
    ) -> None:
        order = self.order(order_external_id)
        state = str(order.get("state") or "")
        if status == "cancelled":
            if state not in ("canceled", "closed"):  # closed: refunded in full by a credit memo
                self._call("POST", f"orders/{order_external_id}/cancel")
            return
        if status in SHIPPED:
            if state not in ("complete", "closed", "canceled") and not self._shipped(
                order_external_id, tracking
            ):
                body: dict[str, Any] = {
                    "notify": True,
                    "comment": {"comment": f"{KEY_PREFIX}{key}", "is_visible_on_front": 0},
                }
                if tracking is not None:
                    body["tracks"] = [
                        {
                            "track_number": tracking.number,
                            "title": tracking.company or "Carrier",
                            "carrier_code": "custom",
                        }
                    ]
                self._call("POST", f"order/{order_external_id}/ship", json=body)
            return
        if status in ("accepted", "ready_for_pickup", "exception"):
            text = f"{KEY_PREFIX}{key} {status}"
            histories = order.get("status_histories") or []
            if not any(text in str(h.get("comment") or "") for h in histories):
                self._call(
                    "POST",
                    f"orders/{order_external_id}/comments",
                    json={
                        "statusHistory": {
                            "comment": text,
                            "is_customer_notified": 0,
                            "is_visible_on_front": 0,
                            "parent_id": int(order_external_id),
                        }
                    },
                )
            return
        raise StorefrontError(f"no Magento action for {status!r}")

    def _shipped(self, order_external_id: str, tracking: Tracking | None) -> bool:
        shipments = self._search("shipments", "order_id", order_external_id, "eq")
        if tracking is None:
            return bool(shipments)
        return any(
            str(t.get("track_number")) == tracking.number
            for sh in shipments
            for t in sh.get("tracks") or []
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
        mark = f"{KEY_PREFIX}{key}"
        for memo in self._search("creditmemos", "order_id", order_external_id, "eq"):
            if any(mark in str(c.get("comment") or "") for c in memo.get("comments") or []):
                return StoreRefund(
                    str(memo.get("entity_id")),
                    abs(to_minor(memo.get("grand_total"), currency)),
                    created=False,
                )
        order = self.order(order_external_id)
        wanted = {int(ln.line_id): ln.quantity for ln in lines}
        items, computed = [], 0
        for it in order.get("items") or []:
            if it.get("parent_item_id"):
                continue
            item_id = int(it["item_id"])
            qty = wanted.get(item_id, 0)
            items.append({"order_item_id": item_id, "qty": qty})
            if qty:
                ordered = int(float(it.get("qty_ordered") or 1)) or 1
                gross = to_minor(it.get("row_total_incl_tax"), currency) - to_minor(
                    it.get("discount_amount"), currency
                )
                computed += gross * qty // ordered
        diff = amount - computed
        body: dict[str, Any] = {
            "items": items,
            "notify": True,
            "comment": {"comment": f"{mark} {reason}".strip(), "is_visible_on_front": 0},
            "arguments": {
                "shipping_amount": 0,
                "adjustment_positive": float(from_minor(max(diff, 0), currency)),
                "adjustment_negative": float(from_minor(max(-diff, 0), currency)),
            },
        }
        memo_id = self._call("POST", f"order/{order_external_id}/refund", json=body).json()
        return StoreRefund(str(memo_id), amount, created=True)

    def cancel(self, order_external_id: str) -> bool:
        """Cancel the order in Magento (a repeat is a no-op); what Magento answered."""
        if str(self.order(order_external_id).get("state") or "") == "canceled":
            return True
        return bool(self._call("POST", f"orders/{order_external_id}/cancel").json())


def _message(r: httpx.Response) -> str:
    """Magento's error body: {"message": "... %1 ...", "parameters": [...] or {...}}."""
    try:
        body = r.json()
        text = str(body.get("message", ""))
        params = body.get("parameters") or []
        if isinstance(params, dict):
            for k, v in params.items():
                text = text.replace(f"%{k}", str(v))
        else:
            for n, v in enumerate(params, start=1):
                text = text.replace(f"%{n}", str(v))
        return text[:500]
    except (ValueError, AttributeError):
        return r.text[:500]


# ---- Adobe Commerce webhooks -------------------------------------------------------------------

SIGNATURE_HEADER = "x-adobe-commerce-webhook-signature"


def verify_webhook(payload: bytes, header: str | None, public_keys: Sequence[str]) -> None:
    """Raise SignatureError unless `header` (x-adobe-commerce-webhook-signature) is the base64
    RSA-SHA256 signature of the raw body by the private key of one of these PEM public keys (the
    key pair of Stores > Configuration > Adobe Services > Webhooks; two during a rotation)."""
    import base64
    import binascii

    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    from integrations.webstore_signatures import SignatureError

    keys = [k for k in public_keys if k.strip()]
    if not keys:
        raise SignatureError("no webhook public key is configured for this store")
    if not header:
        raise SignatureError("the signature header is missing")
    try:
        signature = base64.b64decode(header.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("the signature header is malformed") from None
    if not 64 <= len(signature) <= 1024:
        raise SignatureError("the signature header is malformed")
    matched = False
    for pem in keys:
        try:
            key = serialization.load_pem_public_key(pem.strip().encode())
        except ValueError:
            continue  # not a PEM public key: a misconfiguration, never a match
        if not isinstance(key, rsa.RSAPublicKey):
            continue
        try:
            key.verify(signature, payload, padding.PKCS1v15(), hashes.SHA256())
            matched = True
        except InvalidSignature:
            pass
    if not matched:
        raise SignatureError("the signature does not match the body")


def webhook_order(body: dict[str, Any]) -> dict[str, Any] | None:
    """The order in an Adobe Commerce webhook body: `data.order` (observer events), `order`
    (plugin events), or the body itself when it is an order; None otherwise."""
    data = body.get("data")
    for candidate in (data.get("order") if isinstance(data, dict) else None, body.get("order")):
        if isinstance(candidate, dict):
            return candidate
    return body if "entity_id" in body and "items" in body else None
