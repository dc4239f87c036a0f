"""WooCommerce products through the REST API v3: a single-variant product is a `simple` product
(POST / PUT /products), one with several variants a `variable` product with one variation per SKU
(/products/{id}/variations); archive = status `private` (off the shop, kept with its orders).

Barcodes go to `global_unique_id` (WooCommerce 9.2+: GTIN, UPC, EAN or ISBN), prices to
`regular_price` as decimal strings. A variable product's own SKU is tillflow's product code
(`{code}-parent` when one of its variants has that SKU). Every write is a full PUT of what
tillflow owns, so a repeat changes nothing; a create first looks for the SKU, so a retried create
finds its own product.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.catalog_sync import ProductState, RemoteProduct, RemoteVariant, Status
from domain.errors import InvalidRequest
from domain.online_orders import from_minor, timestamp_us, to_minor
from integrations.catalog_publisher import Published
from integrations.storefront import StorefrontError
from integrations.woocommerce import WooCommerceStorefront

KEY_FIELD = "tillflow_product"
PARENT_SUFFIX = "-parent"
STATUSES: dict[Status, str] = {"active": "publish", "draft": "draft", "archived": "private"}
OUR_STATUS = {"publish": "active", "draft": "draft", "pending": "draft", "private": "archived"}


def _money(value: Any, currency: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return to_minor(value, currency)
    except InvalidRequest:
        return None


def _version(body: Mapping[str, Any]) -> int:
    value = body.get("date_modified_gmt") or body.get("date_modified") or ""
    try:
        return timestamp_us(str(value)) if value else 0
    except InvalidRequest:
        return 0


def remote_from_rest(
    body: Mapping[str, Any],
    currency: str,
    variations: list[dict[str, Any]] | None = None,
    *,
    deleted: bool = False,
) -> RemoteProduct:
    """A product as the REST API (and the product.* webhooks) show it."""
    if "id" not in body:
        raise InvalidRequest("A WooCommerce product without an id.")
    if body.get("type") == "variable":
        variants = tuple(
            RemoteVariant(
                variant_id=str(v.get("id") or ""),
                sku=str(v.get("sku") or ""),
                barcode=str(v.get("global_unique_id") or ""),
                price=_money(v.get("regular_price"), currency),
            )
            for v in variations or []
        )
    elif deleted:
        variants = ()
    else:
        variants = (
            RemoteVariant(
                variant_id="",
                sku=str(body.get("sku") or ""),
                barcode=str(body.get("global_unique_id") or ""),
                price=_money(body.get("regular_price"), currency),
            ),
        )
    return RemoteProduct(
        product_id=str(body["id"]),
        title=str(body.get("name") or ""),
        description=str(body.get("description") or ""),
        status=OUR_STATUS.get(str(body.get("status") or ""), str(body.get("status") or "")),
        variants=variants,
        version_us=_version(body),
        deleted=deleted,
    )


def parent_sku(product: ProductState) -> str:
    """A variable product's own SKU: our product code, unless a variation already has it (a SKU
    is unique across a site's products and variations)."""
    if any(v.sku == product.code for v in product.variants):
        return f"{product.code}{PARENT_SUFFIX}"
    return product.code


class WooCommerceCatalog:
    """One site's products, over the Storefront adapter's client (consumer key and secret)."""

    platform = "woocommerce"

    def __init__(self, storefront: WooCommerceStorefront) -> None:
        self.storefront = storefront

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.storefront.request(method, path, **kwargs).json()

    def upsert(
        self, product: ProductState, *, product_id: str = "", variant_ids: Mapping[str, str]
    ) -> Published:
        simple = len(product.variants) == 1 and not product.variants[0].options
        body: dict[str, Any] = {
            "name": product.title,
            "description": product.description,
            "status": STATUSES[product.status],
            "meta_data": [{"key": KEY_FIELD, "value": product.code}],
        }
        if simple:
            v = product.variants[0]
            body |= {
                "type": "simple",
                "sku": v.sku,
                "global_unique_id": v.barcode,
                "regular_price": from_minor(v.price, product.currency)
                if v.price is not None
                else "",
            }
        else:
            names = product.option_names()
            body |= {
                "type": "variable",
                "sku": parent_sku(product),
                "attributes": [
                    {
                        "name": n,
                        "position": i,
                        "visible": True,
                        "variation": True,
                        "options": sorted(
                            {dict(product.option_values(v))[n] for v in product.variants}
                        ),
                    }
                    for i, n in enumerate(names)
                ],
            }
        if product_id:
            saved = self._json("PUT", f"products/{product_id}", json=body)
        else:
            saved = self._json("POST", "products", json=body)
        pid = str(saved["id"])
        if simple:
            return Published(product_id=pid, variant_ids={product.variants[0].sku: ""})
        return Published(product_id=pid, variant_ids=self._variations(pid, product, variant_ids))

    def _variations(
        self, pid: str, product: ProductState, variant_ids: Mapping[str, str]
    ) -> dict[str, str]:
        existing = {
            str(v.get("sku") or ""): str(v["id"])
            for v in self.storefront.pages(f"products/{pid}/variations")
        }
        out: dict[str, str] = {}
        for v in product.variants:
            body = {
                "sku": v.sku,
                "regular_price": from_minor(v.price, product.currency)
                if v.price is not None
                else "",
                "global_unique_id": v.barcode,
                "status": "publish" if product.status == "active" else "private",
                "attributes": [{"name": n, "option": val} for n, val in product.option_values(v)],
            }
            vid = variant_ids.get(v.sku) or existing.get(v.sku)
            if vid:
                saved = self._json("PUT", f"products/{pid}/variations/{vid}", json=body)
            else:
                saved = self._json("POST", f"products/{pid}/variations", json=body)
            out[v.sku] = str(saved["id"])
        return out

    def archive(self, product_id: str) -> None:
        try:
            self._json("PUT", f"products/{product_id}", json={"status": "private"})
        except StorefrontError as err:
            if err.status != 404:  # gone already: archived enough
                raise

    def find(
        self, *, product_id: str = "", sku: str = "", currency: str = ""
    ) -> RemoteProduct | None:
        if product_id:
            try:
                body = self._json("GET", f"products/{product_id}")
            except StorefrontError as err:
                if err.status == 404:
                    return None
                raise
        elif sku:
            found = self._json("GET", "products", params={"sku": sku}) or self._json(
                "GET", "products", params={"sku": f"{sku}{PARENT_SUFFIX}"}
            )
            if not found:
                return None
            body = found[0]
        else:
            return None
        variations = (
            self.storefront.pages(f"products/{body['id']}/variations")
            if body.get("type") == "variable"
            else None
        )
        return remote_from_rest(body, currency or "USD", variations)
