"""FakeWooCommerceServer: a local stand-in for the WooCommerce REST API v3, for tests only.

Request and response shapes follow WooCommerce's REST API v3 documentation: HTTP basic auth with
the consumer key and secret (401 `woocommerce_rest_cannot_view`), WP REST error bodies
`{"code", "message", "data": {"status"}}`, `X-WP-Total` / `X-WP-TotalPages` pagination, products
and variations with `stock_quantity`, orders, order notes and order refunds; and the catalogue:
products (simple and variable) created, read, updated and deleted (`?force=true` for good, else to
the trash), found by `?sku=`, and their variations created and updated, with `regular_price`,
`global_unique_id` (unique in the site) and `status` validated as WooCommerce does.
"""

from __future__ import annotations

import base64
import itertools
import re
from decimal import Decimal, InvalidOperation
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
        self.route("POST", f"{API}/products", self._create_product)
        self.route("GET", f"{API}/products/(?P<id>\\d+)", self._get_product)
        self.route("DELETE", f"{API}/products/(?P<id>\\d+)", self._delete_product)
        self.route("POST", f"{API}/products/(?P<id>\\d+)/variations", self._create_variation)
        self.clock = itertools.count(1)
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

    def start(self) -> FakeHttpServer:
        """Listening; replies go out at once (no Nagle delay between a reply's headers and body,
        which would add the client's delayed-ACK time, ~40 ms, to every call)."""
        super().start()
        assert self._server is not None
        self._server.RequestHandlerClass.disable_nagle_algorithm = True
        return self

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
        items = [self.products[i] for i in sorted(self.products)]
        if "sku" in seen.query:
            wanted = set(seen.query["sku"][0].split(","))
            items = [p for p in items if p.get("sku") in wanted]
        return self._page(seen, [p for p in items if p.get("status") != "trash"])

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
        return (
            self._stock_update(product, seen.body)
            or self._catalogue_update(product, seen.body, product["id"])
            or Reply(200, product)
        )

    def _update_variation(self, seen: Seen, m: re.Match[str]) -> Reply:
        variation = self.variations.get(int(m.group("pid")), {}).get(int(m.group("id")))
        if variation is None:
            return _error(
                404, "woocommerce_rest_product_variation_invalid_id", "Invalid resource ID."
            )
        return (
            self._stock_update(variation, seen.body)
            or self._catalogue_update(variation, seen.body, variation["id"])
            or Reply(200, variation)
        )

    # ---- the catalogue: products and variations -------------------------------------------------

    STATUSES = ("draft", "pending", "private", "publish")
    FIELDS = (
        "name",
        "description",
        "status",
        "sku",
        "regular_price",
        "global_unique_id",
        "attributes",
        "meta_data",
        "type",
    )

    def _stamp(self) -> str:
        n = next(self.clock)
        return f"2026-11-22T10:{n // 60 % 60:02d}:{n % 60:02d}"

    def _catalogue_update(self, item: dict[str, Any], body: Any, own_id: int) -> Reply | None:
        """Validate and apply the catalogue fields of a product or variation body."""
        body = body if isinstance(body, dict) else {}
        if "status" in body and body["status"] not in self.STATUSES:
            return _error(400, "rest_invalid_param", "Invalid parameter(s): status")
        if "regular_price" in body and body["regular_price"] != "":
            try:
                Decimal(str(body["regular_price"]))
            except InvalidOperation:
                return _error(400, "rest_invalid_param", "Invalid parameter(s): regular_price")
            if not isinstance(body["regular_price"], str):
                return _error(400, "rest_invalid_param", "Invalid parameter(s): regular_price")
        for key, message in (
            ("sku", "Invalid or duplicated SKU."),
            ("global_unique_id", "Invalid or duplicated GTIN, UPC, EAN or ISBN."),
        ):
            value = body.get(key)
            if value and any(o.get(key) == value and o["id"] != own_id for o in self._all_items()):
                return _error(400, f"product_invalid_{key}", message)
        for key in self.FIELDS:
            if key in body:
                item[key] = body[key]
        if "regular_price" in body:
            item["price"] = body["regular_price"]
        item["date_modified_gmt"] = self._stamp()
        return None

    def _all_items(self) -> list[dict[str, Any]]:
        items = [p for p in self.products.values() if p.get("status") != "trash"]
        return items + [v for vs in self.variations.values() for v in vs.values()]

    def _create_product(self, seen: Seen, m: re.Match[str]) -> Reply:
        body = seen.body if isinstance(seen.body, dict) else None
        if body is None:
            return _error(400, "rest_invalid_json", "Invalid JSON body passed.")
        kind = body.get("type", "simple")
        if kind not in ("simple", "variable", "grouped", "external"):
            return _error(400, "rest_invalid_param", "Invalid parameter(s): type")
        pid = next(self.ids)
        product: dict[str, Any] = {
            "id": pid,
            "name": "",
            "type": kind,
            "status": "publish",
            "sku": "",
            "regular_price": "",
            "price": "",
            "global_unique_id": "",
            "description": "",
            "manage_stock": False,
            "stock_quantity": None,
            "variations": [],
        }
        refused = self._catalogue_update(product, body, pid)
        if refused is not None:
            return refused
        self.products[pid] = product
        if kind == "variable":
            self.variations.setdefault(pid, {})
        return Reply(201, product)

    def _get_product(self, seen: Seen, m: re.Match[str]) -> Reply:
        product = self.products.get(int(m.group("id")))
        if product is None:
            return _error(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")
        return Reply(200, product)

    def _delete_product(self, seen: Seen, m: re.Match[str]) -> Reply:
        pid = int(m.group("id"))
        product = self.products.get(pid)
        if product is None:
            return _error(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")
        if seen.query.get("force", ["false"])[0] == "true":
            del self.products[pid]
            self.variations.pop(pid, None)
            return Reply(200, product)
        if product.get("status") == "trash":
            return _error(
                410, "woocommerce_rest_already_trashed", "The product has already been deleted."
            )
        product["status"] = "trash"
        return Reply(200, product)

    def _create_variation(self, seen: Seen, m: re.Match[str]) -> Reply:
        pid = int(m.group("id"))
        product = self.products.get(pid)
        if product is None or product.get("type") != "variable":
            return _error(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")
        vid = next(self.ids)
        variation: dict[str, Any] = {
            "id": vid,
            "sku": "",
            "status": "publish",
            "regular_price": "",
            "price": "",
            "global_unique_id": "",
            "manage_stock": False,
            "stock_quantity": None,
            "attributes": [],
        }
        refused = self._catalogue_update(variation, seen.body, vid)
        if refused is not None:
            return refused
        self.variations.setdefault(pid, {})[vid] = variation
        product.setdefault("variations", []).append(vid)
        return Reply(201, variation)

    def product_by_sku(self, sku: str) -> dict[str, Any] | None:
        with self.lock:
            return next((p for p in self.products.values() if p.get("sku") == sku), None)

    def edit_in_admin(self, product_id: int, **changes: Any) -> dict[str, Any]:
        """A shop manager's edit in wp-admin; returns the product.updated webhook body."""
        with self.lock:
            product = self.products[product_id]
            product.update(changes)
            if "regular_price" in changes:
                product["price"] = changes["regular_price"]
            product["date_modified_gmt"] = self._stamp()
            return dict(product)

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
