"""Shopify and WooCommerce order JSON (webhook bodies) as ExternalOrder; pure parsing, no catalogue
look-ups.

Pickup in store: Shopify `note_attributes` or WooCommerce `meta_data` entry `pickup_location`
holding one of our store codes (the web store's checkout sets it); otherwise the order ships.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from domain.errors import InvalidRequest
from domain.money import round_half_up
from domain.online_orders import ExternalLine, ExternalOrder, to_minor

PICKUP_FIELD = "pickup_location"


def _require(payload: Any, field: str) -> Any:
    if not isinstance(payload, dict) or payload.get(field) in (None, ""):
        raise InvalidRequest(f"The order has no {field}.")
    return payload[field]


def _quantity(value: Any, where: str) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | str)
        or not str(value).isdigit()
        or int(value) < 1
    ):
        raise InvalidRequest(f"{where}: quantity must be a whole number of at least 1.")
    return int(value)


def _float(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _pairs(entries: Any, key_field: str, value_field: str) -> dict[str, str]:
    if not isinstance(entries, list):
        return {}
    return {
        str(e.get(key_field)): str(e.get(value_field) or "") for e in entries if isinstance(e, dict)
    }


def shopify_order(payload: Any) -> ExternalOrder:
    """An orders/* webhook body (the Order resource of the Admin REST API)."""
    order_id = str(_require(payload, "id"))
    currency = str(payload.get("currency") or payload.get("presentment_currency") or "").upper()
    if len(currency) != 3:
        raise InvalidRequest("The order has no currency.")
    items = payload.get("line_items")
    if not isinstance(items, list) or not items:
        raise InvalidRequest("The order has no line_items.")
    lines = []
    for n, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise InvalidRequest(f"line_items[{n}] is not an object.")
        taxes = [t for t in item.get("tax_lines") or [] if isinstance(t, dict)]
        lines.append(
            ExternalLine(
                line_id=str(_require(item, "id")),
                sku=str(item.get("sku") or "").strip(),
                quantity=_quantity(item.get("quantity"), f"line_items[{n}]"),
                unit_price=to_minor(item.get("price"), currency),
                title=str(item.get("title") or item.get("name") or ""),
                tax=sum(to_minor(t.get("price"), currency) for t in taxes),
                discount=_shopify_discount(item, currency, f"line_items[{n}]"),
                tax_rate_bp=round_half_up(Decimal(str(taxes[0].get("rate") or 0)) * 10000)
                if taxes
                else 0,
            )
        )
    address = (
        payload.get("shipping_address") if isinstance(payload.get("shipping_address"), dict) else {}
    )
    customer = payload.get("customer") if isinstance(payload.get("customer"), dict) else {}
    name = " ".join(str(customer.get(k) or "") for k in ("first_name", "last_name")).strip()
    return ExternalOrder(
        external_id=order_id,
        number=str(payload.get("name") or order_id),
        currency=currency,
        lines=tuple(lines),
        total=to_minor(payload.get("total_price"), currency),
        email=str(payload.get("email") or customer.get("email") or ""),
        customer_name=name or str(address.get("name") or ""),
        country=str(address.get("country_code") or "").upper(),
        latitude=_float(address.get("latitude")),
        longitude=_float(address.get("longitude")),
        pickup_location=_pairs(payload.get("note_attributes"), "name", "value")
        .get(PICKUP_FIELD, "")
        .strip(),
        cancelled=bool(payload.get("cancelled_at")),
        financial_status=str(payload.get("financial_status") or ""),
        status="cancelled"
        if payload.get("cancelled_at")
        else ("closed" if payload.get("closed_at") else "open"),
        prices_include_tax=bool(payload.get("taxes_included", True)),
    )


def _shopify_discount(item: dict[str, Any], currency: str, where: str) -> int:
    """What Shopify's discounts took off a line: its `discount_allocations` (else
    `total_discount`), never more than the line is worth, never negative."""
    allocations = item.get("discount_allocations")
    if isinstance(allocations, list) and allocations:
        amount = sum(
            to_minor(a.get("amount"), currency) for a in allocations if isinstance(a, dict)
        )
    else:
        amount = to_minor(item.get("total_discount"), currency)
    worth = to_minor(item.get("price"), currency) * _quantity(item.get("quantity"), where)
    if not 0 <= amount <= worth:
        raise InvalidRequest(f"{where}: its discount is out of range.")
    return amount


def woocommerce_order(payload: Any) -> ExternalOrder:
    """An order.created / order.updated webhook body (the Order resource of REST API v3)."""
    order_id = str(_require(payload, "id"))
    currency = str(payload.get("currency") or "").upper()
    if len(currency) != 3:
        raise InvalidRequest("The order has no currency.")
    items = payload.get("line_items")
    if not isinstance(items, list) or not items:
        raise InvalidRequest("The order has no line_items.")
    lines = []
    for n, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise InvalidRequest(f"line_items[{n}] is not an object.")
        qty = _quantity(item.get("quantity"), f"line_items[{n}]")
        net, tax = to_minor(item.get("total"), currency), to_minor(item.get("total_tax"), currency)
        # WooCommerce line totals exclude tax; `subtotal` (+ `subtotal_tax`) is before coupons.
        before = to_minor(item.get("subtotal") or item.get("total"), currency) + to_minor(
            item.get("subtotal_tax") or item.get("total_tax"), currency
        )
        unit = -(-max(before, net + tax) // qty)  # rounded up: the discount is never negative
        lines.append(
            ExternalLine(
                line_id=str(_require(item, "id")),
                sku=str(item.get("sku") or "").strip(),
                quantity=qty,
                unit_price=unit,
                title=str(item.get("name") or ""),
                tax=tax,
                tax_rate_bp=round_half_up(Decimal(tax) * 10000 / net) if net else 0,
                # What the coupons took off, so that the line's gross is what WooCommerce charged.
                discount=unit * qty - (net + tax),
            )
        )
    shipping = payload.get("shipping") if isinstance(payload.get("shipping"), dict) else {}
    billing = payload.get("billing") if isinstance(payload.get("billing"), dict) else {}
    status = str(payload.get("status") or "")
    name = " ".join(str(billing.get(k) or "") for k in ("first_name", "last_name")).strip()
    return ExternalOrder(
        external_id=order_id,
        number=str(payload.get("number") or order_id),
        currency=currency,
        lines=tuple(lines),
        total=to_minor(payload.get("total"), currency),
        email=str(billing.get("email") or ""),
        customer_name=name,
        country=str(shipping.get("country") or billing.get("country") or "").upper(),
        pickup_location=_pairs(payload.get("meta_data"), "key", "value")
        .get(PICKUP_FIELD, "")
        .strip(),
        cancelled=status == "cancelled",
        financial_status="refunded"
        if status == "refunded"
        else ("paid" if payload.get("date_paid") else "pending"),
        status=status,
    )


def woocommerce_version(payload: Any) -> str:
    """What changes on every save of a WooCommerce order: the dedupe key and the ordering of
    events."""
    if not isinstance(payload, dict):
        raise InvalidRequest("Not a WooCommerce order.")
    value = payload.get("date_modified_gmt") or payload.get("date_modified")
    if not value:
        raise InvalidRequest("The order has no date_modified.")
    return str(value)
