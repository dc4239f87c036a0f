"""The conflict list's rules: who may see and decide, and clear 4xx answers for what cannot be."""

from __future__ import annotations

import uuid

import pytest
from helpers.api import till_login
from helpers.webstore import connect, disconnect, new_product

from db.repositories import catalog_sync as repo


@pytest.fixture
def conflict(db):  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """An open barcode conflict whose web-store value has a wrong check digit."""
    store = connect(db, "shopify", base_url="http://127.0.0.1:9", access_token="x")
    sku = new_product(db, {"BER": 1})
    with db.unit_of_work() as s:
        cid = repo.record_conflict(
            s,
            store_id=store.id,
            product_code=sku,
            sku=sku,
            field="barcode",
            tillflow_value="",
            webstore_value="4006381333932",
        )
    yield cid, sku, store
    disconnect(db, store.code)


async def test_who_may_see_and_decide(capi, head_office, conflict) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    cid, sku, _ = conflict
    listed = await capi.get("/catalog/conflicts", params={"product": sku}, headers=head_office)
    assert listed.status_code == 200 and [c["id"] for c in listed.json()["items"]] == [cid]
    assert listed.json()["total"] == 1
    cashier = await till_login(capi)
    refused = await capi.get("/catalog/conflicts", headers=cashier)
    assert refused.status_code == 403
    assert (await capi.get("/catalog/conflicts")).status_code == 401


async def test_a_bad_decision_is_a_clear_4xx_and_changes_nothing(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    capi, head_office, conflict
) -> None:
    cid, sku, _ = conflict
    bad = await capi.post(
        f"/catalog/conflicts/{cid}/resolve",
        json={"keep": "webstore"},
        headers={**head_office, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "bad_barcode"
    assert "check digit" in bad.json()["error"]["message"]
    still = await capi.get("/catalog/conflicts", params={"product": sku}, headers=head_office)
    assert [c["status"] for c in still.json()["items"]] == ["open"]

    odd = await capi.post(
        f"/catalog/conflicts/{cid}/resolve", json={"keep": "both"}, headers=head_office
    )
    assert odd.status_code == 422
    missing = await capi.post(
        "/catalog/conflicts/999999999/resolve", json={"keep": "tillflow"}, headers=head_office
    )
    assert missing.status_code == 404

    key = uuid.uuid4().hex
    first = await capi.post(
        f"/catalog/conflicts/{cid}/resolve",
        json={"keep": "tillflow"},
        headers={**head_office, "Idempotency-Key": key},
    )
    replay = await capi.post(
        f"/catalog/conflicts/{cid}/resolve",
        json={"keep": "tillflow"},
        headers={**head_office, "Idempotency-Key": key},
    )
    assert first.status_code == replay.status_code == 200
    assert replay.headers.get("Idempotent-Replay") == "true" and replay.json() == first.json()
