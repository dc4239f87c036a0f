"""The Magento Storefront adapter against FakeMagentoServer (refunds by credit memo once per key,
cancel, errors) and `magento_order` parsing (discounts, configurable parents, pickup)."""

from __future__ import annotations

import pytest

from contracts.online import RefundLine
from domain.catalog_sync import ProductState, VariantState
from domain.errors import InvalidRequest
from integrations.catalog_publisher import publisher_for
from integrations.magento import MagentoStorefront
from integrations.magento_catalog import MagentoCatalog
from integrations.order_payloads import magento_event_id, magento_order
from integrations.storefront import StorefrontError, StorefrontUnavailable, StoreItem, Tracking


@pytest.fixture
def store(fake_magento):  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    adapter = MagentoStorefront(fake_magento.url, fake_magento.token)
    yield adapter
    adapter.close()


def test_line_refund_is_a_credit_memo_made_once_per_key(store, fake_magento) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    order = fake_magento.add_order([("A-1", 2, "12.50", "5.00"), ("B-2", 1, "8.00", "0")])
    first_item = order["items"][0]["item_id"]
    line = RefundLine(line_id=str(first_item), quantity=1, amount=1000)
    done = store.refund(str(order["entity_id"]), 1000, [line], "ret-1:refund", currency="EUR")
    assert done.created and done.amount == 1000
    (memo,) = fake_magento.creditmemos
    # One of two units of a 25.00 line with 5.00 off is 10.00: no adjustment needed.
    assert memo["grand_total"] == 10.0 and memo["adjustment_positive"] == 0
    assert {"order_item_id": first_item, "qty": 1} in memo["items"]
    again = store.refund(str(order["entity_id"]), 1000, [line], "ret-1:refund", currency="EUR")
    assert not again.created and again.id == done.id and again.amount == 1000
    assert len(fake_magento.creditmemos) == 1
    # An amount without lines: an adjustment refund; more than is left is refused by Magento.
    store.refund(str(order["entity_id"]), 300, [], "goodwill", currency="EUR")
    assert fake_magento.creditmemos[-1]["adjustment_positive"] == 3.0
    with pytest.raises(StorefrontError, match="most money available to refund is 15.00"):
        store.refund(str(order["entity_id"]), 9999, [], "too-much", currency="EUR")


def test_cancel_ship_and_comments_are_safe_to_repeat(store, fake_magento) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    order = fake_magento.add_order([("A-1", 1, "5.00", "0")])
    oid = str(order["entity_id"])
    store.update_order_status(oid, "accepted", key="k1")
    store.update_order_status(oid, "accepted", key="k1")
    assert len(fake_magento.orders[order["entity_id"]]["status_histories"]) == 1
    tracking = Tracking("TRACK-1", "DHL")
    store.update_order_status(oid, "shipped", tracking=tracking, key="k2")
    store.update_order_status(oid, "shipped", tracking=tracking, key="k2")
    assert len(fake_magento.shipments) == 1
    other = fake_magento.add_order([("A-1", 1, "5.00", "0")])
    assert store.cancel(str(other["entity_id"])) is True
    assert store.cancel(str(other["entity_id"])) is True
    assert len(fake_magento.requests("POST", f"/orders/{other['entity_id']}/cancel")) == 1
    with pytest.raises(StorefrontError, match="requested doesn't exist"):
        store.update_order_status("999999", "cancelled", key="k3")


def test_busy_store_and_bad_source_are_mapped(store, fake_magento) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    fake_magento.add_product("A-1")
    fake_magento.fail_next("POST", "inventory/source-items", 503, body={"message": "Busy"})
    with pytest.raises(StorefrontUnavailable):
        store.set_available(StoreItem("A-1", "", "1"), 3, location_external_id="berlin")
    store.set_available(StoreItem("A-1", "", "1"), 3, location_external_id="berlin")
    assert fake_magento.level("A-1", "berlin") == 3
    with pytest.raises(StorefrontError, match="Validation Failed"):
        store.set_available(StoreItem("A-1", "", "1"), 3, location_external_id="nowhere")
    with pytest.raises(StorefrontError, match="MSI source code"):
        store.set_available(StoreItem("A-1", "", "1"), 3)
    assert [i.sku for i in store.catalogue()] == ["A-1"]


def test_order_parsing_keeps_discounts_and_skips_configurable_children(fake_magento) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    order = fake_magento.add_order([("SHIRT-M", 2, "20.00", "4.00")], pickup="LIS")
    parent = order["items"][0]
    parent["product_type"] = "configurable"
    order["items"].append(
        {**parent, "item_id": parent["item_id"] + 1, "parent_item_id": parent["item_id"]}
    )
    parsed = magento_order(order)
    (line,) = parsed.lines
    assert (line.sku, line.quantity, line.unit_price, line.discount) == ("SHIRT-M", 2, 2000, 400)
    assert parsed.total == 3600 and parsed.number == order["increment_id"]
    assert parsed.pickup_location == "LIS" and parsed.financial_status == "paid"
    assert parsed.address is not None and parsed.address.city == "Berlin"
    assert magento_event_id("s1", order) == f"s1:{order['increment_id']}:{order['updated_at']}"
    for broken in (
        {**order, "order_currency_code": "", "base_currency_code": ""},
        {**order, "items": []},
        {**order, "items": [{**parent, "qty_ordered": 1.5}]},
        {**order, "items": [{**parent, "discount_amount": 999}]},
    ):
        with pytest.raises(InvalidRequest):
            magento_order(broken)


def test_catalogue_publisher_saves_each_variant_by_sku_and_archives(store, fake_magento) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    catalog = publisher_for(store)
    assert isinstance(catalog, MagentoCatalog)
    product = ProductState(
        code="TEE",
        title="Tee",
        description="Cotton",
        status="active",
        currency="EUR",
        variants=(
            VariantState(sku="TEE-S", name="S", price=1990, barcode="4006381333931"),
            VariantState(sku="TEE-M", name="M", price=2190),
        ),
    )
    published = catalog.upsert(product, variant_ids={})
    assert set(published.variant_ids) == {"TEE-S", "TEE-M"}
    assert fake_magento.products["TEE-S"]["price"] == 19.9
    assert fake_magento.products["TEE-M"]["name"] == "Tee M"
    again = catalog.upsert(product, product_id=published.product_id, variant_ids={})
    assert again == published and len(fake_magento.products) == 2
    found = catalog.find(sku="TEE-M", currency="EUR")
    assert found is not None and found.product_id == published.product_id
    assert {(v.sku, v.price, v.barcode) for v in found.variants} == {
        ("TEE-S", 1990, "4006381333931"),
        ("TEE-M", 2190, ""),
    }
    catalog.archive(published.product_id)
    assert {p["status"] for p in fake_magento.products.values()} == {2}
    archived = catalog.find(product_id=published.product_id, currency="EUR")
    assert archived is not None and archived.status == "archived"
    assert catalog.find(sku="NOPE") is None
