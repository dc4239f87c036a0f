"""The catalogue loop with Shopify (fake Admin GraphQL API): tillflow's changes reach the shop,
the shop's own edits come back through signed product webhooks."""

from __future__ import annotations

import contextlib
import json
import uuid
from typing import Any

import pytest
from helpers import catalog_sync as cat
from helpers.fake_shopify import FakeShopifyServer
from helpers.webstore import (
    SECRET,
    at,
    barcode_of,
    connect,
    disconnect,
    eventually,
    new_product,
    post_shopify,
    shopify_headers,
)
from sqlalchemy import func, select
from temporalio.service import RPCError

from contracts.catalog import (
    catalog_sync_workflow_id,
    start_catalog_sync,
    sync_request,
    sync_status,
)
from db.models import Variant
from db.models_catalog_sync import CatalogSyncCursor
from db.models_payments import WebhookEvent
from db.repositories import catalog_outbox, webstores

pytestmark = pytest.mark.usefixtures("catalog_worker")


def shopify_variant(fake: FakeShopifyServer, sku: str) -> Any:
    """The shop's variant of this SKU (None before it is there)."""
    p = fake.product_by_sku(sku)
    return next((v for v in p["variants"] if v["sku"] == sku), None) if p else None


async def test_create_update_archive_reach_shopify(db, shop, fake_shopify) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    sku = new_product(db, {"BER": 4}, price=1250)
    cat.publish(db, sku, fields=["title", "price", "barcode"])
    await eventually(lambda: fake_shopify.product_by_sku(sku))
    p = fake_shopify.product_by_sku(sku)
    assert p["title"] == f"Test {sku}" and p["status"] == "active"
    v = shopify_variant(fake_shopify, sku)
    assert v["price"] == "12.50" and v["barcode"] == barcode_of(db, sku)

    # Stock sync knows where the new SKU sits (product, variant, inventory item).
    def listings() -> list[webstores.Listing]:
        with db.unit_of_work() as s:
            return webstores.listings(s, shop.id, [sku])

    (listing,) = await eventually(listings)
    assert listing.product_id == str(p["id"]) and listing.inventory_item_id == str(
        v["inventory_item_id"]
    )

    cat.reprice(db, sku, 1490)
    cat.rename(db, sku, "Linen shirt")
    code = cat.rebarcode(db, sku)
    await eventually(
        lambda: (
            (v := shopify_variant(fake_shopify, sku))
            and v["price"] == "14.90"
            and v["barcode"] == code
            and fake_shopify.product_by_sku(sku)["title"] == "Linen shirt"
        )
    )
    assert fake_shopify.product_by_sku(sku)["id"] == p["id"]  # updated, never created twice

    cat.archive(db, sku)
    await eventually(lambda: fake_shopify.product_by_sku(sku)["status"] == "archived")


async def test_shop_edits_come_back_as_owned_changes_or_conflicts(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db, shop, fake_shopify, capi, head_office
) -> None:
    sku = new_product(db, {"BER": 2}, price=1000)
    cat.publish(db, sku)
    await eventually(lambda: fake_shopify.product_by_sku(sku))
    pid = fake_shopify.product_by_sku(sku)["id"]

    # Descriptions belong to the web store here (settings): applied to tillflow.
    body = fake_shopify.edit_in_admin(pid, body_html="<p>Soft washed linen</p>")
    r = await post_shopify(capi, shop.code, body, topic="products/update")
    assert r.status_code == 200 and r.json()["status"] == "queued"
    await eventually(lambda: cat.product(db, sku)[1] == "<p>Soft washed linen</p>")

    # A price is always tillflow's: a conflict, and tillflow's price goes back to the shop.
    body = fake_shopify.edit_in_admin(pid, variant_sku=sku, price="8.00")
    await post_shopify(capi, shop.code, body, topic="products/update")
    await eventually(lambda: cat.conflicts(db, sku))
    (conflict,) = cat.conflicts(db, sku)
    assert (
        conflict["field"] == "price" and conflict["ours"] == "1000" and conflict["theirs"] == "800"
    )
    await eventually(lambda: shopify_variant(fake_shopify, sku)["price"] == "10.00")

    listed = await capi.get("/catalog/conflicts", params={"product": sku}, headers=head_office)
    assert listed.status_code == 200
    assert [c["field"] for c in listed.json()["items"]] == ["price"]

    # Head office keeps the shop's price: it becomes the store's own price list, and goes back.
    r = await capi.post(
        f"/catalog/conflicts/{conflict['id']}/resolve",
        json={"keep": "webstore"},
        headers={**head_office, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "resolved" and r.json()["resolution"] == "webstore"
    await eventually(lambda: shopify_variant(fake_shopify, sku)["price"] == "8.00")
    again = await capi.post(
        f"/catalog/conflicts/{conflict['id']}/resolve",
        json={"keep": "tillflow"},
        headers=head_office,
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict_resolved"

    # A title is tillflow's (settings): a conflict; the shop gets tillflow's title back.
    body = fake_shopify.edit_in_admin(pid, title="Shop title")
    await post_shopify(capi, shop.code, body, topic="products/update")
    await eventually(lambda: [c["field"] for c in cat.conflicts(db, sku)] == ["title"])
    await eventually(lambda: fake_shopify.product_by_sku(sku)["title"] == f"Test {sku}")
    assert cat.product(db, sku)[0] == f"Test {sku}"


async def test_product_webhooks_are_deduped_and_signed(db, shop, fake_shopify, capi) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    sku = new_product(db, {"BER": 1})
    cat.publish(db, sku)
    await eventually(lambda: fake_shopify.product_by_sku(sku))
    pid = fake_shopify.product_by_sku(sku)["id"]
    body = fake_shopify.edit_in_admin(pid, body_html="once")
    event = uuid.uuid4().hex
    first = await post_shopify(capi, shop.code, body, topic="products/update", event_id=event)
    second = await post_shopify(capi, shop.code, body, topic="products/update", event_id=event)
    assert first.json() == {"received": True, "status": "queued"}
    assert second.json() == {"received": True, "duplicate": True}

    def stored(event_id: str) -> int:
        with db.unit_of_work() as s:
            return (
                s.scalar(
                    select(func.count())
                    .select_from(WebhookEvent)
                    .where(WebhookEvent.event_id == f"{shop.code}:{event_id}")
                )
                or 0
            )

    assert stored(event) == 1
    await eventually(lambda: cat.product(db, sku)[1] == "once")

    forged_event = uuid.uuid4().hex
    raw = json.dumps({**body, "body_html": "forged"}).encode()
    headers = shopify_headers(
        raw,
        topic="products/update",
        event_id=forged_event,
        triggered_at=at(1),
        shop=shop.code,
        secret="not-the-secret",
    )
    r = await capi.post(f"/webhooks/shopify/{shop.code}", content=raw, headers=headers)
    assert r.status_code == 401 and r.json()["error"]["code"] == "bad_signature"
    assert stored(forged_event) == 0
    assert cat.product(db, sku)[1] == "once"
    assert SECRET  # the store's real secret signed the accepted deliveries


async def test_busy_shop_is_retried_after_retry_after_and_throttle(db, shop, fake_shopify) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    fake_shopify.fail_next(
        "POST",
        "graphql.json",
        429,
        body={"errors": "Exceeded 2 calls per second for api client. Reduce request rates."},
        headers={"Retry-After": "1.0"},
    )
    sku = new_product(db, {"BER": 1})
    cat.publish(db, sku)
    await eventually(lambda: fake_shopify.product_by_sku(sku), timeout=30)
    calls = fake_shopify.requests("POST", "graphql.json")
    assert len(calls) >= 2  # the first call got the 429, the retry went through
    # The retry waited at least what the shop asked for.
    assert calls[1].at - calls[0].at >= 0.9

    fake_shopify.throttle_next(1)  # GraphQL's own rate limit: a 200 with a THROTTLED error
    cat.rename(db, sku, "After the throttle")
    await eventually(
        lambda: fake_shopify.product_by_sku(sku)["title"] == "After the throttle", timeout=30
    )


async def test_full_resync_on_demand(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db, shop, fake_shopify, capi, head_office, temporal_client
) -> None:
    sku = new_product(db, {"BER": 3}, price=2000)  # never announced in the outbox
    r = await capi.post(
        f"/webstores/{shop.code}/catalog/resync",
        headers={**head_office, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 202, r.text
    assert r.json()["workflow_id"] == f"catalogsync:{shop.code}"
    await eventually(lambda: fake_shopify.product_by_sku(sku), timeout=30)
    assert shopify_variant(fake_shopify, sku)["price"] == "20.00"

    # The full resync goes on through every product of the (shared, by now large) catalogue;
    # a resync asked for meanwhile runs after it.
    async def full_resync_done() -> bool:
        status = await sync_status(temporal_client, shop.code)
        return status is not None and status.resyncs >= 1

    await eventually(full_resync_done, timeout=300, interval=0.5)

    # Drift no webhook told us of (edited while the webhook was off): a resync of that product.
    fake_shopify.edit_in_admin(fake_shopify.product_by_sku(sku)["id"], title="Drifted")
    r = await capi.post(
        f"/webstores/{shop.code}/catalog/resync", json={"products": [sku]}, headers=head_office
    )
    assert r.status_code == 202 and r.json()["products"] == [sku]
    await eventually(lambda: fake_shopify.product_by_sku(sku)["title"] == f"Test {sku}")
    unknown = await capi.post(
        f"/webstores/{shop.code}/catalog/resync",
        json={"products": ["NO-SUCH"]},
        headers=head_office,
    )
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_product"

    cashier_like = await capi.post(f"/webstores/{shop.code}/catalog/resync")
    assert cashier_like.status_code == 401
    missing = await capi.post("/webstores/no-such-store/catalog/resync", headers=head_office)
    assert missing.status_code == 404


async def test_a_scheduled_price_reaches_the_shop_at_its_time(db, shop, fake_shopify) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    from datetime import UTC, datetime, timedelta

    from db.repositories import catalog, catalog_outbox

    sku = new_product(db, {"BER": 1}, price=1000)
    cat.publish(db, sku)
    await eventually(lambda: shopify_variant(fake_shopify, sku))
    starts = datetime.now(UTC) + timedelta(seconds=2)
    with db.unit_of_work() as s:
        catalog.change_price(s, sku, 700, "EUR", at=starts)
        catalog_outbox.record(s, sku, "upsert", fields=["price"])  # scheduling is a change too
    await eventually(lambda: shopify_variant(fake_shopify, sku)["price"] == "7.00")
    assert datetime.now(UTC) >= starts  # not before its time


async def test_products_made_or_deleted_in_the_shop_are_conflicts(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db, shop, fake_shopify, capi, head_office
) -> None:
    # products/create of a product tillflow does not know: a `product` conflict, nothing made.
    theirs = fake_shopify.add_variant(f"THEIRS-{uuid.uuid4().hex[:8]}")
    body = fake_shopify.edit_in_admin(theirs["product_id"], title="Made in the Shopify admin")
    r = await post_shopify(capi, shop.code, body, topic="products/create")
    assert r.status_code == 200 and r.json()["status"] == "queued"
    await eventually(lambda: cat.store_conflicts(db, shop.id))
    assert cat.store_conflicts(db, shop.id) == [
        {"field": "product", "sku": theirs["sku"], "product": "", "theirs": body["title"]}
    ]
    listed = await capi.get("/catalog/conflicts", params={"store": shop.code}, headers=head_office)
    assert [(c["field"], c["sku"]) for c in listed.json()["items"]] == [("product", theirs["sku"])]
    with db.unit_of_work() as s:  # tillflow is the catalogue's master: nothing was made
        assert s.scalar(select(func.count()).where(Variant.sku == theirs["sku"])) == 0

    # products/delete of a product tillflow still sells: a `deleted` conflict, and it is listed
    # in the shop again (a new Shopify product: the old id is gone for good).
    sku = new_product(db, {"BER": 1}, price=1500)
    cat.publish(db, sku)
    await eventually(lambda: fake_shopify.product_by_sku(sku))
    pid = fake_shopify.product_by_sku(sku)["id"]
    with fake_shopify.lock:
        del fake_shopify.products[pid]  # the merchant deleted it in the Shopify admin
    r = await post_shopify(capi, shop.code, {"id": pid}, topic="products/delete")
    assert r.status_code == 200 and r.json()["status"] == "queued"
    await eventually(lambda: [c["field"] for c in cat.conflicts(db, sku)] == ["deleted"])
    (deleted,) = cat.conflicts(db, sku)
    assert (deleted["ours"], deleted["theirs"]) == ("active", "deleted")
    again = await eventually(lambda: fake_shopify.product_by_sku(sku))
    assert again["id"] != pid and again["status"] == "active"
    assert shopify_variant(fake_shopify, sku)["price"] == "15.00"


@pytest.fixture
async def calm_shop(db, temporal_client, sync_settings, fake_shopify, catalog_worker):  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """A Shopify store whose CatalogSync waits for 1 s of quiet: a burst of edits made back to
    back always falls inside one window, however slow the machine is between two of them."""
    calm = sync_settings.model_copy(
        update={"catalog_sync_debounce_ms": 1000, "catalog_sync_max_delay_ms": 30_000}
    )
    store = connect(
        db,
        "shopify",
        base_url=fake_shopify.url,
        access_token=fake_shopify.token,
        locations=[("BER", str(fake_shopify.add_location()))],
    )
    await start_catalog_sync(
        temporal_client, sync_request(calm, store.code), task_queue=sync_settings.web_task_queue
    )

    def cursor_ready() -> bool:
        with db.unit_of_work() as s:
            return s.get(CatalogSyncCursor, store.id) is not None

    await eventually(cursor_ready)
    yield store
    disconnect(db, store.code)
    with contextlib.suppress(RPCError):
        await temporal_client.get_workflow_handle(catalog_sync_workflow_id(store.code)).terminate()


def _product_mutations(fake: FakeShopifyServer, product_id: int) -> list[dict[str, Any]]:
    """The productSet / productUpdate calls the shop got for one product (their variables)."""
    gid = f"gid://shopify/Product/{product_id}"
    out = []
    for seen in fake.requests("POST", "graphql.json"):
        query = str(seen.body.get("query") or "") if isinstance(seen.body, dict) else ""
        variables = seen.body.get("variables") or {} if isinstance(seen.body, dict) else {}
        target = (variables.get("input") or variables.get("product") or {}).get("id")
        if ("productSet(" in query or "productUpdate(" in query) and target == gid:
            out.append(variables)
    return out


async def test_a_burst_of_edits_is_one_push(db, calm_shop, fake_shopify) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    sku = new_product(db, {"BER": 1}, price=1000)
    cat.publish(db, sku)
    await eventually(lambda: fake_shopify.product_by_sku(sku))
    pid = fake_shopify.product_by_sku(sku)["id"]

    for n in range(1, 4):  # five changes, back to back: three renames and two prices
        cat.rename(db, sku, f"Burst {n}")
    cat.reprice(db, sku, 1100)
    cat.reprice(db, sku, 1200)
    with db.unit_of_work() as s:
        last = catalog_outbox.latest_id(s)

    def told_up_to_last() -> bool:
        with db.unit_of_work() as s:
            cursor = s.get(CatalogSyncCursor, calm_shop.id)
            return cursor is not None and cursor.last_change_id >= last

    await eventually(told_up_to_last)  # the quiet time passed and the round is done
    (push,) = _product_mutations(fake_shopify, pid)  # one mutation for the five edits
    assert push["input"]["title"] == "Burst 3"
    assert [v["price"] for v in push["input"]["variants"]] == ["12.00"]
    assert fake_shopify.product_by_sku(sku)["title"] == "Burst 3"
