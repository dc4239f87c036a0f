"""Transfers between locations through the API: hold at the source, pick (sellable → in transit),
partial receipts, shortage as a variance at the source, cancellation rules, bad input."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from helpers.history import activity_types
from helpers.stock import assert_ledger_balanced, ledger_sum
from helpers.transfers import with_key
from helpers.webstore import assert_reservations_balanced, holds, level, new_product
from sqlalchemy import select
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import CancelledError

from contracts.transfer import transfer_workflow_id
from db.models import StockLevel
from db.models_tills import StockVariance
from db.session import Database


async def _request(
    ops: httpx.AsyncClient,
    who: dict[str, str],
    sku: str,
    qty: int,
    src: str = "WH1",
    dst: str = "BER",
) -> dict[str, Any]:
    r = await ops.post(
        "/stock/transfers",
        json={"source": src, "destination": dst, "lines": [{"sku": sku, "quantity": qty}]},
        headers=with_key(who),
    )
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


def _in_transit(db: Database, code: str, sku: str) -> int:
    from helpers.webstore import location

    with db.unit_of_work() as s:
        found = s.scalar(
            select(StockLevel.in_transit).where(
                StockLevel.location_id == location(s, code), StockLevel.sku == sku
            )
        )
    return int(found or 0)


async def test_a_transfer_with_a_partial_receipt_and_its_ledger(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    ops: httpx.AsyncClient, db: Database, mia, finn, carl
) -> None:
    sku = new_product(db, {"WH1": 10, "BER": 0})
    t = await _request(ops, mia, sku, 6)
    tid = t["transfer_id"]
    assert t["status"] == "requested" and t["source"] == "WH1" and t["destination"] == "BER"
    # Held at the source: not sellable there any more, nothing moved yet.
    assert (level(db, "WH1", sku).on_hand, level(db, "WH1", sku).reserved) == (10, 6)
    assert holds(db, "transfer", f"transfer:{tid}") == {("WH1", sku): 6}

    # Only 5 found on the shelf: they leave WH1 and are in transit to BER (visible, not sellable).
    r = await ops.post(
        f"/stock/transfers/{tid}/pick",
        json={"lines": [{"sku": sku, "quantity": 5}]},
        headers=with_key(finn),
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "picked"
    assert r.json()["lines"][0] == {
        "sku": sku,
        "requested": 6,
        "picked": 5,
        "received": 0,
        "in_transit": 5,
        "short": 0,
        "over": 0,
    }
    assert (level(db, "WH1", sku).on_hand, level(db, "WH1", sku).reserved) == (5, 0)
    assert holds(db, "transfer", f"transfer:{tid}") == {}
    assert (level(db, "BER", sku).on_hand, _in_transit(db, "BER", sku)) == (0, 5)
    view = (await ops.get(f"/stock/levels/{sku}", headers=mia)).json()
    ber = next(x for x in view["locations"] if x["location"] == "BER")
    assert (ber["in_transit"], ber["on_hand"], ber["available"]) == (5, 0, 0)

    # First delivery: 3 of them (the cashier on duty at BER counts them in).
    first = with_key(carl)
    r = await ops.post(
        f"/stock/transfers/{tid}/receive",
        json={"lines": [{"sku": sku, "quantity": 3}]},
        headers=first,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "picked" and r.json()["lines"][0]["in_transit"] == 2
    assert (level(db, "BER", sku).on_hand, _in_transit(db, "BER", sku)) == (3, 2)
    # The same delivery sent again (a retry with its key) is answered, not applied twice.
    again = await ops.post(
        f"/stock/transfers/{tid}/receive",
        json={"lines": [{"sku": sku, "quantity": 3}]},
        headers=first,
    )
    assert again.status_code == 200 and again.headers.get("Idempotent-Replay") == "true"
    assert level(db, "BER", sku).on_hand == 3

    # Second delivery: 1 more, and nothing else will come: the last unit is short.
    r = await ops.post(
        f"/stock/transfers/{tid}/receive",
        json={"lines": [{"sku": sku, "quantity": 1}], "close": True},
        headers=with_key(carl),
    )
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "received" and len(done["deliveries"]) == 2
    assert done["lines"][0] == {
        "sku": sku,
        "requested": 6,
        "picked": 5,
        "received": 4,
        "in_transit": 0,
        "short": 1,
        "over": 0,
    }
    assert (level(db, "BER", sku).on_hand, _in_transit(db, "BER", sku)) == (4, 0)
    assert level(db, "WH1", sku).on_hand == 5

    # The ledger: every bucket is the sum of its movements.
    assert ledger_sum(db, "WH1", sku) == 5
    assert ledger_sum(db, "BER", sku) == 4
    assert ledger_sum(db, "BER", sku, "in_transit") == 0
    with db.unit_of_work() as s:
        variances = s.scalars(
            select(StockVariance).where(StockVariance.workflow_id == f"transfer:{tid}")
        ).all()
        assert [(v.sku, v.quantity_short, v.reason, v.status) for v in variances] == [
            (sku, 1, "transfer_short", "open")
        ]
        from helpers.webstore import location

        assert variances[0].location_id == location(s, "WH1")  # the source answers for it
    assert_ledger_balanced(db)
    assert_reservations_balanced(db)

    # Closed: nothing more can be received or cancelled.
    late = await ops.post(
        f"/stock/transfers/{tid}/receive",
        json={"lines": [{"sku": sku, "quantity": 1}]},
        headers=with_key(carl),
    )
    assert late.status_code == 409, late.text
    listed = (await ops.get("/stock/transfers?location=BER&status=received", headers=mia)).json()
    assert tid in [x["transfer_id"] for x in listed["items"]]


async def test_cancel_before_pick_releases_and_after_pick_is_refused(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    ops: httpx.AsyncClient, db: Database, mia, finn, temporal_client: Client
) -> None:
    sku = new_product(db, {"WH1": 8})
    t = await _request(ops, mia, sku, 8, dst="LIS")
    assert level(db, "WH1", sku).available == 0
    r = await ops.post(
        f"/stock/transfers/{t['transfer_id']}/cancel",
        json={"reason": "ordered by mistake"},
        headers=with_key(mia),
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled" and r.json()["cancel_reason"] == "ordered by mistake"
    assert (level(db, "WH1", sku).reserved, level(db, "WH1", sku).available) == (0, 8)
    nope = await ops.post(
        f"/stock/transfers/{t['transfer_id']}/pick",
        json={"lines": [{"sku": sku, "quantity": 1}]},
        headers=with_key(finn),
    )
    assert nope.status_code == 409, nope.text
    # The cancel step gave the hold back itself: the Saga has nothing left to undo.
    handle = temporal_client.get_workflow_handle(transfer_workflow_id(t["transfer_id"]))
    assert activity_types(await handle.fetch_history()) == ["transfer.record", "transfer.cancel"]

    # Cancelled in Temporal before its pick: the Saga's compensation gives the hold back.
    t3 = await _request(ops, mia, sku, 2, dst="LIS")
    assert level(db, "WH1", sku).available == 6
    handle = temporal_client.get_workflow_handle(transfer_workflow_id(t3["transfer_id"]))
    await handle.cancel()
    with pytest.raises(WorkflowFailureError) as closed:
        await asyncio.wait_for(handle.result(), timeout=30)
    assert isinstance(closed.value.cause, CancelledError)
    assert activity_types(await handle.fetch_history()) == ["transfer.record", "transfer.release"]
    assert (level(db, "WH1", sku).reserved, level(db, "WH1", sku).available) == (0, 8)

    t2 = await _request(ops, mia, sku, 3, dst="LIS")
    r = await ops.post(
        f"/stock/transfers/{t2['transfer_id']}/pick",
        json={"lines": [{"sku": sku, "quantity": 3}]},
        headers=with_key(finn),
    )
    assert r.status_code == 200, r.text
    refused = await ops.post(
        f"/stock/transfers/{t2['transfer_id']}/cancel", json={}, headers=with_key(mia)
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "transfer_picked"
    assert level(db, "WH1", sku).on_hand == 5 and _in_transit(db, "LIS", sku) == 3
    assert_ledger_balanced(db)
    assert_reservations_balanced(db)


async def test_bad_transfer_input_is_a_clear_4xx(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    ops: httpx.AsyncClient, db: Database, mia, finn, carl, luis, lis_manager
) -> None:
    sku = new_product(db, {"WH1": 4})

    async def post(body: dict[str, Any], who: dict[str, str] = mia) -> httpx.Response:
        return await ops.post("/stock/transfers", json=body, headers=with_key(who))

    line = [{"sku": sku, "quantity": 1}]
    cases: list[tuple[dict[str, Any], int]] = [
        ({"source": "NOPE", "destination": "BER", "lines": line}, 404),
        ({"source": "WH1", "destination": "WH1", "lines": line}, 422),
        (
            {
                "source": "WH1",
                "destination": "BER",
                "lines": [{"sku": "NO-SUCH-SKU", "quantity": 1}],
            },
            404,
        ),
        ({"source": "WH1", "destination": "BER", "lines": [{"sku": sku, "quantity": 0}]}, 422),
        ({"source": "WH1", "destination": "BER", "lines": []}, 422),
        ({"source": "WH1", "destination": "BER", "lines": [{"sku": sku, "quantity": 5}]}, 409),
    ]
    for body, status in cases:
        r = await post(body)
        assert r.status_code == status, (body, r.text)
        assert r.json()["error"]["message"]
    # A cashier may not request; a manager of neither end may not either.
    assert (
        await post({"source": "WH1", "destination": "BER", "lines": line}, carl)
    ).status_code == 403
    assert (
        await post({"source": "WH1", "destination": "BER", "lines": line}, lis_manager)
    ).status_code == 403
    assert level(db, "WH1", sku).reserved == 0  # nothing was held by any of those

    t = await _request(ops, mia, sku, 2)
    tid = t["transfer_id"]
    over = await ops.post(
        f"/stock/transfers/{tid}/pick",
        json={"lines": [{"sku": sku, "quantity": 3}]},
        headers=with_key(finn),
    )
    assert over.status_code == 422 and over.json()["error"]["code"] == "over_pick"
    # Carl works at the destination, not at the source: he cannot pick there.
    assert (
        await ops.post(
            f"/stock/transfers/{tid}/pick",
            json={"lines": [{"sku": sku, "quantity": 1}]},
            headers=with_key(carl),
        )
    ).status_code == 403
    # Receiving before the pick is a conflict; a stranger does not even see the transfer.
    early = await ops.post(
        f"/stock/transfers/{tid}/receive",
        json={"lines": [{"sku": sku, "quantity": 1}]},
        headers=with_key(carl),
    )
    assert early.status_code == 409, early.text
    assert (await ops.get(f"/stock/transfers/{tid}", headers=luis)).status_code == 404
    assert (await ops.get(f"/stock/transfers/{tid}", headers=carl)).status_code == 200
    assert level(db, "WH1", sku).reserved == 2
    assert_reservations_balanced(db)
