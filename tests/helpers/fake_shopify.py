"""FakeShopifyServer: a local stand-in for the Shopify Admin REST API, for tests only.

It speaks the request and response shapes of the real endpoints tillflow uses (per Shopify's
REST Admin API reference): `X-Shopify-Access-Token` auth (401 `{"errors": "[API] Invalid API key
or access token ..."}`), `X-Shopify-Shop-Api-Call-Limit`, 429 with `Retry-After`, 404
`{"errors": "Not Found"}`, 422 `{"errors": {...}}`, and cursor pagination through the `Link` header.

And the Admin GraphQL API's `POST /admin/api/{version}/graphql.json` for products (per the GraphQL
Admin reference): the `productSet` and `productUpdate` mutations and the `product` /
`productVariants` queries, answered as `{"data": ..., "extensions": {"cost": ...}}`, with
`userErrors` for refused input, top-level `errors` for a bad query, and a THROTTLED error (200,
`extensions.code` THROTTLED, the cost bucket in `extensions.cost.throttleStatus`) when asked.
"""

from __future__ import annotations

import itertools
import re
from decimal import Decimal, InvalidOperation
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
        self.route("POST", f"{API}/graphql.json", self._graphql)
        self.throttled = 0  # the next N GraphQL calls are THROTTLED
        self.clock = itertools.count(1)

    def start(self) -> FakeHttpServer:
        """Listening; replies go out at once (no Nagle delay between a reply's headers and body,
        which would add the client's delayed-ACK time, ~40 ms, to every call)."""
        super().start()
        assert self._server is not None
        self._server.RequestHandlerClass.disable_nagle_algorithm = True
        return self

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

    # ---- Admin GraphQL: products ---------------------------------------------------------------

    def throttle_next(self, times: int = 1) -> None:
        """The next `times` GraphQL calls are refused as THROTTLED (cost bucket empty)."""
        with self.lock:
            self.throttled += times

    def product_by_sku(self, sku: str) -> dict[str, Any] | None:
        with self.lock:
            for p in self.products.values():
                if any(v.get("sku") == sku for v in p["variants"]):
                    return p
            return None

    def edit_in_admin(self, product_id: int, **changes: Any) -> dict[str, Any]:
        """A merchant's edit in the Shopify admin (title, body_html, or a variant's `price` /
        `barcode` via `variant_sku`); returns the products/update webhook body Shopify sends."""
        with self.lock:
            p = self.products[product_id]
            sku = changes.pop("variant_sku", None)
            for key in ("title", "body_html", "status"):
                if key in changes:
                    p[key] = changes.pop(key)
            if sku is not None:
                v = next(v for v in p["variants"] if v["sku"] == sku)
                for key in ("price", "barcode"):
                    if key in changes:
                        v[key] = changes.pop(key)
            p["updated_at"] = self._stamp()
            return self.webhook_body(product_id)

    def webhook_body(self, product_id: int) -> dict[str, Any]:
        """A product as products/create and products/update webhooks carry it (REST shape)."""
        with self.lock:
            p = self.products[product_id]
            return {
                "id": p["id"],
                "title": p.get("title", ""),
                "body_html": p.get("body_html", ""),
                "status": p.get("status", "active"),
                "updated_at": p.get("updated_at", self._stamp()),
                "variants": [dict(v) for v in p["variants"]],
                "options": p.get("options", []),
            }

    def _stamp(self) -> str:
        n = next(self.clock)
        return f"2026-11-22T10:{n // 60 % 60:02d}:{n % 60:02d}+00:00"

    @staticmethod
    def _cost(requested: int, available: float = 1990.0) -> dict[str, Any]:
        return {
            "cost": {
                "requestedQueryCost": requested,
                "actualQueryCost": requested if available >= requested else None,
                "throttleStatus": {
                    "maximumAvailable": 2000.0,
                    "currentlyAvailable": available,
                    "restoreRate": 100.0,
                },
            }
        }

    def _gql_product(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": f"gid://shopify/Product/{p['id']}",
            "title": p.get("title", ""),
            "descriptionHtml": p.get("body_html", ""),
            "status": str(p.get("status", "active")).upper(),
            "updatedAt": p.get("updated_at", ""),
            "variants": {
                "nodes": [
                    {
                        "id": f"gid://shopify/ProductVariant/{v['id']}",
                        "sku": v.get("sku") or "",
                        "barcode": v.get("barcode"),
                        "price": v.get("price", "0.00"),
                        "inventoryItem": {
                            "id": f"gid://shopify/InventoryItem/{v['inventory_item_id']}"
                        },
                    }
                    for v in p["variants"]
                ]
            },
        }

    @staticmethod
    def _num(gid: Any) -> int | None:
        text = str(gid or "")
        tail = text.rsplit("/", 1)[-1]
        return int(tail) if tail.isdigit() else None

    def _graphql(self, seen: Seen, m: re.Match[str]) -> Reply:
        body = seen.body if isinstance(seen.body, dict) else {}
        query = str(body.get("query") or "")
        variables = body.get("variables") or {}
        if not query:
            return Reply(400, {"errors": {"query": "Required parameter missing or invalid"}})
        if self.throttled > 0:
            self.throttled -= 1
            return self._ok(
                200,
                {
                    "errors": [
                        {
                            "message": "Throttled",
                            "extensions": {
                                "code": "THROTTLED",
                                "documentation": "https://shopify.dev/api/usage/rate-limits",
                            },
                        }
                    ],
                    "extensions": self._cost(52, available=2.0),
                },
            )
        data: dict[str, Any]
        if "productSet(" in query:
            data = {"productSet": self._product_set(variables.get("input") or {})}
        elif "productUpdate(" in query:
            data = {"productUpdate": self._product_update(variables.get("product") or {})}
        elif "productVariants(" in query:
            wanted = re.fullmatch(r'sku:"?(.*?)"?', str(variables.get("query") or ""))
            sku = wanted.group(1).replace('\\"', '"') if wanted else ""
            found = self.product_by_sku(sku) if sku else None
            data = {
                "productVariants": {
                    "nodes": [{"product": self._gql_product(found)}] if found else []
                }
            }
        elif "product(" in query:
            pid = self._num(variables.get("id"))
            found = self.products.get(pid) if pid is not None else None
            data = {"product": self._gql_product(found) if found else None}
        else:
            return self._ok(
                200,
                {
                    "errors": [
                        {
                            "message": "Field doesn't exist on type 'Mutation'",
                            "extensions": {"code": "undefinedField"},
                        }
                    ]
                },
            )
        return self._ok(200, {"data": data, "extensions": self._cost(10)})

    @staticmethod
    def _user_error(field: list[str], message: str, code: str = "INVALID") -> dict[str, Any]:
        return {"product": None, "userErrors": [{"field": field, "message": message, "code": code}]}

    def _product_set(self, data: dict[str, Any]) -> dict[str, Any]:
        pid = self._num(data.get("id")) if data.get("id") else None
        if pid is not None and pid not in self.products:
            return self._user_error(
                ["input", "id"], "Product does not exist", "PRODUCT_DOES_NOT_EXIST"
            )
        if pid is None and not str(data.get("title") or "").strip():
            return self._user_error(["input", "title"], "Title can't be blank", "BLANK")
        status = str(data.get("status") or "ACTIVE")
        if status not in ("ACTIVE", "ARCHIVED", "DRAFT"):
            return self._user_error(["input", "status"], "Status is invalid")
        options = {
            o["name"]: {v["name"] for v in o.get("values") or []}
            for o in data.get("productOptions") or []
        }
        existing = self.products.get(pid, {}) if pid is not None else {}
        by_id = {v["id"]: v for v in existing.get("variants", [])}
        variants = []
        seen_skus: set[str] = set()
        for i, v in enumerate(data.get("variants") or []):
            chosen = {o["optionName"]: o["name"] for o in v.get("optionValues") or []}
            if options and (
                set(chosen) != set(options) or any(chosen[k] not in options[k] for k in chosen)
            ):
                return self._user_error(
                    ["input", "variants", str(i), "optionValues"],
                    "Option values must match the product's options",
                    "INVALID_VARIANT",
                )
            if "price" in v:
                try:
                    Decimal(str(v["price"]))
                except InvalidOperation:
                    return self._user_error(
                        ["input", "variants", str(i), "price"], "Price is invalid"
                    )
            sku = str(v.get("sku") or "")
            if sku in seen_skus:
                return self._user_error(["input", "variants", str(i), "sku"], "SKU is duplicated")
            seen_skus.add(sku)
            vid = self._num(v.get("id")) if v.get("id") else None
            if vid is not None and vid not in by_id:
                return self._user_error(
                    ["input", "variants", str(i), "id"],
                    "Product variant does not exist",
                    "PRODUCT_VARIANT_DOES_NOT_EXIST",
                )
            old = by_id.get(vid, {}) if vid is not None else {}
            variants.append(
                {
                    "id": vid if vid is not None else next(self.ids),
                    "product_id": 0,
                    "sku": sku,
                    "barcode": v.get("barcode") if "barcode" in v else old.get("barcode"),
                    "price": str(v["price"]) if "price" in v else old.get("price", "0.00"),
                    "inventory_item_id": old.get("inventory_item_id") or next(self.ids),
                    "inventory_management": "shopify",
                    "option_values": chosen,
                }
            )
        if pid is None:
            pid = next(self.ids)
            existing = {"id": pid, "variants": []}
        product = dict(existing)
        product.update(
            {
                "title": data.get("title", existing.get("title", "")),
                "body_html": data.get("descriptionHtml", existing.get("body_html", "")),
                "status": status.lower(),
                "options": [{"name": n, "values": sorted(vals)} for n, vals in options.items()],
                "updated_at": self._stamp(),
            }
        )
        if "variants" in data:
            for v in variants:
                v["product_id"] = pid
            product["variants"] = variants
        self.products[pid] = product
        return {"product": self._gql_product(product), "userErrors": []}

    def _product_update(self, data: dict[str, Any]) -> dict[str, Any]:
        pid = self._num(data.get("id"))
        if pid is None or pid not in self.products:
            return {
                "product": None,
                "userErrors": [{"field": ["id"], "message": "Product does not exist"}],
            }
        p = self.products[pid]
        if "status" in data:
            if data["status"] not in ("ACTIVE", "ARCHIVED", "DRAFT"):
                return {
                    "product": None,
                    "userErrors": [{"field": ["status"], "message": "Status is invalid"}],
                }
            p["status"] = str(data["status"]).lower()
        for key, field in (("title", "title"), ("descriptionHtml", "body_html")):
            if key in data:
                p[field] = data[key]
        p["updated_at"] = self._stamp()
        return {
            "product": {"id": f"gid://shopify/Product/{pid}", "status": p["status"].upper()},
            "userErrors": [],
        }
