"""A transfer for an online order's pickup: what arrives is held for the order at once."""

from __future__ import annotations

import uuid

import httpx
from helpers.transfers import QUEUE, with_key
from helpers.webstore import assert_reservations_balanced, holds, level, location, new_product
from temporalio.client import Client

from contracts.transfer import TransferLineIn, TransferRequest, request_transfer
from db.session import Database


async def test_received_units_are_held_for_the_order(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    ops: httpx.AsyncClient, db: Database, temporal_client: Client, finn, carl
) -> None:
    sku = new_product(db, {"WH1": 6, "BER": 0})
    order = f"order:test:{uuid.uuid4().hex[:8]}"
    with db.unit_of_work() as s:
        wh1, ber = location(s, "WH1"), location(s, "BER")
    view = await request_transfer(
        temporal_client,
        TransferRequest(
            transfer_id=f"TR-{uuid.uuid4().hex[:12].upper()}",
            source_location_id=wh1,
            source_code="WH1",
            destination_location_id=ber,
            destination_code="BER",
            lines=(TransferLineIn(sku=sku, quantity=3),),
            requested_by=None,
            order_workflow_id=order,
        ),
        task_queue=QUEUE,
    )
    tid = view.transfer_id
    got = (await ops.get(f"/stock/transfers/{tid}", headers=carl)).json()
    assert got["order"] == order
    r = await ops.post(
        f"/stock/transfers/{tid}/pick",
        json={"lines": [{"sku": sku, "quantity": 3}]},
        headers=with_key(finn),
    )
    assert r.status_code == 200, r.text
    r = await ops.post(
        f"/stock/transfers/{tid}/receive",
        json={"lines": [{"sku": sku, "quantity": 2}]},
        headers=with_key(carl),
    )
    assert r.status_code == 200, r.text
    assert holds(db, "order", order) == {("BER", sku): 2}
    assert (level(db, "BER", sku).on_hand, level(db, "BER", sku).available) == (2, 0)
    r = await ops.post(
        f"/stock/transfers/{tid}/receive",
        json={"lines": [{"sku": sku, "quantity": 1}]},
        headers=with_key(carl),
    )
    assert r.json()["status"] == "received", r.text
    assert holds(db, "order", order) == {("BER", sku): 3}
    assert_reservations_balanced(db)
    with db.unit_of_work() as s:
        from db.repositories import reservations

        reservations.release(s, kind="order", reference=order)
