"""Shopify products through the Admin GraphQL API (POST /admin/api/{version}/graphql.json):
`productSet` (synchronous) creates or updates a product with its options and variants (SKU,
barcode, price) in one call; `productUpdate` archives (status ARCHIVED); `product` and
`productVariants(query: "sku:…")` look one up.

GraphQL answers 200 even when it fails: top-level `errors` (a THROTTLED one is a retry after the
time the cost bucket needs to refill, from `extensions.cost.throttleStatus`) and the mutation's
`userErrors` (a refusal) are read on every answer. Ids are kept numeric (as the REST API and the
webhooks name them) and turned into GIDs for GraphQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.catalog_sync import ProductState, RemoteProduct, RemoteVariant
from domain.errors import InvalidRequest
from domain.online_orders import from_minor, timestamp_us, to_minor
from integrations.catalog_publisher import Published
from integrations.shopify import ShopifyStorefront
from integrations.storefront import StorefrontError, StorefrontUnavailable

_PRODUCT = """
  id
  title
  descriptionHtml
  status
  updatedAt
  variants(first: 250) { nodes { id sku barcode price inventoryItem { id } } }
"""
PRODUCT_SET = (
    """mutation tillflowProductSet($input: ProductSetInput!, $synchronous: Boolean!) {
  productSet(synchronous: $synchronous, input: $input) {
    product {"""
    + _PRODUCT
    + """}
    userErrors { code field message }
  }
}"""
)
ARCHIVE = """mutation tillflowArchive($product: ProductUpdateInput!) {
  productUpdate(product: $product) {
    product { id status }
    userErrors { field message }
  }
}"""
BY_ID = "query tillflowProduct($id: ID!) {\n  product(id: $id) {" + _PRODUCT + "}\n}"
BY_SKU = (
    "query tillflowBySku($query: String!) {\n  productVariants(first: 1, query: $query) {\n"
    "    nodes { product {" + _PRODUCT + "} }\n  }\n}"
)
MAX_THROTTLE_WAIT_S = 60.0


def gid(kind: str, value: str) -> str:
    return value if value.startswith("gid://") else f"gid://shopify/{kind}/{value}"


def numeric(value: Any) -> str:
    """gid://shopify/Product/123 -> "123" (REST and webhooks use the number)."""
    text = "" if value is None else str(value)
    return text.rsplit("/", 1)[-1] if text.startswith("gid://") else text


def _money(value: Any, currency: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return to_minor(value, currency)
    except InvalidRequest:
        return None


def _version(value: Any) -> int:
    try:
        return timestamp_us(str(value)) if value else 0
    except InvalidRequest:
        return 0


def remote_from_graphql(node: Mapping[str, Any], currency: str) -> RemoteProduct:
    variants = (node.get("variants") or {}).get("nodes") or []
    return RemoteProduct(
        product_id=numeric(node.get("id")),
        title=str(node.get("title") or ""),
        description=str(node.get("descriptionHtml") or ""),
        status=str(node.get("status") or "").lower(),
        variants=tuple(
            RemoteVariant(
                variant_id=numeric(v.get("id")),
                sku=str(v.get("sku") or ""),
                barcode=str(v.get("barcode") or ""),
                price=_money(v.get("price"), currency),
                inventory_item_id=numeric((v.get("inventoryItem") or {}).get("id")),
            )
            for v in variants
        ),
        version_us=_version(node.get("updatedAt")),
    )


def remote_from_webhook(body: Mapping[str, Any], currency: str, *, deleted: bool) -> RemoteProduct:
    """A products/create | products/update | products/delete webhook body (REST shape)."""
    if "id" not in body:
        raise InvalidRequest("A Shopify product webhook without a product id.")
    return RemoteProduct(
        product_id=numeric(body.get("id")),
        title=str(body.get("title") or ""),
        description=str(body.get("body_html") or ""),
        status=str(body.get("status") or "").lower(),
        variants=tuple(
            RemoteVariant(
                variant_id=numeric(v.get("id")),
                sku=str(v.get("sku") or ""),
                barcode=str(v.get("barcode") or ""),
                price=_money(v.get("price"), currency),
                inventory_item_id=numeric(v.get("inventory_item_id")),
            )
            for v in body.get("variants") or []
            if isinstance(v, Mapping)
        ),
        version_us=_version(body.get("updated_at")),
        deleted=deleted,
    )


def _throttle_delay(body: Mapping[str, Any]) -> float:
    """Seconds until the cost bucket holds what the query asked for (Shopify's leaky bucket)."""
    cost = (body.get("extensions") or {}).get("cost") or {}
    status = cost.get("throttleStatus") or {}
    try:
        wanted = float(cost.get("requestedQueryCost") or 0)
        available = float(status.get("currentlyAvailable") or 0)
        rate = float(status.get("restoreRate") or 0)
    except (TypeError, ValueError):
        return 1.0
    if rate <= 0:
        return 1.0
    return min(MAX_THROTTLE_WAIT_S, max(1.0, (wanted - available) / rate))


class ShopifyCatalog:
    """One shop's products, over the Storefront adapter's client (token, API version, timeout)."""

    platform = "shopify"

    def __init__(self, storefront: ShopifyStorefront) -> None:
        self.storefront = storefront

    def graphql(self, query: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        """`data` of one GraphQL call; THROTTLED -> StorefrontUnavailable with its delay, other
        errors -> StorefrontError."""
        r = self.storefront.request(
            "POST", "graphql.json", json={"query": query, "variables": dict(variables)}
        )
        try:
            body = r.json()
        except ValueError:
            raise StorefrontUnavailable(f"Shopify GraphQL: not JSON ({r.status_code})") from None
        errors = body.get("errors") or []
        if errors:
            codes = {
                str((e.get("extensions") or {}).get("code") or "")
                for e in errors
                if isinstance(e, dict)
            }
            text = "; ".join(str(e.get("message") if isinstance(e, dict) else e) for e in errors)[
                :500
            ]
            if "THROTTLED" in codes:
                raise StorefrontUnavailable(
                    f"Shopify GraphQL throttled: {text}",
                    status=429,
                    retry_after=_throttle_delay(body),
                )
            if codes & {"INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE"}:
                raise StorefrontUnavailable(f"Shopify GraphQL: {text}", status=503)
            raise StorefrontError(f"Shopify GraphQL: {text}", status=400)
        return dict(body.get("data") or {})

    @staticmethod
    def _user_errors(payload: Mapping[str, Any], what: str) -> None:
        errors = payload.get("userErrors") or []
        if errors:
            text = "; ".join(
                f"{'.'.join(str(p) for p in (e.get('field') or []))}: {e.get('message')}".lstrip(
                    ": "
                )
                for e in errors
            )
            raise StorefrontError(f"Shopify {what} refused: {text}"[:500], status=422)

    def upsert(
        self, product: ProductState, *, product_id: str = "", variant_ids: Mapping[str, str]
    ) -> Published:
        names = product.option_names()
        values: dict[str, list[str]] = {n: [] for n in names}
        variants = []
        for v in product.variants:
            chosen = product.option_values(v)
            for name, value in chosen:
                if value not in values[name]:
                    values[name].append(value)
            entry: dict[str, Any] = {
                "sku": v.sku,
                "barcode": v.barcode or None,
                "optionValues": [{"optionName": n, "name": val} for n, val in chosen],
            }
            if v.price is not None:
                entry["price"] = from_minor(v.price, product.currency)
            if variant_ids.get(v.sku):
                entry["id"] = gid("ProductVariant", variant_ids[v.sku])
            variants.append(entry)
        data: dict[str, Any] = {
            "title": product.title,
            "descriptionHtml": product.description,
            "status": product.status.upper(),
            "productOptions": [
                {"name": n, "position": i, "values": [{"name": val} for val in values[n]]}
                for i, n in enumerate(names, start=1)
            ],
            "variants": variants,
        }
        if product_id:
            data["id"] = gid("Product", product_id)
        payload = (
            self.graphql(PRODUCT_SET, {"input": data, "synchronous": True}).get("productSet") or {}
        )
        self._user_errors(payload, "productSet")
        node = payload.get("product")
        if not node:
            raise StorefrontError("Shopify productSet returned no product", status=422)
        remote = remote_from_graphql(node, product.currency)
        return Published(
            product_id=remote.product_id,
            variant_ids={rv.sku: rv.variant_id for rv in remote.variants if rv.sku},
            inventory_item_ids={rv.sku: rv.inventory_item_id for rv in remote.variants if rv.sku},
        )

    def archive(self, product_id: str) -> None:
        payload = (
            self.graphql(
                ARCHIVE, {"product": {"id": gid("Product", product_id), "status": "ARCHIVED"}}
            ).get("productUpdate")
            or {}
        )
        self._user_errors(payload, "productUpdate")

    def find(
        self, *, product_id: str = "", sku: str = "", currency: str = ""
    ) -> RemoteProduct | None:
        if product_id:
            node = self.graphql(BY_ID, {"id": gid("Product", product_id)}).get("product")
        elif sku:
            quoted = sku.replace("\\", "\\\\").replace('"', '\\"')
            nodes = (
                self.graphql(BY_SKU, {"query": f'sku:"{quoted}"'}).get("productVariants") or {}
            ).get("nodes") or []
            node = nodes[0].get("product") if nodes else None
        else:
            return None
        return remote_from_graphql(node, currency or "USD") if node else None
