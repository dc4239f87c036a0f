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
from domain.online_orders import ExternalLine, ExternalOrder, ShippingAddress, to_minor

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
        address=_address(
            address,
            name or "",
            ("address1", "address2", "company"),
            ("city", "zip", "province_code", "country_code", "phone"),
        ),
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
        address=_address(
            shipping,
            name,
            ("address_1", "address_2", "company"),
            ("city", "postcode", "state", "country", "phone"),
        ),
    )


def _address(
    raw: dict[str, Any], fallback_name: str, line_keys: tuple[str, ...], keys: tuple[str, ...]
) -> ShippingAddress | None:
    """A Shopify `shipping_address` / WooCommerce `shipping` object as our address (issue 19);
    None when it has no street line (a pickup order, a digital one)."""

    def text(key: str, limit: int) -> str:
        return str(raw.get(key) or "").strip()[:limit]

    lines = tuple(t for t in (text(k, 200) for k in line_keys) if t)
    if not lines:
        return None
    city, postcode, region, country, phone = (text(k, 100) for k in keys)
    own = " ".join(text(k, 100) for k in ("first_name", "last_name")).strip()
    return ShippingAddress(
        name=(text("name", 200) or own or fallback_name)[:200],
        lines=lines,
        city=city,
        postcode=postcode[:20],
        region=region[:50],
        country=country.upper()[:2],
        phone=phone[:40],
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


# ---- Magento 2 / Adobe Commerce (issue 19) ------------------------------------------------------

MAGENTO_CANCELLED = ("canceled",)


def _magento_address(payload: dict[str, Any]) -> dict[str, Any]:
    """The shipping address: extension_attributes.shipping_assignments[0].shipping.address (the
    billing address for a virtual order)."""
    ext = payload.get("extension_attributes")
    assignments = ext.get("shipping_assignments") if isinstance(ext, dict) else None
    if isinstance(assignments, list) and assignments and isinstance(assignments[0], dict):
        shipping = assignments[0].get("shipping")
        if isinstance(shipping, dict) and isinstance(shipping.get("address"), dict):
            return dict(shipping["address"])
    billing = payload.get("billing_address")
    return dict(billing) if isinstance(billing, dict) else {}


def _magento_pickup(payload: dict[str, Any]) -> str:
    """In-Store Pickup (MSI): extension_attributes.pickup_location_code, one of our store codes
    (the pickup location's code in Magento is set to it)."""
    ext = payload.get("extension_attributes")
    return str(ext.get("pickup_location_code") or "").strip() if isinstance(ext, dict) else ""


def magento_order(payload: Any) -> ExternalOrder:
    """A Magento order (GET /rest/V1/orders item, or an Adobe Commerce webhook's `order`).

    Lines: the items without a `parent_item_id` (a configurable product's parent line carries the
    child's SKU and the price); `price_incl_tax` per unit, `discount_amount` for the line, as the
    other adapters keep theirs. external_id is the `entity_id` (the REST API's order id), number the
    `increment_id` the customer sees."""
    order_id = str(_require(payload, "entity_id"))
    currency = str(payload.get("order_currency_code") or payload.get("base_currency_code") or "")
    currency = currency.upper()
    if len(currency) != 3:
        raise InvalidRequest("The order has no currency.")
    items = payload.get("items")
    if not isinstance(items, list) or not items:
        raise InvalidRequest("The order has no items.")
    lines = []
    for n, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise InvalidRequest(f"items[{n}] is not an object.")
        if item.get("parent_item_id"):
            continue
        ordered = item.get("qty_ordered")
        qty_value = _float(ordered)
        if qty_value is None or qty_value != int(qty_value):
            raise InvalidRequest(f"items[{n}]: quantity must be a whole number of at least 1.")
        qty = _quantity(int(qty_value), f"items[{n}]")
        unit = to_minor(item.get("price_incl_tax") or item.get("price"), currency)
        discount = to_minor(item.get("discount_amount"), currency)
        if not 0 <= discount <= unit * qty:
            raise InvalidRequest(f"items[{n}]: its discount is out of range.")
        lines.append(
            ExternalLine(
                line_id=str(_require(item, "item_id")),
                sku=str(item.get("sku") or "").strip(),
                quantity=qty,
                unit_price=unit,
                title=str(item.get("name") or ""),
                tax=to_minor(item.get("tax_amount"), currency),
                discount=discount,
                tax_rate_bp=round_half_up(Decimal(str(item.get("tax_percent") or 0)) * 100),
            )
        )
    if not lines:
        raise InvalidRequest("The order has no items.")
    address = _magento_address(payload)
    name = " ".join(
        str(payload.get(k) or "") for k in ("customer_firstname", "customer_lastname")
    ).strip()
    state = str(payload.get("state") or "")
    total_paid = to_minor(payload.get("total_paid"), currency)
    refunded = to_minor(payload.get("total_refunded"), currency)
    street = address.get("street")
    return ExternalOrder(
        external_id=order_id,
        number=str(payload.get("increment_id") or order_id),
        currency=currency,
        lines=tuple(lines),
        total=to_minor(payload.get("grand_total"), currency),
        email=str(payload.get("customer_email") or address.get("email") or ""),
        customer_name=name
        or " ".join(str(address.get(k) or "") for k in ("firstname", "lastname")).strip(),
        country=str(address.get("country_id") or "").upper(),
        pickup_location=_magento_pickup(payload),
        cancelled=state in MAGENTO_CANCELLED,
        financial_status="refunded"
        if refunded and refunded >= total_paid
        else ("paid" if total_paid else "pending"),
        status=str(payload.get("status") or state),
        address=ShippingAddress(
            name=" ".join(str(address.get(k) or "") for k in ("firstname", "lastname")).strip(),
            lines=tuple(str(x) for x in street) if isinstance(street, list) else (),
            city=str(address.get("city") or ""),
            postcode=str(address.get("postcode") or ""),
            region=str(address.get("region_code") or ""),
            country=str(address.get("country_id") or "").upper(),
            phone=str(address.get("telephone") or ""),
        )
        if address
        else None,
    )


def magento_version(payload: Any) -> str:
    """`updated_at` ("YYYY-MM-DD HH:MM:SS", UTC): with the increment id, the dedupe key."""
    if not isinstance(payload, dict):
        raise InvalidRequest("Not a Magento order.")
    value = payload.get("updated_at") or payload.get("created_at")
    if not value:
        raise InvalidRequest("The order has no updated_at.")
    return str(value)


def magento_event_id(store: str, payload: Any) -> str:
    """The inbox event id of a Magento order state: `{store}:{increment_id}:{updated_at}` (the
    pull and the webhooks share it, so a state arriving both ways is stored once)."""
    increment = payload.get("increment_id") if isinstance(payload, dict) else None
    return f"{store}:{increment or _require(payload, 'entity_id')}:{magento_version(payload)}"
