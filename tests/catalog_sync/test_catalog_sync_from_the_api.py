"""The whole outward loop from the back-office API: a product created, changed and archived
through `/catalog/products` reaches the fake Shopify and WooCommerce stores."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from helpers.catalog import Codes, product_body
from helpers.webstore import eventually

pytestmark = pytest.mark.usefixtures("catalog_worker")


def _key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def _shopify_prices(fake: Any, sku: str) -> dict[str, str]:
    p = fake.product_by_sku(sku)
    return {v["sku"]: v["price"] for v in p["variants"]} if p else {}


def _woo_prices(fake: Any, parent_sku: str) -> dict[str, str]:
    p = fake.product_by_sku(parent_sku)
    return (
        {v["sku"]: v["regular_price"] for v in fake.variations.get(p["id"], {}).values()}
        if p
        else {}
    )


async def test_create_patch_archive_through_the_api_reach_both_stores(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    capi, head_office, shop, fake_shopify, woo, fake_woo
) -> None:
    codes = Codes()
    body = product_body(codes, "LOOP")
    code = body["code"]
    small, large = f"{code}-S", f"{code}-L"
    r = await capi.post("/catalog/products", json=body, headers={**head_office, **_key()})
    assert r.status_code == 201, r.text

    # Created: one Shopify product with both variants, one variable WooCommerce product.
    await eventually(
        lambda: _shopify_prices(fake_shopify, small) == {small: "9.90", large: "12.90"}
    )
    sp = fake_shopify.product_by_sku(small)
    assert sp["title"] == body["name"] and sp["status"] == "active"
    barcodes = {v["sku"]: v["barcode"] for v in sp["variants"]}
    assert barcodes == {v["sku"]: v["barcodes"][0] for v in body["variants"]}
    await eventually(lambda: _woo_prices(fake_woo, code) == {small: "9.90", large: "12.90"})
    wp = fake_woo.product_by_sku(code)  # the variable product's own SKU is the product code
    assert wp["type"] == "variable" and wp["name"] == body["name"] and wp["status"] == "publish"

    # Changed: a PATCH (name) and a new price for one variant.
    r = await capi.patch(
        f"/catalog/products/{code}",
        json={"name": "Stoneware mug"},
        headers={**head_office, "If-Match": r.headers["ETag"], **_key()},
    )
    assert r.status_code == 200, r.text
    r = await capi.post(
        f"/catalog/products/{code}/prices",
        json={"sku": large, "amount": 1490, "currency": "EUR"},
        headers={**head_office, **_key()},
    )
    assert r.status_code == 200, r.text
    await eventually(
        lambda: (
            fake_shopify.product_by_sku(small)["title"] == "Stoneware mug"
            and _shopify_prices(fake_shopify, small)[large] == "14.90"
        )
    )
    await eventually(
        lambda: (
            fake_woo.product_by_sku(code)["name"] == "Stoneware mug"
            and _woo_prices(fake_woo, code)[large] == "14.90"
        )
    )
    assert fake_shopify.product_by_sku(small)["id"] == sp["id"]  # updated, never made twice
    assert fake_woo.product_by_sku(code)["id"] == wp["id"]

    # Archived (DELETE): archived in Shopify, private in WooCommerce.
    current = await capi.get(f"/catalog/products/{code}", headers=head_office)
    r = await capi.delete(
        f"/catalog/products/{code}",
        headers={**head_office, "If-Match": current.headers["ETag"], **_key()},
    )
    assert r.status_code == 200 and r.json()["active"] is False, r.text
    await eventually(lambda: fake_shopify.product_by_sku(small)["status"] == "archived")
    await eventually(lambda: fake_woo.product_by_sku(code)["status"] == "private")
