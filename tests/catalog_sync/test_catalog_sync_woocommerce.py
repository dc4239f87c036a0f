"""The catalogue loop with WooCommerce (fake REST API v3): products and variations out, the
site's own edits back through signed product.* webhooks."""

from __future__ import annotations

import uuid

import pytest
from helpers import catalog_sync as cat
from helpers.webstore import barcode_of, eventually, new_product, post_woo

pytestmark = pytest.mark.usefixtures("catalog_worker")


async def test_create_update_archive_reach_woocommerce(db, woo, fake_woo) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    sku = new_product(db, {"BER": 4}, price=1250)
    cat.publish(db, sku)
    await eventually(lambda: fake_woo.product_by_sku(sku))
    p = fake_woo.product_by_sku(sku)
    assert p["type"] == "simple" and p["status"] == "publish" and p["name"] == f"Test {sku}"
    assert p["regular_price"] == "12.50" and p["global_unique_id"] == barcode_of(db, sku)

    cat.reprice(db, sku, 999)
    cat.rename(db, sku, "Oak board")
    code = cat.rebarcode(db, sku)
    await eventually(
        lambda: (
            (q := fake_woo.product_by_sku(sku))
            and q["regular_price"] == "9.99"
            and q["name"] == "Oak board"
            and q["global_unique_id"] == code
        )
    )
    assert len([x for x in fake_woo.products.values() if x.get("sku") == sku]) == 1

    cat.archive(db, sku)
    await eventually(lambda: fake_woo.product_by_sku(sku)["status"] == "private")


async def test_variants_become_variations(db, woo, fake_woo, shop, fake_shopify) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    code = new_product(db, {"BER": 2}, price=3000)
    m, big = f"{code}-M", f"{code}-L"
    cat.with_variants(db, code, [(m, {"Size": "M"}, 3100), (big, {"Size": "L"}, 3200)])
    # The first variant has the product code as its SKU, so the parent gets code-parent.
    parent = await eventually(lambda: fake_woo.product_by_sku(f"{code}-parent"))
    assert parent["type"] == "variable"
    await eventually(lambda: len(fake_woo.variations.get(parent["id"], {})) == 3)
    prices = {v["sku"]: v["regular_price"] for v in fake_woo.variations[parent["id"]].values()}
    assert prices == {code: "30.00", m: "31.00", big: "32.00"}
    # The same change reached the Shopify store too, as one product with a Size option.
    await eventually(lambda: fake_shopify.product_by_sku(big))
    sp = fake_shopify.product_by_sku(big)
    assert sorted(v["sku"] for v in sp["variants"]) == sorted([code, m, big])
    assert sp["options"] == [{"name": "Size", "values": ["L", "M", "S"]}]


async def test_site_edits_come_back(db, woo, fake_woo, capi, head_office) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    sku = new_product(db, {"BER": 1}, price=500)
    cat.publish(db, sku)
    await eventually(lambda: fake_woo.product_by_sku(sku))
    pid = fake_woo.product_by_sku(sku)["id"]

    body = fake_woo.edit_in_admin(pid, description="Hand oiled")
    r = await post_woo(capi, woo.code, body, topic="product.updated")
    assert r.status_code == 200 and r.json()["status"] == "queued"
    await eventually(lambda: cat.product(db, sku)[1] == "Hand oiled")
    # A WooCommerce retry of the same delivery (new delivery id, same modification) is a duplicate.
    again = await post_woo(capi, woo.code, body, topic="product.updated")
    assert again.json() == {"received": True, "duplicate": True}

    body = fake_woo.edit_in_admin(pid, regular_price="4.00")
    await post_woo(capi, woo.code, body, topic="product.updated")
    await eventually(lambda: cat.conflicts(db, sku))
    (conflict,) = cat.conflicts(db, sku)
    assert (conflict["field"], conflict["ours"], conflict["theirs"]) == ("price", "500", "400")
    await eventually(lambda: fake_woo.product_by_sku(sku)["regular_price"] == "5.00")
    r = await capi.post(
        f"/catalog/conflicts/{conflict['id']}/resolve",
        json={"keep": "tillflow"},
        headers={**head_office, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 200 and r.json()["resolution"] == "tillflow"
    assert cat.conflicts(db, sku) == []

    # Deleted in wp-admin while tillflow still sells it: a conflict, and it is listed again.
    await post_woo(capi, woo.code, {"id": pid}, topic="product.deleted")
    await eventually(lambda: [c["field"] for c in cat.conflicts(db, sku)] == ["deleted"])


async def test_a_refusal_is_recorded_and_the_queue_moves_on(db, woo, fake_woo) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    taken = new_product(db, {"BER": 1})
    other = fake_woo.add_product(f"THEIRS-{uuid.uuid4().hex[:6]}")
    other["global_unique_id"] = barcode_of(db, taken)  # the site has that GTIN on another product
    cat.publish(db, taken)
    fine = new_product(db, {"BER": 1})
    cat.publish(db, fine)
    await eventually(lambda: fake_woo.product_by_sku(fine))
    await eventually(lambda: "GTIN" in cat.link_error(db, woo.id, taken))
    assert fake_woo.product_by_sku(taken) is None


async def test_a_product_made_in_wp_admin_is_a_conflict(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db, woo, fake_woo, capi, head_office
) -> None:
    theirs = fake_woo.add_product(f"THEIRS-{uuid.uuid4().hex[:8]}")
    body = fake_woo.edit_in_admin(theirs["id"], name="Made in wp-admin", regular_price="7.00")
    r = await post_woo(capi, woo.code, body, topic="product.created")
    assert r.status_code == 200 and r.json()["status"] == "queued"
    await eventually(lambda: cat.store_conflicts(db, woo.id))
    assert cat.store_conflicts(db, woo.id) == [
        {"field": "product", "sku": theirs["sku"], "product": "", "theirs": "Made in wp-admin"}
    ]
    listed = await capi.get("/catalog/conflicts", params={"store": woo.code}, headers=head_office)
    (item,) = listed.json()["items"]
    assert (item["field"], item["platform"], item["product_code"]) == (
        "product",
        "woocommerce",
        "",
    )
    # Keeping the site's version needs the product in tillflow first: a clear 422.
    r = await capi.post(
        f"/catalog/conflicts/{item['id']}/resolve",
        json={"keep": "webstore"},
        headers={**head_office, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_product", r.text
