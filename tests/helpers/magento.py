"""FakeMagentoServer: a local stand-in for the Magento 2 / Adobe Commerce REST API, for tests only.

Shapes follow Magento's REST API reference: `Authorization: Bearer <integration access token>`
(401 `{"message": "The consumer isn't authorized to access %resources.", "parameters":
{"resources": ...}}`), error bodies `{"message": "... %1 ...", "parameters": [...]}`, search results
`{"items": [...], "search_criteria": {...}, "total_count": N}` for `searchCriteria[...]` query
parameters (filter_groups / filters with field, value, condition_type eq | gteq | in; pageSize;
currentPage); `GET /V1/orders`, `GET /V1/orders/{id}`, `POST /V1/orders/{id}/cancel` (true /
false), `POST /V1/orders/{id}/comments`, `POST /V1/order/{id}/ship` and `POST /V1/order/{id}/refund`
(the new shipment / credit memo id), `GET /V1/shipments`, `GET /V1/creditmemos`, `GET
/V1/products` and `POST /V1/inventory/source-items` (MSI, `{"sourceItems": [...]}`, answers `[]`).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from helpers.fake_http import FakeHttpServer, Reply, Seen

API = "/rest/V1"
UNAUTHORIZED = "The consumer isn't authorized to access %resources."
NO_ENTITY = "The entity that was requested doesn't exist. Verify the entity and try again."


def _error(status: int, message: str, parameters: Any = None) -> Reply:
    body: dict[str, Any] = {"message": message}
    if parameters is not None:
        body["parameters"] = parameters
    return Reply(status, body)


def _money(value: Any) -> Decimal:
    return Decimal(str(value or 0))


class FakeMagentoServer(FakeHttpServer):
    """One Magento store: orders (with shipments and credit memos), products, MSI source items."""

    def __init__(self, token: str = "magento-integration-token", sources: tuple[str, ...] = ()):
        super().__init__()
        self.token = token
        self.sources = set(sources) | {"default"}
        self.ids = itertools.count(9001)
        self.now = datetime.now(UTC).replace(microsecond=0)  # the store's clock (UTC)
        self.orders: dict[int, dict[str, Any]] = {}
        self.shipments: list[dict[str, Any]] = []
        self.creditmemos: list[dict[str, Any]] = []
        self.products: dict[str, dict[str, Any]] = {}
        self.source_items: dict[tuple[str, str], dict[str, Any]] = {}
        self.route("GET", f"{API}/orders", self._search_orders)
        self.route("GET", f"{API}/orders/(?P<id>\\d+)", self._order)
        self.route("POST", f"{API}/orders/(?P<id>\\d+)/cancel", self._cancel)
        self.route("POST", f"{API}/orders/(?P<id>\\d+)/comments", self._comment)
        self.route("POST", f"{API}/order/(?P<id>\\d+)/ship", self._ship)
        self.route("POST", f"{API}/order/(?P<id>\\d+)/refund", self._refund)
        self.route("GET", f"{API}/shipments", lambda s, m: self._search(s, self.shipments))
        self.route("GET", f"{API}/creditmemos", lambda s, m: self._search(s, self.creditmemos))
        self.route(
            "GET", f"{API}/products", lambda s, m: self._search(s, [*self.products.values()])
        )
        self.route("POST", f"{API}/inventory/source-items", self._source_items)
        self.route("GET", f"{API}/products/(?P<sku>[^/]+)", self._product)
        self.route("PUT", f"{API}/products/(?P<sku>[^/]+)", self._save_product)

    # ---- test set-up -----------------------------------------------------------------------------

    def tick(self, seconds: int = 60) -> str:
        """Advance the store's clock; its `updated_at` form."""
        with self.lock:
            self.now += timedelta(seconds=seconds)
            return self.stamp()

    def stamp(self) -> str:
        return self.now.strftime("%Y-%m-%d %H:%M:%S")

    def add_product(self, sku: str, barcode: str = "") -> dict[str, Any]:
        with self.lock:
            product = {
                "id": next(self.ids),
                "sku": sku,
                "name": f"Item {sku}",
                "type_id": "simple",
                "status": 1,
                "custom_attributes": [{"attribute_code": "barcode", "value": barcode}]
                if barcode
                else [],
            }
            self.products[sku] = product
            return product

    def add_order(
        self,
        lines: list[tuple[str, int, str, str]],
        *,
        currency: str = "EUR",
        paid: bool = True,
        pickup: str = "",
        country: str = "DE",
    ) -> dict[str, Any]:
        """A placed order: lines of (sku, quantity, unit price incl. tax, line discount)."""
        with self.lock:
            entity_id = next(self.ids)
            items, total = [], Decimal(0)
            for sku, qty, price, discount in lines:
                row = _money(price) * qty
                items.append(
                    {
                        "item_id": next(self.ids),
                        "order_id": entity_id,
                        "sku": sku,
                        "name": f"Item {sku}",
                        "product_type": "simple",
                        "qty_ordered": qty,
                        "qty_shipped": 0,
                        "qty_refunded": 0,
                        "price": float(row / qty),
                        "price_incl_tax": float(_money(price)),
                        "row_total": float(row),
                        "row_total_incl_tax": float(row),
                        "tax_amount": 0,
                        "tax_percent": 0,
                        "discount_amount": float(_money(discount)),
                    }
                )
                total += row - _money(discount)
            self.tick(1)
            address = {
                "address_type": "shipping",
                "firstname": "Kim",
                "lastname": "Kunde",
                "street": ["Hauptstr. 1"],
                "city": "Berlin",
                "postcode": "10115",
                "country_id": country,
                "telephone": "+49301234567",
                "email": "kim@example.test",
            }
            order: dict[str, Any] = {
                "entity_id": entity_id,
                "increment_id": f"{entity_id:09d}",
                "state": "processing" if paid else "new",
                "status": "processing" if paid else "pending",
                "order_currency_code": currency,
                "base_currency_code": currency,
                "grand_total": float(total),
                "total_paid": float(total) if paid else 0,
                "total_refunded": 0,
                "customer_email": "kim@example.test",
                "customer_firstname": "Kim",
                "customer_lastname": "Kunde",
                "created_at": self.stamp(),
                "updated_at": self.stamp(),
                "items": items,
                "billing_address": {**address, "address_type": "billing"},
                "status_histories": [],
                "extension_attributes": {
                    "shipping_assignments": [{"shipping": {"address": address, "method": "flat"}}],
                    **({"pickup_location_code": pickup} if pickup else {}),
                },
            }
            self.orders[entity_id] = order
            return order

    def change(self, entity_id: int, **fields: Any) -> dict[str, Any]:
        """The merchant changes the order in the admin: new `updated_at`."""
        with self.lock:
            order = self.orders[entity_id]
            order.update(fields)
            order["updated_at"] = self.tick(1)
            return order

    def level(self, sku: str, source: str) -> float | None:
        with self.lock:
            item = self.source_items.get((sku, source))
            return item["quantity"] if item else None

    # ---- auth and search -------------------------------------------------------------------------

    def authorized(self, seen: Seen) -> Reply | None:
        if seen.headers.get("authorization") != f"Bearer {self.token}":
            return _error(401, UNAUTHORIZED, {"resources": "Magento_Sales::actions_view"})
        return None

    def _search(self, seen: Seen, rows: list[dict[str, Any]]) -> Reply:
        q = {k: v[0] for k, v in seen.query.items()}
        base = "searchCriteria[filter_groups][0][filters][0]"
        field, value = q.get(f"{base}[field]"), q.get(f"{base}[value]", "")
        condition = q.get(f"{base}[condition_type]", "eq")
        out = rows

        def get(r: dict[str, Any]) -> str:
            if field in r:
                return str(r[field])
            if field == "entity_id" and "id" in r:  # products are filtered on entity_id
                return str(r["id"])
            for a in r.get("custom_attributes") or []:
                if a.get("attribute_code") == field:
                    return str(a.get("value") or "")
            return ""

        if field:
            if condition == "gteq":
                out = [r for r in out if get(r) >= value]
            elif condition == "in":
                out = [r for r in out if get(r) in value.split(",")]
            elif condition == "eq":
                out = [r for r in out if get(r) == value]
            else:
                return _error(400, '"%1" is not a valid condition type.', [condition])
        sort = q.get("searchCriteria[sortOrders][0][field]")
        if sort:
            out = sorted(out, key=lambda r: str(r.get(sort, "")))
        size = int(q.get("searchCriteria[pageSize]", "0") or 0) or len(out) or 1
        page = int(q.get("searchCriteria[currentPage]", "1") or 1)
        items = out[(page - 1) * size : page * size]
        return Reply(
            200,
            {
                "items": items,
                "search_criteria": {"filter_groups": [], "page_size": size, "current_page": page},
                "total_count": len(out),
            },
        )

    # ---- orders ----------------------------------------------------------------------------------

    def _search_orders(self, seen: Seen, m: Any) -> Reply:
        return self._search(seen, [*self.orders.values()])

    def _get(self, m: Any) -> dict[str, Any] | None:
        return self.orders.get(int(m["id"]))

    def _order(self, seen: Seen, m: Any) -> Reply:
        order = self._get(m)
        return Reply(200, order) if order else _error(404, NO_ENTITY)

    def _cancel(self, seen: Seen, m: Any) -> Reply:
        order = self._get(m)
        if order is None:
            return _error(404, NO_ENTITY)
        if order["state"] in ("complete", "closed", "canceled"):
            return Reply(200, False)  # Magento answers false when the order cannot be cancelled
        order.update(state="canceled", status="canceled", updated_at=self.tick(1))
        return Reply(200, True)

    def _comment(self, seen: Seen, m: Any) -> Reply:
        order = self._get(m)
        if order is None:
            return _error(404, NO_ENTITY)
        history = (seen.body or {}).get("statusHistory")
        if not isinstance(history, dict) or not history.get("comment"):
            return _error(
                400, '"%fieldName" is required. Enter and try again.', {"fieldName": "comment"}
            )
        order["status_histories"].append({"entity_id": next(self.ids), **history})
        return Reply(200, True)

    def _ship(self, seen: Seen, m: Any) -> Reply:
        order = self._get(m)
        if order is None:
            return _error(404, NO_ENTITY)
        if order["state"] in ("complete", "closed", "canceled"):
            return _error(
                400,
                "Shipment Document Validation Error(s):\nThe order does not allow a shipment to "
                "be created.",
            )
        body = seen.body or {}
        shipment = {
            "entity_id": next(self.ids),
            "order_id": order["entity_id"],
            "tracks": [
                {"entity_id": next(self.ids), "order_id": order["entity_id"], **t}
                for t in body.get("tracks") or []
            ],
            "comments": [body["comment"]] if body.get("comment") else [],
            "items": body.get("items")
            or [
                {"order_item_id": it["item_id"], "qty": it["qty_ordered"]} for it in order["items"]
            ],
        }
        for it in order["items"]:
            it["qty_shipped"] = it["qty_ordered"]
        self.shipments.append(shipment)
        order.update(state="complete", status="complete", updated_at=self.tick(1))
        return Reply(200, shipment["entity_id"])

    def _refund(self, seen: Seen, m: Any) -> Reply:
        order = self._get(m)
        if order is None:
            return _error(404, NO_ENTITY)
        if not order["total_paid"]:
            return _error(400, "We can't create creditmemo for the order.")
        body = seen.body or {}
        by_id = {it["item_id"]: it for it in order["items"]}
        amount = Decimal(0)
        for line in body.get("items") or []:
            it = by_id.get(line.get("order_item_id"))
            if it is None:
                return _error(
                    400,
                    "The creditmemo contains product item that is not part of the original order.",
                )
            qty = int(line.get("qty") or 0)
            if qty > it["qty_ordered"] - it["qty_refunded"]:
                return _error(
                    400,
                    "The quantity to creditmemo must not be greater than the unrefunded quantity "
                    'for product SKU "%1".',
                    [it["sku"]],
                )
            unit = (_money(it["row_total_incl_tax"]) - _money(it["discount_amount"])) / it[
                "qty_ordered"
            ]
            amount += unit * qty
        args = body.get("arguments") or {}
        amount += _money(args.get("shipping_amount")) + _money(args.get("adjustment_positive"))
        amount -= _money(args.get("adjustment_negative"))
        available = _money(order["total_paid"]) - _money(order["total_refunded"])
        if amount <= 0 or amount > available:
            return _error(400, "The most money available to refund is %1.", [f"{available:.2f}"])
        for line in body.get("items") or []:
            by_id[line["order_item_id"]]["qty_refunded"] += int(line.get("qty") or 0)
        memo = {
            "entity_id": next(self.ids),
            "order_id": order["entity_id"],
            "grand_total": float(amount),
            "adjustment_positive": float(_money(args.get("adjustment_positive"))),
            "adjustment_negative": float(_money(args.get("adjustment_negative"))),
            "items": body.get("items") or [],
            "comments": [body["comment"]] if body.get("comment") else [],
        }
        self.creditmemos.append(memo)
        order["total_refunded"] = float(_money(order["total_refunded"]) + amount)
        if _money(order["total_refunded"]) >= _money(order["grand_total"]):
            order.update(state="closed", status="closed")
        order["updated_at"] = self.tick(1)
        return Reply(200, memo["entity_id"])

    # ---- products --------------------------------------------------------------------------------

    def _product(self, seen: Seen, m: Any) -> Reply:
        product = self.products.get(m["sku"])
        if product is None:
            return _error(
                404,
                "The product that was requested doesn't exist. Verify the product and try again.",
            )
        return Reply(200, product)

    def _save_product(self, seen: Seen, m: Any) -> Reply:
        """Magento's save: updates the SKU's product, or creates it (all required fields given)."""
        body = (seen.body or {}).get("product")
        if not isinstance(body, dict):
            return _error(
                400, '"%fieldName" is required. Enter and try again.', {"fieldName": "product"}
            )
        current = self.products.get(m["sku"])
        if current is None:
            for required in ("name", "attribute_set_id", "price"):
                if required not in body:
                    return _error(
                        400,
                        'The "%1" attribute value is empty. Set the attribute and try again.',
                        [required],
                    )
            current = {
                "id": next(self.ids),
                "sku": m["sku"],
                "type_id": "simple",
                "custom_attributes": [],
            }
            self.products[m["sku"]] = current
        attrs = {a["attribute_code"]: a for a in current.get("custom_attributes") or []}
        for a in body.get("custom_attributes") or []:
            attrs[a["attribute_code"]] = a
        current.update({k: v for k, v in body.items() if k != "custom_attributes"})
        current["custom_attributes"] = list(attrs.values())
        current["updated_at"] = self.tick(1)
        return Reply(200, current)

    # ---- stock (MSI) -----------------------------------------------------------------------------

    def _source_items(self, seen: Seen, m: Any) -> Reply:
        items = (seen.body or {}).get("sourceItems")
        if not isinstance(items, list) or not items:
            return _error(
                400, '"%fieldName" is required. Enter and try again.', {"fieldName": "sourceItems"}
            )
        for item in items:
            if item.get("source_code") not in self.sources:
                return _error(400, "Validation Failed")
            if item.get("sku") not in self.products:
                return _error(
                    400,
                    "The product that was requested doesn't exist. Verify the product and try "
                    "again.",
                )
        for item in items:
            self.source_items[(item["sku"], item["source_code"])] = dict(item)
        return Reply(200, [])
