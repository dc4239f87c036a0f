"""POST /tills/{till}/journal and the OfflineReplay workflow: each offline sale applies exactly
once, however often, in whatever order and however cut off its upload is."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from helpers.stock import assert_ledger_balanced, on_hand
from helpers.tills import login, wait_until
from sqlalchemy import func, select
from temporalio.client import WorkflowExecutionStatus

from contracts.sale import sale_workflow_id
from db.models import Order, StockMovement

# The catalogue's prices (a journal's prices are checked against them, never taken as they are).
PRICES = {"CHOC-DARK": 390, "CHOC-MILK": 350, "CARD-GREETING": 350}


def entries(n: int, *, tag: str, start: datetime | None = None) -> list[dict[str, Any]]:
    """n offline cash sales as the till journals them, a second apart, just before the upload:
    inside the till's offline window (no earlier than its last contact before going quiet)."""
    start = start or datetime.now(UTC) - timedelta(seconds=n + 5)
    out = []
    for i in range(n):
        sku = list(PRICES)[i % len(PRICES)]
        qty = 1 + i % 2
        total = PRICES[sku] * qty
        out.append(
            {
                "client_sale_id": f"{tag}-{uuid.uuid4().hex[:8]}-{i}",
                "sold_at": (start + timedelta(seconds=i)).isoformat(),
                "cashier": "cora",
                "lines": [{"sku": sku, "quantity": qty, "unit_price": PRICES[sku]}],
                "tenders": [{"kind": "cash", "amount": total, "tendered": total + 10}],
                "total": total,
                "change_due": 10,
            }
        )
    return out


def stock_of(db) -> dict[str, int]:  # type: ignore[no-untyped-def]  # takes untyped fixture values
    return {sku: on_hand(db, "BER", sku) for sku in PRICES}


def expected_drop(sent: list[dict[str, Any]]) -> Counter[str]:
    drop: Counter[str] = Counter()
    for e in sent:
        for ln in e["lines"]:
            drop[ln["sku"]] += ln["quantity"]
    return drop


def assert_applied_once(db, sent: list[dict[str, Any]]) -> None:  # type: ignore[no-untyped-def]  # takes untyped fixture values
    ids = [sale_workflow_id("BER2", e["client_sale_id"]) for e in sent]
    with db.unit_of_work() as s:
        orders = s.scalars(select(Order).where(Order.workflow_id.in_(ids))).all()
        assert sorted(o.workflow_id for o in orders) == sorted(ids)  # one order each
        by_id = {e["client_sale_id"]: e for e in sent}
        for o in orders:
            assert o.placed_at == datetime.fromisoformat(
                by_id[o.workflow_id.split(":", 2)[2]]["sold_at"]
            )
        moves = Counter(
            s.scalars(select(StockMovement.workflow_id).where(StockMovement.workflow_id.in_(ids)))
        )
        assert set(moves.values()) == {1}  # each line taken off stock once


async def test_same_journal_uploaded_twice_shuffled_applies_each_sale_once(api, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    auth = await login(api, "BER2", "1002", "2345")
    before = stock_of(db)
    sent = entries(12, tag="twice")
    shuffled = random.Random(7).sample(sent, len(sent))
    # Two uploads of the same sales at once, under different batch ids and in another order.
    first, second = await asyncio.gather(
        api.post(
            "/tills/BER2/journal", json={"batch_id": "twice-a", "entries": sent}, headers=auth
        ),
        api.post(
            "/tills/BER2/journal", json={"batch_id": "twice-b", "entries": shuffled}, headers=auth
        ),
    )
    assert first.status_code in (200, 202) and second.status_code in (200, 202), (
        first.text,
        second.text,
    )
    # ...and once more after both finished: the answer names the same central sales.
    await wait_until(lambda: _all_applied(db, sent), 60, "both uploads to apply")
    third = await api.post(
        "/tills/BER2/journal",
        json={"batch_id": "twice-a", "entries": random.Random(8).sample(sent, 12)},
        headers=auth,
    )
    assert third.status_code == 200, third.text
    answer = third.json()
    assert answer["complete"] and {e["status"] for e in answer["entries"]} == {"applied"}
    numbers = {e["client_sale_id"]: e["sale_id"] for e in answer["entries"]}
    assert all(n.startswith("BER2-") for n in numbers.values()) and len(set(numbers.values())) == 12
    assert_applied_once(db, sent)
    drop = expected_drop(sent)
    assert stock_of(db) == {sku: before[sku] - drop[sku] for sku in PRICES}
    assert_ledger_balanced(db)


def _all_applied(db, sent: list[dict[str, Any]]) -> bool:  # type: ignore[no-untyped-def]  # takes untyped fixture values
    ids = [sale_workflow_id("BER2", e["client_sale_id"]) for e in sent]
    with db.unit_of_work() as s:
        return s.scalar(
            select(func.count()).select_from(Order).where(Order.workflow_id.in_(ids))
        ) == len(ids)


def _applied_count(db, sent: list[dict[str, Any]]) -> int:  # type: ignore[no-untyped-def]  # takes untyped fixture values
    ids = [sale_workflow_id("BER2", e["client_sale_id"]) for e in sent]
    with db.unit_of_work() as s:
        return int(
            s.scalar(select(func.count()).select_from(Order).where(Order.workflow_id.in_(ids))) or 0
        )


async def test_cut_off_upload_resumed_applies_each_sale_once(api, db, temporal_client) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    auth = await login(api, "BER2", "1002", "2345")
    before = stock_of(db)
    sent = entries(20, tag="cut")
    # The till sends the batch and the line drops before the answer (wait=0: no answer waited
    # for)...
    r = await api.post(
        "/tills/BER2/journal",
        params={"wait": 0},
        json={"batch_id": "cut-1", "entries": sent},
        headers=auth,
    )
    assert r.status_code == 202 and not r.json()["complete"], r.text
    # ...and the replay itself is cut off halfway: as soon as the first sales are in, it is killed.
    await wait_until(lambda: _applied_count(db, sent) >= 1, 30, "the first replayed sale")
    handle = temporal_client.get_workflow_handle(r.json()["workflow_id"])
    await handle.terminate("the store's link dropped mid-upload")
    assert (await handle.describe()).status == WorkflowExecutionStatus.TERMINATED
    await asyncio.sleep(1)  # sales already started finish on their own (never half a sale)
    applied_before = _applied_count(db, sent)
    assert 1 <= applied_before < len(sent)

    # The till resumes: all 20 again, in another order, as a new batch.
    again = await api.post(
        "/tills/BER2/journal", json={"batch_id": "cut-2", "entries": sent[::-1]}, headers=auth
    )
    assert again.status_code == 200, again.text
    assert {e["status"] for e in again.json()["entries"]} == {"applied"}
    assert_applied_once(db, sent)
    drop = expected_drop(sent)
    assert stock_of(db) == {sku: before[sku] - drop[sku] for sku in PRICES}
    assert_ledger_balanced(db)


async def test_bad_uploads_are_4xx_with_a_message_and_store_nothing(api, db, cashier) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    auth = await login(api, "BER2", "1002", "2345")
    good = entries(1, tag="bad")[0]
    card = {
        "kind": "card",
        "amount": good["total"],
        "reference": "tok_1",
        "brand": "VISA",
        "last4": "4242",
    }
    bad_bodies = [
        ({"batch_id": "b", "entries": []}, "entries"),
        ({"batch_id": "b c", "entries": [good]}, "batch_id"),
        ({"batch_id": "b", "entries": [good, good]}, "appears twice"),
        ({"batch_id": "b", "entries": [{**good, "sold_at": "2026-01-01T10:00:00"}]}, "timezone"),
        (
            {
                "batch_id": "b",
                "entries": [
                    {**good, "sold_at": (datetime.now(UTC) + timedelta(days=1)).isoformat()}
                ],
            },
            "future",
        ),
        (
            {"batch_id": "b", "entries": [{**good, "tenders": [{**card, "reference": ""}]}]},
            "reference",
        ),
        (
            {
                "batch_id": "b",
                "entries": [{**good, "tenders": [{**card, "reference": "4242424242424242"}]}],
            },
            "card number",
        ),
        (
            {
                "batch_id": "b",
                "entries": [{**good, "tenders": [{"kind": "gift_card", "amount": 1}]}],
            },
            "kind",
        ),
        (
            {
                "batch_id": "b",
                "entries": [{**good, "lines": [{"sku": "X", "quantity": 0, "unit_price": 1}]}],
            },
            "quantity",
        ),
    ]
    for body, word in bad_bodies:
        r = await api.post("/tills/BER2/journal", json=body, headers=auth)
        assert r.status_code == 422, (body, r.text)
        assert word in r.json()["error"]["message"], r.json()
    r = await api.post(
        "/tills/BER2/journal",
        content=b"{oops",
        headers={**auth, "content-type": "application/json"},
    )
    assert r.status_code == 422
    # Another till's cashier, and no sign-in at all.
    assert (
        await api.post(
            "/tills/BER2/journal", json={"batch_id": "b", "entries": [good]}, headers=cashier
        )
    ).status_code == 403
    assert (
        await api.post("/tills/BER2/journal", json={"batch_id": "b", "entries": [good]})
    ).status_code == 401
    assert (
        await api.post(
            "/tills/NOPE/journal", json={"batch_id": "b", "entries": [good]}, headers=auth
        )
    ).status_code == 404
    assert not _all_applied(db, [good])


async def test_a_sale_that_cannot_apply_is_flagged_for_a_manager_not_dropped(api, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    auth = await login(api, "BER2", "1002", "2345")
    gone = entries(1, tag="gone")[0]
    gone["lines"] = [{"sku": "NO-LONGER-SOLD", "quantity": 1, "unit_price": 500}]
    r = await api.post(
        "/tills/BER2/journal", json={"batch_id": "gone-1", "entries": [gone]}, headers=auth
    )
    assert r.status_code == 200, r.text
    [entry] = r.json()["entries"]
    assert entry["status"] == "flagged" and "NO-LONGER-SOLD" in entry["message"]
    manager = await login(api, "BER1", "9001", "9001")
    flagged = (await api.get("/stores/BER/offline-sales/flagged", headers=manager)).json()
    mine = [f for f in flagged if f["client_sale_id"] == gone["client_sale_id"]]
    assert (
        mine
        and mine[0]["entry"]["lines"][0]["sku"] == "NO-LONGER-SOLD"
        and mine[0]["till"] == "BER2"
    )


async def test_catalog_snapshot_has_what_the_till_prices_with(api) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    auth = await login(api, "BER2", "1002", "2345")
    r = await api.get("/tills/BER2/catalog", headers=auth)
    assert r.status_code == 200, r.text
    snap = r.json()
    assert (
        snap["store"]["code"] == "BER" and snap["currency"] == "EUR" and snap["prices_include_tax"]
    )
    assert snap["tax_rates"]["standard"] == 1900 and snap["tax_rates"]["reduced"] == 700
    mug = next(i for i in snap["items"] if i["sku"] == "MUG-ENAMEL")
    assert mug["unit_price"] == 1290 and mug["barcodes"]
    assert snap["offline_card"]["enabled"] in (True, False)
    assert (await api.get("/tills/BER2/catalog")).status_code == 401
