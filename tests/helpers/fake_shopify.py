"""FakeShopifyServer: a local stand-in for the Shopify Admin REST API, for tests only.

It speaks the request and response shapes of the real endpoints tillflow uses (per Shopify's
REST Admin API reference): `X-Shopify-Access-Token` auth (401 `{"errors": "[API] Invalid API key
or access token ..."}`), `X-Shopify-Shop-Api-Call-Limit`, 429 with `Retry-After`, 404
`{"errors": "Not Found"}`, 422 `{"errors": {...}}`, and cursor pagination through the `Link` header.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from helpers.fake_http import FakeHttpServer, Reply, Seen

API = r"/admin/api/(?P<version>\d{4}-\d{2})"


class FakeShopifyServer(FakeHttpServer):
    """One shop: products with variants, locations, inventory levels, orders (transactions, refunds,
    fulfilment)."""

    def __init__(self, token: str = "shpat_test_token", page_size: int = 250) -> None:
        super().__init__()
        self.token = token
        self.page_size = page_size
        self.ids = itertools.count(9_000_000_001)
        self.products: dict[int, dict[str, Any]] = {}
        self.locations: set[int] = set()
        self.levels: dict[
            tuple[int, int], int
        ] = {}  # (inventory_item_id, location_id) -> available
        self.orders: dict[int, dict[str, Any]] = {}
        self.calls = 0
        self.route("GET", f"{API}/products.json", self._products)
        self.route("POST", f"{API}/inventory_levels/set.json", self._set_level)
        self.route("GET", f"{API}/orders/(?P<id>\\d+).json", self._order)
        self.route("PUT", f"{API}/orders/(?P<id>\\d+).json", self._update_order)
        self.route("POST", f"{API}/orders/(?P<id>\\d+)/cancel.json", self._cancel)
        self.route(
            "GET", f"{API}/orders/(?P<id>\\d+)/fulfillment_orders.json", self._fulfillment_orders
        )
        self.route("POST", f"{API}/fulfillments.json", self._fulfil)
        self.route("GET", f"{API}/orders/(?P<id>\\d+)/transactions.json", self._transactions)
        self.route("GET", f"{API}/orders/(?P<id>\\d+)/refunds.json", self._refunds)
        self.route("POST", f"{API}/orders/(?P<id>\\d+)/refunds.json", self._refund)

    # ---- seeding (what the merchant set up in Shopify) ------------------------------------------

    def add_location(self) -> int:
        loc = next(self.ids)
        self.locations.add(loc)
        return loc

    def add_variant(self, sku: str, barcode: str = "") -> dict[str, Any]:
        product_id, variant_id, item_id = next(self.ids), next(self.ids), next(self.ids)
        variant = {
            "id": variant_id,
            "product_id": product_id,
            "sku": sku,
            "barcode": barcode or None,
            "inventory_item_id": item_id,
            "inventory_management": "shopify",
        }
        self.products[product_id] = {"id": product_id, "title": sku, "variants": [variant]}
        return variant

    def add_order(
        self,
        order_id: int,
        lines: list[dict[str, Any]],
        *,
        total: str,
        currency: str = "EUR",
        gateway: str = "shopify_payments",
    ) -> dict[str, Any]:
        order = {
            "id": order_id,
            "name": f"#{order_id % 10000}",
            "currency": currency,
            "total_price": total,
            "financial_status": "paid",
            "cancelled_at": None,
            "tags": "",
            "line_items": lines,
        }
        order["_transactions"] = [
            {
                "id": next(self.ids),
                "order_id": order_id,
                "kind": "sale",
                "status": "success",
                "amount": total,
                "gateway": gateway,
                "currency": currency,
            }
        ]
        order["_refunds"] = []
        order["_fulfillment_orders"] = [
            {"id": next(self.ids), "order_id": order_id, "status": "open"}
        ]
        order["_fulfillments"] = []
        self.orders[order_id] = order
        return order

    def level(self, inventory_item_id: int | str, location_id: int | str) -> int | None:
        with self.lock:
            return self.levels.get((int(inventory_item_id), int(location_id)))

    # ---- auth and common headers ----------------------------------------------------------------

    def authorized(self, seen: Seen) -> Reply | None:
        if seen.headers.get("x-shopify-access-token") != self.token:
            return Reply(
                401,
                {
                    "errors": "[API] Invalid API key or access token (unrecognized login or wrong "
                    "password)"
                },
            )
        self.calls += 1
        return None

    def _ok(self, status: int, body: Any, headers: dict[str, str] | None = None) -> Reply:
        return Reply(
            status,
            body,
            {"X-Shopify-Shop-Api-Call-Limit": f"{min(self.calls, 40)}/40", **(headers or {})},
        )

    def _find(self, m: re.Match[str]) -> dict[str, Any] | None:
        return self.orders.get(int(m.group("id")))

    @staticmethod
    def _public(order: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in order.items() if not k.startswith("_")}

    # ---- endpoints ------------------------------------------------------------------------------

    def _products(self, seen: Seen, m: re.Match[str]) -> Reply:
        ordered = sorted(self.products)
        start = int(seen.query.get("page_info", ["0"])[0])
        limit = min(int(seen.query.get("limit", [str(self.page_size)])[0]), self.page_size)
        page = [self.products[i] for i in ordered[start : start + limit]]
        headers = {}
        if start + limit < len(ordered):
            headers["Link"] = (
                f"<{self.url}/admin/api/{m.group('version')}/products.json?limit={limit}"
                f'&page_info={start + limit}>; rel="next"'
            )
        return self._ok(200, {"products": page}, headers)

    def _set_level(self, seen: Seen, m: re.Match[str]) -> Reply:
        body = seen.body if isinstance(seen.body, dict) else {}
        problems = {
            k: ["is required"]
            for k in ("location_id", "inventory_item_id", "available")
            if k not in body
        }
        if problems:
            return Reply(422, {"errors": problems})
        if not all(
            isinstance(body[k], int) for k in ("location_id", "inventory_item_id", "available")
        ):
            return Reply(422, {"errors": {"available": ["must be an integer"]}})
        items = {v["inventory_item_id"] for p in self.products.values() for v in p["variants"]}
        if body["inventory_item_id"] not in items or body["location_id"] not in self.locations:
            return Reply(404, {"errors": "Not Found"})
        self.levels[(body["inventory_item_id"], body["location_id"])] = body["available"]
        return self._ok(
            200,
            {
                "inventory_level": {
                    "inventory_item_id": body["inventory_item_id"],
                    "location_id": body["location_id"],
                    "available": body["available"],
                    "updated_at": "2026-11-22T10:00:00+01:00",
                }
            },
        )

    def _order(self, seen: Seen, m: re.Match[str]) -> Reply:
        order = self._find(m)
        return (
            self._ok(200, {"order": self._public(order)})
            if order
            else Reply(404, {"errors": "Not Found"})
        )

    def _update_order(self, seen: Seen, m: re.Match[str]) -> Reply:
        order = self._find(m)
        if order is None:
            return Reply(404, {"errors": "Not Found"})
        changes = (seen.body or {}).get("order") or {}
        if "tags" in changes:
            order["tags"] = changes["tags"]
        return self._ok(200, {"order": self._public(order)})

    def _cancel(self, seen: Seen, m: re.Match[str]) -> Reply:
        order = self._find(m)
        if order is None:
            return Reply(404, {"errors": "Not Found"})
        if order["cancelled_at"]:
            return Reply(422, {"errors": {"base": ["Order has already been cancelled"]}})
        order["cancelled_at"] = "2026-11-22T10:00:00+01:00"
        return self._ok(200, {"order": self._public(order)})

    def _fulfillment_orders(self, seen: Seen, m: re.Match[str]) -> Reply:
        order = self._find(m)
        return (
            self._ok(200, {"fulfillment_orders": order["_fulfillment_orders"]})
            if order
            else Reply(404, {"errors": "Not Found"})
        )

    def _fulfil(self, seen: Seen, m: re.Match[str]) -> Reply:
        f = (seen.body or {}).get("fulfillment") or {}
        wanted = {
            x.get("fulfillment_order_id") for x in f.get("line_items_by_fulfillment_order", [])
        }
        for order in self.orders.values():
            for fo in order["_fulfillment_orders"]:
                if fo["id"] in wanted:
                    if fo["status"] == "closed":
                        return Reply(422, {"errors": ["Fulfillment order is closed"]})
                    fo["status"] = "closed"
                    created = {
                        "id": next(self.ids),
                        "order_id": order["id"],
                        "status": "success",
                        "tracking_number": (f.get("tracking_info") or {}).get("number"),
                        "tracking_company": (f.get("tracking_info") or {}).get("company"),
                    }
                    order["_fulfillments"].append(created)
                    return self._ok(201, {"fulfillment": created})
        return Reply(422, {"errors": ["line_items_by_fulfillment_order is invalid"]})

    def _transactions(self, seen: Seen, m: re.Match[str]) -> Reply:
        order = self._find(m)
        return (
            self._ok(200, {"transactions": order["_transactions"]})
            if order
            else Reply(404, {"errors": "Not Found"})
        )

    def _refunds(self, seen: Seen, m: re.Match[str]) -> Reply:
        order = self._find(m)
        return (
            self._ok(200, {"refunds": order["_refunds"]})
            if order
            else Reply(404, {"errors": "Not Found"})
        )

    def _refund(self, seen: Seen, m: re.Match[str]) -> Reply:
        order = self._find(m)
        if order is None:
            return Reply(404, {"errors": "Not Found"})
        r = (seen.body or {}).get("refund") or {}
        parents = {t["id"] for t in order["_transactions"]}
        txs = r.get("transactions") or []
        if any(t.get("parent_id") not in parents or t.get("kind") != "refund" for t in txs):
            return Reply(422, {"errors": {"transactions": ["parent_id is invalid"]}})
        refunded = sum(float(t["amount"]) for ref in order["_refunds"] for t in ref["transactions"])
        asked = sum(float(t["amount"]) for t in txs)
        if refunded + asked > float(order["total_price"]) + 1e-9:
            return Reply(
                422,
                {
                    "errors": {
                        "base": [
                            "Refund amount must be less than or equal to the amount "
                            "available to refund"
                        ]
                    }
                },
            )
        lines = {li["id"] for li in order["line_items"]}
        if any(li.get("line_item_id") not in lines for li in r.get("refund_line_items") or []):
            return Reply(422, {"errors": {"refund_line_items": ["line_item_id is invalid"]}})
        created = {
            "id": next(self.ids),
            "order_id": order["id"],
            "note": r.get("note"),
            "refund_line_items": r.get("refund_line_items") or [],
            "transactions": [{**t, "id": next(self.ids), "status": "success"} for t in txs],
        }
        order["_refunds"].append(created)
        order["financial_status"] = (
            "refunded"
            if abs(refunded + asked - float(order["total_price"])) < 1e-9
            else "partially_refunded"
        )
        return self._ok(201, {"refund": created})
