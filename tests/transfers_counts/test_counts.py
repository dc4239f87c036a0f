"""Cycle counts through the API: sales go on during a count and are accounted for; variances over
the threshold wait for a recount or a manager and are applied once."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from helpers.history import activity_types
from helpers.stock import assert_ledger_balanced, ledger_sum
from helpers.transfers import with_key
from helpers.webstore import level, new_product
from sqlalchemy import select
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import CancelledError

from contracts.count import count_workflow_id
from db.models import StockMovement
from db.session import Database


async def _start(ops: httpx.AsyncClient, who: dict[str, str], skus: list[str]) -> dict[str, Any]:
    r = await ops.post(
        "/stock/counts", json={"location": "BER", "skus": skus}, headers=with_key(who)
    )
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


async def _enter(
    ops: httpx.AsyncClient, who: dict[str, str], cid: str, entries: list[dict[str, Any]]
) -> httpx.Response:
    return await ops.post(
        f"/stock/counts/{cid}/lines", json={"entries": entries}, headers=with_key(who)
    )


async def _sell(api: httpx.AsyncClient, cashier: dict[str, str], sku: str, qty: int) -> None:
    """A real sale at till BER1 (the in-process sale worker of the suite's API)."""
    r = await api.post(
        "/tills/BER1/sales",
        json={
            "client_sale_id": uuid.uuid4().hex,
            "lines": [{"sku": sku, "quantity": qty}],
            "tenders": [{"kind": "cash", "amount": 100_000}],
        },
        headers=cashier,
    )
    assert r.status_code == 200 and r.json()["status"] == "completed", r.text


def _count_moves(db: Database, cid: str) -> list[tuple[str, int, str]]:
    with db.unit_of_work() as s:
        rows = s.scalars(
            select(StockMovement).where(StockMovement.reference == cid).order_by(StockMovement.id)
        ).all()
        return [(m.sku, m.delta, m.reason) for m in rows]


async def test_a_count_with_sales_during_it(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    ops: httpx.AsyncClient, db: Database, mia, carl, api, cashier
) -> None:
    sku = new_product(db, {"BER": 10})
    count = await _start(ops, mia, [sku])
    cid = count["count_id"]
    assert count["status"] == "counting"
    assert count["lines"][0]["snapshot_on_hand"] == 10 and count["lines"][0]["counted"] is None

    await _sell(api, cashier, sku, 2)  # sold while the count runs, before the shelf is counted
    # Counted in two bins; bin B re-counted (the latest entry of a bin replaces the earlier one).
    r = await _enter(
        ops,
        carl,
        cid,
        [{"sku": sku, "quantity": 5, "bin": "A"}, {"sku": sku, "quantity": 1, "bin": "B"}],
    )
    assert r.status_code == 200, r.text
    r = await _enter(ops, carl, cid, [{"sku": sku, "quantity": 2, "bin": "B"}])
    line = r.json()["lines"][0]
    # One unit missing: the 2 sold before the count are not a variance.
    assert (line["counted"], line["expected"], line["variance"]) == (7, 8, -1)

    await _sell(api, cashier, sku, 1)  # sold after the shelf was counted: not in the count either
    assert level(db, "BER", sku).on_hand == 7
    r = await ops.post(f"/stock/counts/{cid}/submit", headers=with_key(mia))
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "applied" and done["lines"][0]["applied_delta"] == -1
    # The correction lands on top of the later sale: 10 - 2 - 1 sold - 1 missing.
    assert level(db, "BER", sku).on_hand == 6
    assert _count_moves(db, cid) == [(sku, -1, "count")]
    assert ledger_sum(db, "BER", sku) == 6
    assert_ledger_balanced(db)
    # Applied once: the count is closed.
    again = await ops.post(f"/stock/counts/{cid}/submit", headers=with_key(mia))
    assert again.status_code == 409, again.text
    assert _count_moves(db, cid) == [(sku, -1, "count")]


async def test_a_variance_over_the_threshold_waits_for_a_manager_then_applies_once(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    ops: httpx.AsyncClient, db: Database, mia, carl, lis_manager
) -> None:
    small, big = new_product(db, {"BER": 10}), new_product(db, {"BER": 10})
    cid = (await _start(ops, mia, [small, big]))["count_id"]
    await _enter(ops, carl, cid, [{"sku": small, "quantity": 9}, {"sku": big, "quantity": 4}])
    r = await ops.post(f"/stock/counts/{cid}/submit", headers=with_key(mia))
    assert r.status_code == 200, r.text
    review = r.json()
    assert review["status"] == "review" and review["review_skus"] == [big]
    assert {ln["sku"]: ln["needs_review"] for ln in review["lines"]} == {small: False, big: True}
    assert _count_moves(db, cid) == []  # nothing moves while it waits
    got = (await ops.get(f"/stock/counts/{cid}", headers=carl)).json()
    assert got["status"] == "review" and got["review_skus"] == [big]

    # A cashier cannot approve; a manager of another store cannot either.
    denied = await ops.post(f"/stock/counts/{cid}/approve", json={}, headers=with_key(carl))
    assert denied.status_code == 403
    assert (
        await ops.post(f"/stock/counts/{cid}/approve", json={}, headers=with_key(lis_manager))
    ).status_code in (403, 404)

    r = await ops.post(
        f"/stock/counts/{cid}/approve",
        json={"decision": "approve", "note": "seen it"},
        headers=with_key(mia),
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "applied"
    assert (level(db, "BER", small).on_hand, level(db, "BER", big).on_hand) == (9, 4)
    moves = sorted(_count_moves(db, cid))
    assert moves == sorted([(small, -1, "count"), (big, -6, "count")])
    twice = await ops.post(f"/stock/counts/{cid}/approve", json={}, headers=with_key(mia))
    assert twice.status_code == 409, twice.text
    assert sorted(_count_moves(db, cid)) == moves
    assert_ledger_balanced(db)


async def test_a_recount_that_confirms_the_first_count_applies_it(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    ops: httpx.AsyncClient, db: Database, mia, finn
) -> None:
    sku = new_product(db, {"BER": 3})
    cid = (await _start(ops, mia, [sku]))["count_id"]
    await _enter(ops, finn, cid, [{"sku": sku, "quantity": 12}])
    r = await ops.post(f"/stock/counts/{cid}/submit", headers=with_key(mia))
    assert r.json()["status"] == "review", r.text
    recount = await _enter(ops, finn, cid, [{"sku": sku, "quantity": 12}])
    assert recount.json()["lines"][0]["round"] == 2
    r = await ops.post(f"/stock/counts/{cid}/submit", headers=with_key(mia))
    assert r.status_code == 200 and r.json()["status"] == "applied", r.text
    assert level(db, "BER", sku).on_hand == 12
    assert _count_moves(db, cid) == [(sku, 9, "count")]


async def test_bad_count_input_is_a_clear_4xx(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    ops: httpx.AsyncClient, db: Database, mia, carl, luis, temporal_client: Client
) -> None:
    sku, other = new_product(db, {"BER": 2}), new_product(db, {"BER": 2})
    bad = await ops.post(
        "/stock/counts", json={"location": "BER", "skus": ["NO-SUCH-SKU"]}, headers=with_key(mia)
    )
    assert bad.status_code == 404 and bad.json()["error"]["code"] == "unknown_sku"
    assert (
        await ops.post("/stock/counts", json={"location": "BER", "skus": []}, headers=with_key(mia))
    ).status_code == 422
    assert (
        await ops.post(
            "/stock/counts", json={"location": "BER", "skus": [sku]}, headers=with_key(carl)
        )
    ).status_code == 403
    cid = (await _start(ops, mia, [sku]))["count_id"]
    wrong = await _enter(ops, carl, cid, [{"sku": other, "quantity": 1}])
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "not_in_count"
    assert (await _enter(ops, carl, cid, [{"sku": sku, "quantity": -1}])).status_code == 422
    early = await ops.post(f"/stock/counts/{cid}/submit", headers=with_key(mia))
    assert early.status_code == 422 and early.json()["error"]["code"] == "uncounted"
    assert (await ops.get(f"/stock/counts/{cid}", headers=luis)).status_code == 404
    assert (await _enter(ops, luis, cid, [{"sku": sku, "quantity": 1}])).status_code == 404
    r = await ops.post(
        f"/stock/counts/{cid}/cancel", json={"reason": "wrong list"}, headers=with_key(mia)
    )
    assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
    assert _count_moves(db, cid) == [] and level(db, "BER", sku).on_hand == 2

    # Abandoned (cancelled in Temporal): the Saga's one compensation closes the record.
    gone = (await _start(ops, mia, [sku]))["count_id"]
    handle = temporal_client.get_workflow_handle(count_workflow_id("BER", gone))
    await handle.cancel()
    with pytest.raises(WorkflowFailureError) as closed:
        await asyncio.wait_for(handle.result(), timeout=30)
    assert isinstance(closed.value.cause, CancelledError)
    assert activity_types(await handle.fetch_history()) == ["count.snapshot", "count.close"]
    view = await ops.get(f"/stock/counts/{gone}", headers=mia)
    assert view.status_code == 200 and view.json()["status"] == "cancelled", view.text
    assert _count_moves(db, gone) == [] and level(db, "BER", sku).on_hand == 2
