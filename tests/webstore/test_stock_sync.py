"""Stock out: every change of available-to-promise reaches the web stores, debounced, retried,
resynced."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from helpers.webstore import atp, barcode_of, connect, disconnect, eventually, location, new_product
from sqlalchemy import select

from contracts.stock_sync import RESYNC_SCHEDULE_ID
from db.models_webstore import StockSyncEntry, WebStoreListing
from db.repositories import reservations, webstores

pytestmark = pytest.mark.usefixtures("web_worker")


def queued(db, sku: str) -> bool:  # type: ignore[no-untyped-def]  # takes untyped fixture values
    with db.unit_of_work() as s:
        return s.get(StockSyncEntry, sku) is not None


def hold(db, code: str, sku: str, quantity: int, ref: str) -> None:  # type: ignore[no-untyped-def]  # takes untyped fixture values
    """A cart changing its mind: each call is its own committed change of available-to-promise."""
    with db.unit_of_work() as s:
        reservations.set_quantity(
            s,
            kind="cart",
            reference=ref,
            location_id=location(s, code),
            sku=sku,
            quantity=quantity,
            expires_at=None,
        )


@pytest.fixture
def shop(db, fake_shopify):  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    ber, wh = fake_shopify.add_location(), fake_shopify.add_location()
    store = connect(
        db,
        "shopify",
        base_url=fake_shopify.url,
        access_token=fake_shopify.token,
        locations=[("BER", str(ber)), ("WH1", str(wh))],
    )
    yield store, ber, wh
    disconnect(db, store.code)


def listed(db, store, sku: str, variant: dict) -> None:  # type: ignore[no-untyped-def]  # takes untyped fixture values
    with db.unit_of_work() as s:
        webstores.upsert_listing(
            s,
            store.id,
            sku,
            product_id=str(variant["product_id"]),
            variant_id=str(variant["id"]),
            inventory_item_id=str(variant["inventory_item_id"]),
        )


async def test_changes_are_debounced_per_sku_and_pushed_per_location(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db, shop, fake_shopify
) -> None:
    store, ber, wh = shop
    sku = new_product(db, {"BER": 20, "WH1": 7}, safety={"WH1": 2})
    variant = fake_shopify.add_variant(sku)
    listed(db, store, sku, variant)
    item = variant["inventory_item_id"]
    # Whatever was queued for the new product is pushed first: available to promise, safety stock
    # off.
    await eventually(
        lambda: fake_shopify.level(item, ber) == 20 and fake_shopify.level(item, wh) == 5
    )
    await eventually(lambda: not queued(db, sku))
    before = len(fake_shopify.requests("POST", "inventory_levels/set.json"))
    ref = uuid.uuid4().hex
    for n in (1, 2, 3, 4, 5, 6, 7, 8, 9, 3):  # ten changes well inside the 300 ms debounce window
        hold(db, "BER", sku, n, ref)
    await eventually(lambda: fake_shopify.level(item, ber) == 17)
    await asyncio.sleep(1.0)  # nothing else is coming
    after = fake_shopify.requests("POST", "inventory_levels/set.json")[before:]
    assert [r.body for r in after] == [
        {"location_id": ber, "inventory_item_id": item, "available": 17}
    ]
    # Releasing counts too: every change of available-to-promise is pushed.
    hold(db, "BER", sku, 0, ref)
    await eventually(lambda: fake_shopify.level(item, ber) == 20)


async def test_busy_and_failing_stores_are_retried_honouring_retry_after(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db, shop, fake_shopify
) -> None:
    store, ber, _ = shop
    sku = new_product(db, {"BER": 4})
    variant = fake_shopify.add_variant(sku)
    listed(db, store, sku, variant)
    item = variant["inventory_item_id"]
    await eventually(lambda: fake_shopify.level(item, ber) == 4 and not queued(db, sku))
    fake_shopify.fail_next(
        "POST",
        "inventory_levels/set",
        429,
        headers={"Retry-After": "1.5"},
        body={
            "errors": "Exceeded 2 calls per second for api client. Reduce request rates to "
            "resume uninterrupted service."
        },
    )
    fake_shopify.fail_next(
        "POST", "inventory_levels/set", 503, body={"errors": "Service Unavailable"}
    )
    start = len(fake_shopify.requests("POST", "inventory_levels/set.json"))
    hold(db, "BER", sku, 3, uuid.uuid4().hex)
    await eventually(lambda: fake_shopify.level(item, ber) == 1, timeout=30)
    tries = fake_shopify.requests("POST", "inventory_levels/set.json")[start:]
    assert len(tries) == 3  # 429, 503, then through
    assert tries[1].at - tries[0].at >= 1.4  # waited as long as Shopify asked
    await eventually(lambda: not queued(db, sku))  # acknowledged once through


async def test_a_refusal_is_recorded_not_retried_forever(db, shop, fake_shopify) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    store, _, _ = shop
    sku = new_product(db, {"BER": 2})
    with db.unit_of_work() as s:  # an inventory item Shopify does not know
        webstores.upsert_listing(
            s, store.id, sku, product_id="1", variant_id="2", inventory_item_id="404404"
        )

    def error() -> str:
        with db.unit_of_work() as s:
            row = s.get(WebStoreListing, (store.id, sku))
            return row.last_error if row else ""

    hold(db, "BER", sku, 1, uuid.uuid4().hex)
    assert "404" in await eventually(error)
    await eventually(lambda: not queued(db, sku))


async def test_woocommerce_gets_what_its_locations_can_ship(db, fake_woo) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    store = connect(
        db,
        "woocommerce",
        base_url=fake_woo.url,
        consumer_key=fake_woo.key,
        consumer_secret=fake_woo.secret,
    )
    sku = new_product(db, {"BER": 3, "LIS": 2, "WH1": 10}, safety={"WH1": 1})
    parent, (variation,) = fake_woo.add_variable([sku])
    with db.unit_of_work() as s:
        webstores.upsert_listing(
            s, store.id, sku, product_id=str(parent["id"]), variant_id=str(variation["id"])
        )
    await eventually(lambda: fake_woo.stock(parent["id"], variation["id"]) == 14)
    hold(db, "LIS", sku, 2, uuid.uuid4().hex)
    await eventually(lambda: fake_woo.stock(parent["id"], variation["id"]) == 12)
    disconnect(db, store.code)


async def test_scheduled_full_resync_maps_the_catalogue_and_corrects_drift(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db, temporal_client, shop, fake_shopify
) -> None:
    store, ber, wh = shop
    fake_shopify.page_size = 1  # several pages
    by_sku = new_product(db, {"BER": 6, "WH1": 1})
    by_barcode = new_product(db, {"WH1": 9})
    a = fake_shopify.add_variant(by_sku)
    b = fake_shopify.add_variant("THEIR-OWN-SKU", barcode=barcode_of(db, by_barcode))
    fake_shopify.add_variant("NOT-OURS")
    with fake_shopify.lock:  # someone typed numbers into Shopify's admin
        fake_shopify.levels[(a["inventory_item_id"], ber)] = 99
    assert atp(db, "BER", by_sku) == 6
    await temporal_client.get_schedule_handle(RESYNC_SCHEDULE_ID).trigger()
    await eventually(
        lambda: (
            fake_shopify.level(a["inventory_item_id"], ber) == 6
            and fake_shopify.level(a["inventory_item_id"], wh) == 1
            and fake_shopify.level(b["inventory_item_id"], wh) == 9
            and fake_shopify.level(b["inventory_item_id"], ber) == 0
        ),
        timeout=30,
    )
    with db.unit_of_work() as s:
        rows = {
            r.sku: r
            for r in s.scalars(select(WebStoreListing).where(WebStoreListing.store_id == store.id))
        }
    assert set(rows) == {by_sku, by_barcode}
    assert rows[by_barcode].inventory_item_id == str(b["inventory_item_id"])
    assert rows[by_sku].pushed_at is not None and rows[by_sku].pushed_at <= datetime.now(UTC)
