"""A ship-from-store order end to end with Shippo labels, then Shippo's signed tracking webhooks
updating the parcel's status and queuing the customer's message (issue 19)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from helpers.carriers import ADDRESS, WEBHOOK_SECRET, place_order, signed, track_updated
from helpers.fake_shippo import FakeShippoServer
from helpers.webstore import barcode_of, eventually, new_product

from contracts.carriers import SHIPMENT_UPDATE
from db.repositories import addresses, online_orders, outbox
from db.session import Database
from workflows.online_order import OnlineOrderWorkflow


async def task(capi: Any, staff: dict[str, str], wf: str, kind: str) -> dict[str, Any]:
    async def found() -> dict[str, Any] | None:
        r = await capi.get("/fulfilment/BER/tasks", params={"kind": kind}, headers=staff)
        assert r.status_code == 200, r.text
        return next((t for t in r.json() if t["workflow_id"].endswith(f":{wf}:BER")), None)

    found_task: dict[str, Any] = await eventually(found, timeout=30)
    return found_task


async def ship_one(
    capi: Any, db: Database, staff: dict[str, str], wf: str, sku: str
) -> dict[str, Any]:
    """Pick, pack (the label is bought) and hand over one order's parcel at BER."""
    pick = await task(capi, staff, wf, "pick")
    r = await capi.post(
        f"/fulfilment/BER/tasks/{pick['id']}/picked",
        headers=staff,
        json={"scans": [{"barcode": barcode_of(db, sku), "quantity": 1}]},
    )
    assert r.status_code == 200, r.text
    pack = await task(capi, staff, wf, "pack")
    packed = await capi.post(
        f"/fulfilment/BER/tasks/{pack['id']}/pack",
        headers=staff,
        json={"weight_g": 900, "length_cm": 25, "width_cm": 15, "height_cm": 8},
    )
    assert packed.status_code == 200, packed.text
    (parcel,) = packed.json()["parcels"]
    ship = await task(capi, staff, wf, "ship")
    shipped = await capi.post(f"/fulfilment/BER/tasks/{ship['id']}/ship", headers=staff)
    assert shipped.status_code == 200 and shipped.json()["phase"] == "shipped", shipped.text
    result: dict[str, Any] = parcel
    return result


async def test_ship_from_store_with_a_shippo_label_and_tracking_updates(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    capi, db, packer, carriers_env, carrier_shop, carrier_shopify, shippo: FakeShippoServer
) -> None:
    sku = new_product(db, {"BER": 3})
    wf = await place_order(carriers_env, carrier_shop, carrier_shopify, [(sku, 1)])
    parcel = await ship_one(capi, db, packer, wf, sku)
    parent = carriers_env.client.get_workflow_handle_for(OnlineOrderWorkflow.run, wf)
    assert (await asyncio.wait_for(parent.result(), 30)).status == "completed"

    # The label came from Shippo, to the address the web store gave, from the store's address.
    assert parcel["carrier"] == "shippo/Deutsche Post"  # the cheapest rate
    tracking = parcel["tracking_number"]
    tx = next(t for t in shippo.transactions.values() if t["tracking_number"] == tracking)
    shipment = shippo.shipments[shippo.rates[tx["rate"]]["shipment"]]
    assert (shipment["address_to"]["street1"], shipment["address_to"]["zip"]) == (
        "Torstr. 1",
        "10119",
    )
    assert shipment["address_to"]["email"] == "kim@example.test"
    assert shipment["address_from"]["city"] == "Berlin"
    assert shipment["parcels"][0]["weight"] == "900"
    label = await capi.get(parcel["label_url"], headers=packer)
    assert label.status_code == 200 and tracking.encode() in label.content
    with db.unit_of_work() as s:
        found = online_orders.summary(s, wf)
        assert found is not None and addresses.for_order(s, found.number) == ADDRESS
    ship_wf = f"ship:{wf}:BER"

    # A signed track_updated: recorded, and the customer told.
    transit = track_updated(tracking, "TRANSIT", "Arrived at the sorting centre")
    raw, headers = signed(transit)
    r = await capi.post("/webhooks/carriers/shippo", content=raw, headers=headers)
    assert r.status_code == 200 and r.json()["status"] == "TRANSIT", r.text

    def notices() -> list[outbox.OutboxEntry]:
        with db.unit_of_work() as s:
            return [n for n in outbox.for_reference(s, ship_wf) if n.kind == SHIPMENT_UPDATE]

    (note,) = await eventually(notices)
    assert note.recipient == "kim@example.test" and note.channel == "email"
    assert tracking in note.body and "is on its way" in note.subject
    assert note.data["status"] == "TRANSIT" and note.data["tracking"] == tracking

    # The same delivery again: acknowledged, recorded once, no second message.
    again = await capi.post("/webhooks/carriers/shippo", content=raw, headers=signed(transit)[1])
    assert again.status_code == 200 and again.json()["duplicate"] is True
    # A bad signature: 401, nothing recorded.
    forged = track_updated(tracking, "DELIVERED")
    bad_raw, bad_headers = signed(forged, secret="not-the-secret")
    bad = await capi.post("/webhooks/carriers/shippo", content=bad_raw, headers=bad_headers)
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "bad_signature", bad.text
    unsigned = await capi.post("/webhooks/carriers/shippo", content=bad_raw)
    assert unsigned.status_code == 401
    # Not JSON / not a Track: 400.
    junk, junk_headers = b"not json", signed({})[1]
    junk_headers["Shippo-Auth-Signature"] = signed_header(junk)
    assert (
        await capi.post("/webhooks/carriers/shippo", content=junk, headers=junk_headers)
    ).status_code == 400

    # Delivered, through the URL token Shippo's webhook settings can carry instead.
    delivered = json.dumps(track_updated(tracking, "DELIVERED")).encode()
    ok = await capi.post(
        "/webhooks/carriers/shippo",
        params={"token": WEBHOOK_SECRET},
        content=delivered,
        headers={"Content-Type": "application/json"},
    )
    assert ok.status_code == 200, ok.text

    def statuses() -> list[str] | None:
        with db.unit_of_work() as s:
            seen = [e.status for e in addresses.tracking(s, tracking)]
        return seen if len(seen) == 2 else None

    assert await eventually(statuses) == ["TRANSIT", "DELIVERED"]
    delivered_notes = await eventually(
        lambda: [n for n in notices() if n.data["status"] == "DELIVERED"]
    )
    assert len(notices()) == 2 and "has been delivered" in delivered_notes[0].subject
    with db.unit_of_work() as s:
        events = addresses.tracking(s, tracking)
    assert all(e.parcel_id is not None for e in events)


def signed_header(raw: bytes) -> str:
    import time

    from integrations.shippo import sign

    return sign(WEBHOOK_SECRET, raw, int(time.time()))


async def test_a_webhook_for_someone_elses_parcel_is_recorded_without_a_message(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    capi, db
) -> None:
    import uuid

    tracking = f"UNKNOWN{uuid.uuid4().hex[:10]}"
    raw, headers = signed(track_updated(tracking, "TRANSIT"))
    r = await capi.post("/webhooks/carriers/shippo", content=raw, headers=headers)
    assert r.status_code == 200, r.text

    def recorded() -> list[addresses.TrackingView]:
        with db.unit_of_work() as s:
            return addresses.tracking(s, tracking)

    (event,) = await eventually(recorded)
    assert event.parcel_id is None and event.status == "TRANSIT"
    other = await capi.post(
        "/webhooks/carriers/shippo",
        content=json.dumps({"event": "batch_created", "data": {}}).encode(),
        headers=signed({"event": "batch_created", "data": {}})[1],
    )
    assert other.status_code == 200 and other.json()["ignored"] is True
