"""Adobe Commerce webhooks (RSA-SHA256 signature, deduped with the pull), stock to MSI source
items, and the admin endpoint connecting a Magento store."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from helpers.webstore import connect, disconnect, eventually, holds, location, new_product
from sqlalchemy import func, select

from contracts.magento import PullRequest
from contracts.online import online_order_workflow_id
from db.models_payments import WebhookEvent
from db.repositories import reservations, webstores
from workflows.magento_pull import MagentoPullWorkflow

pytestmark = pytest.mark.usefixtures("magento_worker")
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBLIC_PEM = (
    KEY.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)


def signed(body: bytes, key: rsa.RSAPrivateKey = KEY) -> str:
    return base64.b64encode(key.sign(body, padding.PKCS1v15(), hashes.SHA256())).decode()


def stored(db, store: str) -> int:  # type: ignore[no-untyped-def]  # takes untyped fixture values
    with db.unit_of_work() as s:
        return (
            s.scalar(
                select(func.count())
                .select_from(WebhookEvent)
                .where(WebhookEvent.provider == "magento", WebhookEvent.event_id.like(f"{store}:%"))
            )
            or 0
        )


def cart_hold(db, sku: str, ref: str, quantity: int) -> None:  # type: ignore[no-untyped-def]  # takes untyped fixture values
    with db.unit_of_work() as s:
        reservations.set_quantity(
            s,
            kind="cart",
            reference=ref,
            location_id=location(s, "WH1"),
            sku=sku,
            quantity=quantity,
            expires_at=None,
        )


@pytest.fixture
def hooked(db, fake_magento, magento_settings):  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """A Magento store whose webhook key is a TILLFLOW_WEBSTORE_SECRETS entry (a PEM is long)."""
    name = f"magento-{uuid.uuid4().hex[:6]}"
    magento_settings.webstore_secrets[name] = PUBLIC_PEM  # magento_api's own copy of the dict
    store = connect(
        db,
        "magento",
        base_url=fake_magento.url,
        access_token=fake_magento.token,
        secret=f"secret:{name}",
        locations=[("BER", "berlin"), ("WH1", "warehouse")],
    )
    yield store
    disconnect(db, store.code)
    magento_settings.webstore_secrets.pop(name, None)


async def post(api, store: str, payload: dict[str, Any], signature: str | None) -> Any:  # type: ignore[no-untyped-def]  # the test client
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["x-adobe-commerce-webhook-signature"] = signature
    return await api.post(f"/webhooks/magento/{store}", content=body, headers=headers)


async def test_signed_webhook_is_taken_once_and_the_pull_finds_it_stored(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    magento_api, db, hooked, fake_magento, temporal_client, magento_worker
) -> None:
    api = magento_api
    sku = new_product(db, {"BER": 4})
    order = fake_magento.add_order([(sku, 1, "9.50", "0")])
    payload = {"eventName": "observer.sales_order_save_after", "data": {"order": order}}
    raw = json.dumps(payload).encode()
    for bad in (None, signed(raw, rsa.generate_private_key(public_exponent=65537, key_size=2048))):
        r = await post(api, hooked.code, payload, bad)
        assert r.status_code == 401 and r.json()["error"]["code"] == "bad_signature"
    assert stored(db, hooked.code) == 0
    r = await post(api, hooked.code, payload, signed(raw))
    assert r.status_code == 200, r.text
    assert r.json() == {"op": "success", "received": True, "status": "queued"}
    again = await post(api, hooked.code, payload, signed(raw))
    assert again.json()["duplicate"] is True and again.json()["op"] == "success"
    wf = online_order_workflow_id("magento", str(order["entity_id"]), hooked.code)
    await eventually(lambda: sum(holds(db, "order", wf).values()) == 1)
    result = await temporal_client.execute_workflow(
        MagentoPullWorkflow.run,
        PullRequest(stores=(hooked.code,)),
        id=f"magento-pull-test-{uuid.uuid4().hex}",
        task_queue=magento_worker,
    )
    assert result.stores[0].seen == 1 and result.stores[0].new == 0
    assert stored(db, hooked.code) == 1
    # Not an order: refused as malformed; an unknown store is a 404.
    other = {"eventName": "observer.catalog_product_save_after", "data": {"product": {"id": 1}}}
    r = await post(api, hooked.code, other, signed(json.dumps(other).encode()))
    assert r.status_code == 400
    assert (await post(api, "no-such-store", payload, signed(raw))).status_code == 404


async def test_stock_goes_to_each_locations_msi_source(db, mag, fake_magento) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    sku = new_product(db, {"BER": 6, "WH1": 3}, safety={"WH1": 1})
    fake_magento.add_product(sku)
    with db.unit_of_work() as s:
        webstores.upsert_listing(s, mag.id, sku, product_id=str(fake_magento.products[sku]["id"]))
    await eventually(
        lambda: fake_magento.level(sku, "berlin") == 6 and fake_magento.level(sku, "warehouse") == 2
    )
    pushed = [
        r.body["sourceItems"]
        for r in fake_magento.requests("POST", "inventory/source-items")
        if sku in str(r.body)
    ]
    assert sorted(pushed, key=lambda items: items[0]["source_code"]) == [
        [{"sku": sku, "source_code": "berlin", "quantity": 6, "status": 1}],
        [{"sku": sku, "source_code": "warehouse", "quantity": 2, "status": 1}],
    ]
    # Sold out at one source: quantity 0, out of stock there.
    ref = uuid.uuid4().hex
    cart_hold(db, sku, ref, 2)
    await eventually(lambda: fake_magento.level(sku, "warehouse") == 0)
    assert fake_magento.source_items[(sku, "warehouse")]["status"] == 0
    cart_hold(db, sku, ref, 0)  # released: back to 2
    await eventually(lambda: fake_magento.level(sku, "warehouse") == 2)


async def test_admin_connects_a_magento_store(api, admin) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    code = f"mag-{uuid.uuid4().hex[:8]}"
    body = {
        "code": code,
        "platform": "magento",
        "currency": "EUR",
        "shop_domain": "shop.example.test",
        "locations": [{"location": "BER", "external_id": "berlin"}],
    }
    missing = await api.post("/webstores", json=body, headers=admin)
    assert missing.status_code == 422 and "access_token" in missing.text
    no_source = {**body, "access_token": "tok", "locations": [{"location": "BER"}]}
    assert (await api.post("/webstores", json=no_source, headers=admin)).status_code == 422
    r = await api.post("/webstores", json={**body, "access_token": "secret:MAG"}, headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["platform"] == "magento"
    assert r.json()["webhook_url"].endswith(f"/webhooks/magento/{code}")
    assert r.json()["locations"] == [{"location": "BER", "external_id": "berlin"}]
