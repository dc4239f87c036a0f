"""Shipping addresses captured from Shopify, WooCommerce and our storefront checkout (issue 19)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from sqlalchemy import delete, select

from api.schemas_webstore import CheckoutIn
from db.models import Location, Order
from db.repositories import addresses, orders
from db.session import Database
from domain.addresses import location_address
from domain.online_orders import ShippingAddress
from integrations.order_payloads import shopify_order, woocommerce_order

LINE = {"id": 11, "sku": "SKU-1", "quantity": 1, "price": "12.90", "title": "Mug"}


def test_shopify_shipping_address_is_captured() -> None:
    order = shopify_order(
        {
            "id": 820982911946154508,
            "name": "#1001",
            "currency": "EUR",
            "total_price": "12.90",
            "line_items": [LINE],
            "customer": {"first_name": "Kim", "last_name": "Kunde"},
            "shipping_address": {
                "first_name": "Kim",
                "last_name": "Kunde",
                "name": "Kim Kunde",
                "address1": "Torstr. 1",
                "address2": "2. OG",
                "company": None,
                "city": "Berlin",
                "zip": "10119",
                "province": "Berlin",
                "province_code": "BE",
                "country": "Germany",
                "country_code": "de",
                "phone": "+49 30 1234567",
                "latitude": 52.53,
                "longitude": 13.40,
            },
        }
    )
    assert order.address == ShippingAddress(
        name="Kim Kunde",
        lines=("Torstr. 1", "2. OG"),
        city="Berlin",
        postcode="10119",
        region="BE",
        country="DE",
        phone="+49 30 1234567",
    )
    assert order.address.complete and order.country == "DE"


def test_woocommerce_shipping_is_captured_and_a_pickup_has_none() -> None:
    body = {
        "id": 727,
        "number": "727",
        "currency": "EUR",
        "total": "12.90",
        "status": "processing",
        "line_items": [{**LINE, "total": "10.84", "total_tax": "2.06"}],
        "billing": {"first_name": "Ana", "last_name": "Silva", "email": "ana@example.test"},
        "shipping": {
            "first_name": "Ana",
            "last_name": "Silva",
            "company": "Loja Lda",
            "address_1": "Rua Garrett 20",
            "address_2": "",
            "city": "Lisboa",
            "state": "",
            "postcode": "1200-204",
            "country": "PT",
            "phone": "",
        },
    }
    order = woocommerce_order(body)
    assert order.address == ShippingAddress(
        name="Ana Silva",
        lines=("Rua Garrett 20", "Loja Lda"),
        city="Lisboa",
        postcode="1200-204",
        country="PT",
    )
    no_street = woocommerce_order({**body, "shipping": {"country": "PT"}})
    assert no_street.address is None and no_street.country == "PT"


def test_storefront_checkout_address_is_validated() -> None:
    body = CheckoutIn.model_validate(
        {
            "email": "kim@example.test",
            "name": "Kim Kunde",
            "address": {
                "lines": [" Torstr. 1 ", ""],
                "city": "Berlin",
                "postcode": "10119",
                "country": "de",
            },
        }
    )
    assert body.address is not None and body.address.lines == ["Torstr. 1"]
    for bad in (
        {"lines": [], "city": "Berlin", "country": "DE"},
        {"lines": ["  "], "city": "Berlin", "country": "DE"},
        {"lines": ["Torstr. 1"], "city": "Berlin", "country": "Germany"},
        {"lines": ["Torstr. 1"], "city": "", "country": "DE"},
        {"lines": ["Torstr. 1"], "city": "Berlin", "country": "DE", "floor": 2},
    ):
        with pytest.raises(ValidationError):
            CheckoutIn.model_validate({"email": "kim@example.test", "address": bad})


def test_a_location_address_is_split_for_the_carrier() -> None:
    berlin = location_address("tillflow Berlin Mitte", "Rosenthaler Str. 40, 10178 Berlin", "de")
    assert berlin == ShippingAddress(
        name="tillflow Berlin Mitte",
        lines=("Rosenthaler Str. 40",),
        city="Berlin",
        postcode="10178",
        country="DE",
    )
    us = location_address("Shop", "1 Market St, San Francisco, CA 94105", "US")
    assert (us.lines, us.city, us.region, us.postcode) == (
        ("1 Market St",),
        "San Francisco",
        "CA",
        "94105",
    )


def test_the_address_is_stored_once_with_its_order(db: Database) -> None:
    """What the accept activity calls; a retry keeps the first address."""
    with db.unit_of_work() as s:
        ber = s.scalar(select(Location.id).where(Location.code == "BER"))
        order = orders.insert_order(
            s,
            orders.NewOrder(
                workflow_id=f"test-address:{uuid.uuid4().hex}",
                number_prefix="WEB",
                channel="web",
                fulfilment_type="ship",
                status="received",
                location_id=ber,
                till_id=None,
                cashier_id=None,
                currency="EUR",
                subtotal=0,
                tax_total=0,
                total=0,
                change_due=0,
                warnings=[],
                placed_at=datetime.now(UTC),
                lines=[],
            ),
        )
        number, order_id = order.number, order.id
    first = ShippingAddress(name="Kim", lines=("Torstr. 1",), city="Berlin", country="DE")
    try:
        with db.unit_of_work() as s:
            addresses.save(s, number, first)
            addresses.save(s, number, ShippingAddress(name="Other", lines=("X 1",), city="Y"))
            addresses.save(s, "WEB-NO-SUCH-ORDER", first)  # no order: nothing stored
        with db.unit_of_work() as s:
            assert addresses.for_order(s, number) == first
            assert addresses.for_order(s, "WEB-NO-SUCH-ORDER") is None
    finally:
        with db.unit_of_work() as s:
            s.execute(delete(Order).where(Order.id == order_id))
    with db.unit_of_work() as s:
        assert addresses.for_order(s, number) is None  # the address went with its order


@pytest.fixture
async def web_orders(db: Database, temporal_client, gateway, test_settings):  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """The web part of the central worker on the suite's Temporal, for this test only; its
    fulfilment children (never started by a worker here) go to the web tests' stub queue."""
    import asyncio

    from helpers.fulfilment_stub import StubBopis, StubShipFromStore
    from temporalio.worker import Worker

    from tillflow.adapters import storefront_factory
    from tillflow.workers import sandbox_runner, webstore_worker

    stub_queue = "tillflow-fulfilment-stub"
    workers = [
        webstore_worker(
            temporal_client,
            db,
            gateway,
            storefront_factory(db, test_settings),
            fulfilment_queue=stub_queue,
        ),
        Worker(
            temporal_client,
            task_queue=stub_queue,
            workflows=[StubShipFromStore, StubBopis],
            workflow_runner=sandbox_runner(),
        ),
    ]
    tasks = [asyncio.create_task(w.run()) for w in workers]
    yield
    for w in workers:
        await w.shutdown()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_storefront_checkout_stores_the_address(api, db: Database, web_orders) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """Through the real checkout: the OnlineOrder's accept step stores the shopper's address."""
    from helpers.webstore import connect, disconnect, eventually, new_product

    from contracts.online import online_order_workflow_id
    from db.repositories import online_orders

    capi = api
    key = f"sfk_test_{uuid.uuid4().hex}"
    store = connect(db, "web", storefront_key=key)
    headers = {"X-Storefront-Key": key}
    try:
        sku = new_product(db, {"BER": 2})
        cart_id = (await capi.post("/storefront/carts", json={}, headers=headers)).json()["cart_id"]
        added = await capi.post(
            f"/storefront/carts/{cart_id}/lines", json={"sku": sku, "quantity": 1}, headers=headers
        )
        assert added.status_code in (200, 201), added.text
        body = {
            "email": "kim@example.test",
            "name": "Kim Kunde",
            "payment_method": "pm_card_visa",
            "address": {
                "lines": ["Torstr. 1"],
                "city": "Berlin",
                "postcode": "10119",
                "country": "de",
                "phone": "+49 30 1234567",
            },
        }
        bad = await capi.post(
            f"/storefront/carts/{cart_id}/checkout",
            json={**body, "address": {"lines": ["Torstr. 1"], "country": "DE"}},
            headers=headers,
        )
        assert bad.status_code == 422, bad.text  # no city: refused before anything starts
        done = await capi.post(f"/storefront/carts/{cart_id}/checkout", json=body, headers=headers)
        assert done.status_code == 201, done.text
        wf = online_order_workflow_id("web", cart_id)

        def stored() -> ShippingAddress | None:
            with db.unit_of_work() as s:
                summary = online_orders.summary(s, wf)
                return addresses.for_order(s, summary.number) if summary else None

        assert await eventually(stored) == ShippingAddress(
            name="Kim Kunde",
            lines=("Torstr. 1",),
            city="Berlin",
            postcode="10119",
            country="DE",
            phone="+49 30 1234567",
        )
    finally:
        disconnect(db, store.code)
