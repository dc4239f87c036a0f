"""The Storefront Protocol: what tillflow tells a connected web store (stock, order status,
refunds).

Real implementations: `integrations.shopify.ShopifyStorefront` (Admin REST API) and
`integrations.woocommerce.WooCommerceStorefront` (REST API v3). Amounts are integer minor units.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from contracts.online import RefundLine

SECRET_PREFIX = "secret:"


@dataclass(frozen=True)
class StoreItem:
    """One sellable item in the web store's catalogue, as it names it."""

    sku: str
    barcode: str
    product_id: str
    variant_id: str = ""  # Shopify variant / WooCommerce variation ("" for a simple product)
    inventory_item_id: str = ""  # Shopify only


@dataclass(frozen=True)
class Tracking:
    number: str
    company: str = ""
    url: str = ""


@dataclass(frozen=True)
class StoreRefund:
    id: str
    amount: int
    created: bool  # False: found by its idempotency key (made before)


class StorefrontError(Exception):
    """The web store refused the request for good (bad credentials, unknown item, invalid data)."""

    def __init__(self, message: str, *, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class StorefrontUnavailable(Exception):
    """Try again later: network trouble, 5xx, or 429 (then `retry_after` seconds, if the store
    said)."""

    def __init__(self, message: str, *, status: int = 0, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class Storefront(Protocol):
    """A connected web store; every write is safe to repeat."""

    platform: str

    def catalogue(self) -> list[StoreItem]:
        """Every variant the store sells, with its SKU, barcode and ids."""
        ...

    def set_available(
        self, item: StoreItem, quantity: int, *, location_external_id: str = ""
    ) -> None:
        """Set the number the store may sell (Shopify: at one of its locations)."""
        ...

    def update_order_status(
        self, order_external_id: str, status: str, *, tracking: Tracking | None = None, key: str
    ) -> None:
        """Tell the store how its order is doing: accepted | ready_for_pickup | shipped | completed
        | cancelled | exception, with tracking when there is a parcel; `key` makes a repeat a
        no-op."""
        ...

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
        """Refund `amount` (minor units) of an order through the store's own payment, once per
        `key`."""
        ...


def resolve_secret(value: str, secrets: Mapping[str, str]) -> str:
    """A stored secret is either the value itself or `secret:NAME`, looked up in
    TILLFLOW_WEBSTORE_SECRETS."""
    if value.startswith(SECRET_PREFIX):
        return secrets.get(value[len(SECRET_PREFIX) :], "")
    return value


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (Shopify sends '2.0'); HTTP dates are not used by these APIs."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
