"""Magento products through the REST API (issue 19): each of our variants is a Magento `simple`
product, saved with `PUT /rest/V1/products/{sku}` (Magento creates it when the SKU is new, so a
repeat changes nothing and a retried create finds its own product).

A product with several variants becomes one simple product per SKU (not visible on its own), all
tagged with our product code in the `tillflow_product` custom attribute; linking them under a
configurable product is left to the merchant (its attributes and options are the store's own).
Archive = status 2 (disabled): off the shop, kept with its orders. Barcodes go to the `barcode`
custom attribute, prices to `price` (the store's base currency).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.catalog_sync import ProductState, RemoteProduct, RemoteVariant
from domain.errors import InvalidRequest
from domain.online_orders import from_minor, to_minor
from integrations.catalog_publisher import Published
from integrations.magento import MagentoStorefront
from integrations.storefront import StorefrontError

CODE_ATTRIBUTE = "tillflow_product"
ENABLED, DISABLED = 1, 2
VISIBLE, NOT_VISIBLE = 4, 1  # catalog + search / not visible individually
DEFAULT_ATTRIBUTE_SET = 4


def _attrs(product: Mapping[str, Any]) -> dict[str, str]:
    return {
        str(a.get("attribute_code")): str(a.get("value") or "")
        for a in product.get("custom_attributes") or []
        if isinstance(a, dict)
    }


def _price(value: Any, currency: str) -> int | None:
    try:
        return to_minor(value, currency) if value not in (None, "") else None
    except InvalidRequest:
        return None


class MagentoCatalog:
    """The catalogue side of a MagentoStorefront (same client, token and error mapping)."""

    platform = "magento"

    def __init__(self, storefront: MagentoStorefront) -> None:
        self.store = storefront

    def upsert(
        self, product: ProductState, *, product_id: str = "", variant_ids: Mapping[str, str]
    ) -> Published:
        if not product.variants:
            raise StorefrontError(f"product {product.code} has no variant to sell")
        single = len(product.variants) == 1
        ids: dict[str, str] = {}
        for v in product.variants:
            name = product.title if single else f"{product.title} {v.name}".strip()
            body: dict[str, Any] = {
                "sku": v.sku,
                "name": name or v.sku,
                "type_id": "simple",
                "attribute_set_id": DEFAULT_ATTRIBUTE_SET,
                "status": ENABLED if product.status == "active" else DISABLED,
                "visibility": VISIBLE if single else NOT_VISIBLE,
                "custom_attributes": [
                    {"attribute_code": "description", "value": product.description},
                    {"attribute_code": "barcode", "value": v.barcode},
                    {"attribute_code": CODE_ATTRIBUTE, "value": product.code},
                ],
            }
            if v.price is not None:
                body["price"] = float(from_minor(v.price, product.currency))
            saved = self.store.request("PUT", f"products/{v.sku}", json={"product": body}).json()
            ids[v.sku] = str(saved.get("id") or "")
        return Published(product_id=ids[product.variants[0].sku], variant_ids=ids)

    def archive(self, product_id: str) -> None:
        found = self.store.search("products", "entity_id", product_id, "eq")
        if not found:
            return
        code = _attrs(found[0]).get(CODE_ATTRIBUTE, "")
        siblings = self.store.search("products", CODE_ATTRIBUTE, code, "eq") if code else found
        for p in siblings:
            if int(p.get("status") or ENABLED) != DISABLED:
                self.store.request(
                    "PUT",
                    f"products/{p['sku']}",
                    json={"product": {"sku": p["sku"], "status": DISABLED}},
                )

    def find(
        self, *, product_id: str = "", sku: str = "", currency: str = ""
    ) -> RemoteProduct | None:
        if product_id:
            rows = self.store.search("products", "entity_id", product_id, "eq")
        else:
            rows = self.store.search("products", "sku", sku, "eq") if sku else []
        if not rows:
            return None
        first = rows[0]
        code = _attrs(first).get(CODE_ATTRIBUTE, "")
        if code:
            rows = self.store.search("products", CODE_ATTRIBUTE, code, "eq") or rows
            first = next((r for r in rows if str(r.get("id")) == product_id), rows[0])
        attrs = _attrs(first)
        return RemoteProduct(
            product_id=str(first.get("id") or ""),
            title=str(first.get("name") or ""),
            description=attrs.get("description", ""),
            status="archived" if int(first.get("status") or ENABLED) == DISABLED else "active",
            variants=tuple(
                RemoteVariant(
                    variant_id=str(r.get("id") or ""),
                    sku=str(r.get("sku") or ""),
                    barcode=_attrs(r).get("barcode", ""),
                    price=_price(r.get("price"), currency or "EUR"),
                )
                for r in rows
            ),
        )
