"""Retrying an entry of the web-store exception queue is all or nothing: the entry is resolved only
when its order was told to retry; a retry that cannot reach the order leaves it open."""

from __future__ import annotations

import uuid

import pytest
from helpers.webstore import (
    connect,
    disconnect,
    eventually,
    new_product,
    new_sku,
    post_shopify,
    shopify_order,
)

from contracts.online import online_order_workflow_id

pytestmark = pytest.mark.usefixtures("web_worker")


@pytest.fixture
def shop(db, fake_shopify):  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    store = connect(
        db,
        "shopify",
        base_url=fake_shopify.url,
        access_token=fake_shopify.token,
        locations=[("WH1", str(fake_shopify.add_location()))],
    )
    yield store
    disconnect(db, store.code)


async def _entry(api, manager, wf: str):  # type: ignore[no-untyped-def]  # untyped fixture values
    found = await api.get(
        "/webstores/exceptions", params={"order": wf, "status": "all"}, headers=manager
    )
    assert found.status_code == 200, found.text
    return found.json()


async def test_a_retry_of_an_ended_order_is_refused_and_leaves_the_entry_open(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, db, shop, manager, temporal_client
) -> None:
    known = new_product(db, {"WH1": 3})
    ghost = new_sku("GHOST")
    order_id = int(uuid.uuid4().int % 10**9)
    r = await post_shopify(
        api, shop.code, shopify_order(order_id, [(known, 1, "5.00"), (ghost, 1, "7.00")])
    )
    assert r.status_code == 200, r.text
    wf = online_order_workflow_id("shopify", str(order_id), shop.code)
    (entry,) = await eventually(lambda: _entry(api, manager, wf))
    assert entry["status"] == "open" and entry["sku"] == ghost
    # Ops end the order while it waits in the queue (a terminate in the Temporal UI, say).
    await temporal_client.get_workflow_handle(wf).terminate("ops: test of a retry after the end")

    refused = await api.post(f"/webstores/exceptions/{entry['id']}/retry", headers=manager)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["message"] == "That order has ended; it cannot be retried."
    # Nothing half-done: the entry is still open (it used to say "resolved" after this 409) ...
    assert [e["status"] for e in await _entry(api, manager, wf)] == ["open"]
    # ... and stays in the default (open) listing for a person to act on.
    listed = await api.get("/webstores/exceptions", headers=manager)
    assert entry["id"] in [e["id"] for e in listed.json()]
    # The same answer every time: the refusal never flips it.
    again = await api.post(f"/webstores/exceptions/{entry['id']}/retry", headers=manager)
    assert again.status_code == 409
    assert [e["status"] for e in await _entry(api, manager, wf)] == ["open"]


async def test_a_retry_resolves_once_a_second_retry_is_a_conflict(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, db, shop, manager
) -> None:
    ghost = new_sku("GHOST")
    order_id = int(uuid.uuid4().int % 10**9)
    r = await post_shopify(api, shop.code, shopify_order(order_id, [(ghost, 2, "7.00")]))
    assert r.status_code == 200, r.text
    wf = online_order_workflow_id("shopify", str(order_id), shop.code)
    (entry,) = await eventually(lambda: _entry(api, manager, wf))
    new_product(db, {"WH1": 2}, sku=ghost)  # the catalogue gets the SKU

    first = await api.post(f"/webstores/exceptions/{entry['id']}/retry", headers=manager)
    assert first.status_code == 202, first.text
    assert [e["status"] for e in await _entry(api, manager, wf)] == ["resolved"]
    second = await api.post(f"/webstores/exceptions/{entry['id']}/retry", headers=manager)
    assert second.status_code == 409 and "resolved already" in second.json()["error"]["message"]
