"""FakeWooCommerceServer: a local stand-in for the WooCommerce REST API v3, for tests only.

Request and response shapes follow WooCommerce's REST API v3 documentation: HTTP basic auth with
the consumer key and secret (401 `woocommerce_rest_cannot_view`), WP REST error bodies
`{"code", "message", "data": {"status"}}`, `X-WP-Total` / `X-WP-TotalPages` pagination, products
and variations with `stock_quantity`, orders, order notes and order refunds.
"""

from __future__ import annotations

import base64
import itertools
import re
from typing import Any

from helpers.fake_http import FakeHttpServer, Reply, Seen

API = "/wp-json/wc/v3"


def _error(status: int, code: str, message: str) -> Reply:
    return Reply(status, {"code": code, "message": message, "data": {"status": status}})


class FakeWooCommerceServer(FakeHttpServer):
    """One WooCommerce site: simple and variable products, orders with notes and refunds."""

    def __init__(
        self,
        consumer_key: str = "ck_test",
        consumer_secret: str = "cs_test",
        per_page_max: int = 100,
    ) -> None:
        super().__init__()
        self.key, self.secret = consumer_key, consumer_secret
        self.per_page_max = per_page_max
        self.ids = itertools.count(501)
        self.products: dict[int, dict[str, Any]] = {}
        self.variations: dict[int, dict[int, dict[str, Any]]] = {}
        self.orders: dict[int, dict[str, Any]] = {}
        self.route("GET", f"{API}/products", self._list_products)
        self.route("PUT", f"{API}/products/(?P<id>\\d+)", self._update_product)
        self.route("GET", f"{API}/products/(?P<id>\\d+)/variations", self._list_variations)
        self.route(
            "PUT", f"{API}/products/(?P<pid>\\d+)/variations/(?P<id>\\d+)", self._update_variation
        )
        self.route("GET", f"{API}/orders/(?P<id>\\d+)", self._order)
        self.route("PUT", f"{API}/orders/(?P<id>\\d+)", self._update_order)
        self.route("GET", f"{API}/orders/(?P<id>\\d+)/notes", self._notes)
        self.route("POST", f"{API}/orders/(?P<id>\\d+)/notes", self._add_note)
        self.route("GET", f"{API}/orders/(?P<id>\\d+)/refunds", self._refunds)
        self.route("POST", f"{API}/orders/(?P<id>\\d+)/refunds", self._refund)

    # ---- seeding --------------------------------------------------------------------------------

    def add_product(self, sku: str) -> dict[str, Any]:
        pid = next(self.ids)
        self.products[pid] = {
            "id": pid,
            "name": sku,
            "type": "simple",
            "sku": sku,
            "manage_stock": False,
            "stock_quantity": None,
        }
        return self.products[pid]

    def add_variable(self, skus: list[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        pid = next(self.ids)
        self.products[pid] = {
            "id": pid,
            "name": "variable",
            "type": "variable",
            "sku": "",
            "manage_stock": False,
            "stock_quantity": None,
        }
        self.variations[pid] = {}
        for sku in skus:
            vid = next(self.ids)
            self.variations[pid][vid] = {
                "id": vid,
                "sku": sku,
                "manage_stock": False,
                "stock_quantity": None,
            }
        return self.products[pid], list(self.variations[pid].values())

    def add_order(
        self,
        order_id: int,
        lines: list[dict[str, Any]],
        *,
        total: str,
        status: str = "processing",
        currency: str = "EUR",
    ) -> dict[str, Any]:
        self.orders[order_id] = {
            "id": order_id,
            "status": status,
            "currency": currency,
            "total": total,
            "line_items": lines,
            "_notes": [],
            "_refunds": [],
        }
        return self.orders[order_id]

    def stock(self, product_id: int, variation_id: int | None = None) -> int | None:
        with self.lock:
            item = (
                self.variations[product_id][variation_id]
                if variation_id
                else self.products[product_id]
            )
            return item["stock_quantity"]

    # ---- auth -----------------------------------------------------------------------------------

    def authorized(self, seen: Seen) -> Reply | None:
        expected = "Basic " + base64.b64encode(f"{self.key}:{self.secret}".encode()).decode()
        if seen.headers.get("authorization") != expected:
            return _error(401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
        return None

    def not_found(self) -> Reply:
        return _error(
            404, "rest_no_route", "No route was found matching the URL and request method."
        )

    # ---- endpoints ------------------------------------------------------------------------------

    def _page(self, seen: Seen, items: list[dict[str, Any]]) -> Reply:
        per_page = min(int(seen.query.get("per_page", ["10"])[0]), self.per_page_max)
        page = int(seen.query.get("page", ["1"])[0])
        pages = max(1, -(-len(items) // per_page))
        return Reply(
            200,
            items[(page - 1) * per_page : page * per_page],
            {"X-WP-Total": str(len(items)), "X-WP-TotalPages": str(pages)},
        )

    def _list_products(self, seen: Seen, m: re.Match[str]) -> Reply:
        return self._page(seen, [self.products[i] for i in sorted(self.products)])

    def _list_variations(self, seen: Seen, m: re.Match[str]) -> Reply:
        pid = int(m.group("id"))
        if pid not in self.products:
            return _error(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")
        return self._page(seen, list(self.variations.get(pid, {}).values()))

    @staticmethod
    def _stock_update(item: dict[str, Any], body: Any) -> Reply | None:
        if not isinstance(body, dict):
            return _error(400, "rest_invalid_json", "Invalid JSON body passed.")
        if "stock_quantity" in body and not isinstance(body["stock_quantity"], int):
            return _error(400, "rest_invalid_param", "Invalid parameter(s): stock_quantity")
        for k in ("stock_quantity", "manage_stock"):
            if k in body:
                item[k] = body[k]
        return None

    def _update_product(self, seen: Seen, m: re.Match[str]) -> Reply:
        product = self.products.get(int(m.group("id")))
        if product is None:
            return _error(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")
        if product["type"] == "variable" and "stock_quantity" in (seen.body or {}):
            return _error(
                400,
                "woocommerce_rest_invalid_product_id",
                "To manipulate product variations you should use the "
                "/products/<product_id>/variations/<id> endpoint.",
            )
        return self._stock_update(product, seen.body) or Reply(200, product)

    def _update_variation(self, seen: Seen, m: re.Match[str]) -> Reply:
        variation = self.variations.get(int(m.group("pid")), {}).get(int(m.group("id")))
        if variation is None:
            return _error(
                404, "woocommerce_rest_product_variation_invalid_id", "Invalid resource ID."
            )
        return self._stock_update(variation, seen.body) or Reply(200, variation)

    def _find(self, m: re.Match[str]) -> dict[str, Any] | None:
        return self.orders.get(int(m.group("id")))

    @staticmethod
    def _public(order: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in order.items() if not k.startswith("_")}

    def _order(self, seen: Seen, m: re.Match[str]) -> Reply:
        order = self._find(m)
        return (
            Reply(200, self._public(order))
            if order
            else _error(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
        )

    def _update_order(self, seen: Seen, m: re.Match[str]) -> Reply:
        order = self._find(m)
        if order is None:
            return _error(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
        status = (seen.body or {}).get("status")
        if status not in (
            None,
            "pending",
            "processing",
            "on-hold",
            "completed",
            "cancelled",
            "refunded",
            "failed",
        ):
            return _error(400, "rest_invalid_param", "Invalid parameter(s): status")
        if status:
            order["status"] = status
        return Reply(200, self._public(order))

    def _notes(self, seen: Seen, m: re.Match[str]) -> Reply:
        order = self._find(m)
        return (
            Reply(200, order["_notes"])
            if order
            else _error(404, "woocommerce_rest_order_invalid_id", "Invalid order ID.")
        )

    def _add_note(self, seen: Seen, m: re.Match[str]) -> Reply:
        order = self._find(m)
        if order is None:
            return _error(404, "woocommerce_rest_order_invalid_id", "Invalid order ID.")
        if not (seen.body or {}).get("note"):
            return _error(400, "rest_missing_callback_param", "Missing parameter(s): note")
        note = {
            "id": next(self.ids),
            "note": seen.body["note"],
            "customer_note": bool(seen.body.get("customer_note")),
        }
        order["_notes"].append(note)
        return Reply(201, note)

    def _refunds(self, seen: Seen, m: re.Match[str]) -> Reply:
        order = self._find(m)
        return (
            Reply(200, order["_refunds"])
            if order
            else _error(404, "woocommerce_rest_order_invalid_id", "Invalid order ID.")
        )

    def _refund(self, seen: Seen, m: re.Match[str]) -> Reply:
        order = self._find(m)
        if order is None:
            return _error(404, "woocommerce_rest_order_invalid_id", "Invalid order ID.")
        body = seen.body or {}
        try:
            amount = float(body.get("amount", "0"))
        except ValueError:
            return _error(400, "rest_invalid_param", "Invalid parameter(s): amount")
        refunded = sum(float(r["amount"]) for r in order["_refunds"])
        if amount <= 0 or refunded + amount > float(order["total"]) + 1e-9:
            return _error(
                400, "woocommerce_rest_cannot_create_order_refund", "Invalid refund amount."
            )
        lines = {li["id"] for li in order["line_items"]}
        if any(li.get("id") not in lines for li in body.get("line_items") or []):
            return _error(400, "woocommerce_rest_cannot_create_order_refund", "Invalid line item.")
        created = {
            "id": next(self.ids),
            "amount": f"{amount:.2f}",
            "reason": body.get("reason", ""),
            "refunded_payment": bool(body.get("api_refund", True)),
            "meta_data": body.get("meta_data") or [],
            "line_items": body.get("line_items") or [],
        }
        order["_refunds"].append(created)
        return Reply(201, created)
