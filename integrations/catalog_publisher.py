"""The CatalogPublisher Protocol: what tillflow tells a web store about its products (create or
update with variants, prices, barcodes, title, description and status; archive; look up).

Real implementations: `integrations.shopify_catalog.ShopifyCatalog` (Admin GraphQL API) and
`integrations.woocommerce_catalog.WooCommerceCatalog` (REST API v3, products and variations).
They reuse the HTTP client, credentials and error mapping of the Storefront adapters of the same
store (`publisher_for`). Errors are the Storefront ones: StorefrontUnavailable (retry later,
`retry_after`) and StorefrontError (refused for good).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from domain.catalog_sync import ProductState, RemoteProduct
from integrations.storefront import Storefront


@dataclass(frozen=True)
class Published:
    """Where the product now sits in the store: its id, and each SKU's variant (and, on Shopify,
    inventory item) id."""

    product_id: str
    variant_ids: dict[str, str] = field(default_factory=dict)
    inventory_item_ids: dict[str, str] = field(default_factory=dict)


class CatalogPublisher(Protocol):
    """One web store's catalogue; every call is safe to repeat."""

    platform: str

    def upsert(
        self, product: ProductState, *, product_id: str = "", variant_ids: Mapping[str, str]
    ) -> Published:
        """Create the product (no `product_id`) or make the store's one look like `product`."""
        ...

    def archive(self, product_id: str) -> None:
        """Take the product off sale, keeping it in the store's catalogue (and its history)."""
        ...

    def find(
        self, *, product_id: str = "", sku: str = "", currency: str = ""
    ) -> RemoteProduct | None:
        """The store's product by its id, or the one holding a variant with this SKU (prices read
        in `currency`)."""
        ...


def publisher_for(storefront: Storefront | None) -> CatalogPublisher | None:
    """The catalogue side of a store's Storefront adapter (same client and credentials)."""
    from integrations.shopify import ShopifyStorefront
    from integrations.shopify_catalog import ShopifyCatalog
    from integrations.woocommerce import WooCommerceStorefront
    from integrations.woocommerce_catalog import WooCommerceCatalog

    if isinstance(storefront, ShopifyStorefront):
        return ShopifyCatalog(storefront)
    if isinstance(storefront, WooCommerceStorefront):
        return WooCommerceCatalog(storefront)
    from integrations.magento import MagentoStorefront  # issue 19
    from integrations.magento_catalog import MagentoCatalog

    if isinstance(storefront, MagentoStorefront):
        return MagentoCatalog(storefront)
    return None
