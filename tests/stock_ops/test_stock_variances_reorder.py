"""Offline variances resolved both ways; reorder suggestions from a known velocity and a min/max
override; the reorder run drafting purchase orders (never sending them) and its schedule."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from helpers.stock import assert_ledger_balanced, location_id, on_hand
from sqlalchemy import select

from contracts.stock import ReorderRequest, run_reorder, start_reorder_schedule
from db.models import StockMovement
from db.models_counts import StockCount, StockCountLine
from db.models_tills import StockVariance
from db.repositories import stock


def _move(kit: Any, sku: str, delta: int, reason: str, days_ago: float) -> None:
    with kit.db.unit_of_work() as s:
        stock.apply_movements(
            s,
            location_id(kit.db, "BER"),
            [stock.Movement(sku, delta, reason, "test", f"test:{uuid.uuid4().hex}")],
            workflow_id=None,
            occurred_at=datetime.now(UTC) - timedelta(days=days_ago),
        )


def _variance(kit: Any, sku: str, sold: int, before: int) -> int:
    """What OfflineReplay leaves when an offline sale took more than the books had."""
    _move(kit, sku, -sold, "sale", 0)
    with kit.db.unit_of_work() as s:
        v = StockVariance(
            location_id=location_id(kit.db, "BER"),
            sku=sku,
            till_id=None,
            workflow_id=f"sale:BER1:{uuid.uuid4().hex}",
            order_number=f"S-{uuid.uuid4().hex[:6]}",
            line_no=1,
            quantity_sold=sold,
            on_hand_before=before,
            quantity_short=sold - max(before, 0),
            reason="offline_sale_short",
            status="open",
            sold_at=datetime.now(UTC),
        )
        s.add(v)
        s.flush()
        return v.id


def _count(kit: Any, sku: str, status: str, location: str = "BER") -> str:
    """A count of `sku` as the Count workflow leaves it (see tests/transfers_counts for one run)."""
    code = f"CT-{uuid.uuid4().hex[:10].upper()}"
    with kit.db.unit_of_work() as s:
        c = StockCount(
            code=code,
            workflow_id=f"count:{location}:{code}",
            location_id=location_id(kit.db, location),
            status=status,
            snapshot_movement_id=0,
            started_at=datetime.now(UTC),
        )
        s.add(c)
        s.flush()
        s.add(StockCountLine(count_id=c.id, sku=sku, snapshot_on_hand=0, counted=0, expected=0))
    return code


async def test_variance_accepted_as_a_loss_or_matched_to_a_count(kit: Any) -> None:
    sku = kit.sku(cost=300)
    kit.stock("BER", sku, 1)
    loss = _variance(kit, sku, 3, 1)  # books now say -2
    counted = _variance(kit, sku, 1, -2)
    listed = await kit.api.get("/stock/variances?location=BER", headers=kit.staff.manager)
    assert {loss, counted} <= {v["id"] for v in listed.json()}

    async def resolve(vid: int, body: dict[str, Any], who: dict[str, str]) -> Any:
        return await kit.api.post(
            f"/stock/variances/{vid}/resolve", json=body, headers={**who, **kit.key()}
        )

    assert (await resolve(loss, {"resolution": "loss"}, kit.staff.cashier)).status_code == 403
    assert (await resolve(loss, {"resolution": "loss"}, kit.staff.lisbon)).status_code == 403
    r = await resolve(
        loss, {"resolution": "loss", "note": "shelf was restocked unbooked"}, kit.staff.manager
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["loss_quantity"], r.json()["loss_value"]) == (
        "resolved",
        2,
        600,
    )
    assert on_hand(kit.db, "BER", sku) == -1  # -3 +2, then the second sale's -1
    # Only an applied count of this SKU at this store settles it.
    for count_id, status in (
        ("CT-NOSUCH", 404),
        (_count(kit, sku, "counting"), 409),
        (_count(kit, kit.sku(cost=1), "applied"), 409),
        (_count(kit, sku, "applied", location="LIS"), 404),
    ):
        refused = await resolve(
            counted, {"resolution": "count", "count_id": count_id}, kit.staff.manager
        )
        assert refused.status_code == status, (count_id, refused.text)
    applied = _count(kit, sku, "applied")
    c = await resolve(counted, {"resolution": "count", "count_id": applied}, kit.staff.manager)
    assert c.status_code == 200, c.text
    assert (c.json()["resolution"], c.json()["count_id"], c.json()["loss_quantity"]) == (
        "count",
        applied,
        0,
    )
    with kit.db.unit_of_work() as s:
        reasons = list(
            s.scalars(
                select(StockMovement.reason).where(
                    StockMovement.sku == sku, StockMovement.reason == "variance_loss"
                )
            )
        )
    assert reasons == ["variance_loss"]  # one movement: the count one moved nothing
    again = await resolve(loss, {"resolution": "count", "count_id": applied}, kit.staff.manager)
    assert again.status_code == 409
    no_count = await resolve(counted, {"resolution": "count"}, kit.staff.manager)
    assert no_count.status_code == 422
    missing = await resolve(2**40, {"resolution": "loss"}, kit.staff.manager)
    assert missing.status_code == 404
    assert_ledger_balanced(kit.db)


async def _supplier(kit: Any, items: list[tuple[str, int, int]], lead: int) -> str:
    code = f"SUP-{uuid.uuid4().hex[:6]}"
    r = await kit.api.post(
        "/purchasing/suppliers",
        json={"code": code, "name": "Reorder Co", "currency": "EUR", "lead_time_days": lead},
        headers={**kit.staff.manager, **kit.key()},
    )
    assert r.status_code == 201, r.text
    for sku, cost, pack in items:
        r = await kit.api.put(
            f"/purchasing/suppliers/{code}/items/{sku}",
            json={"unit_cost": cost, "pack_size": pack, "preferred": True},
            headers={**kit.staff.manager, **kit.key()},
        )
        assert r.status_code == 200, r.text
    return code


async def test_reorder_suggestions_and_the_drafting_run(kit: Any, temporal_client: Any) -> None:
    fast, minmax = kit.sku(), kit.sku()
    supplier = await _supplier(kit, [(fast, 250, 6), (minmax, 100, 6)], lead=4)
    kit.stock("BER", fast, 133)
    _move(kit, fast, -100, "sale", 40)  # before the 28-day window: does not count
    _move(kit, fast, -14, "sale", 3)  # at a till
    _move(kit, fast, -14, "online_order", 10)  # online: 28 in 28 days = 1 a day
    kit.stock("BER", minmax, 8)
    for sku, body in (
        (fast, {"safety_stock": 2}),
        (minmax, {"safety_stock": 0, "reorder_min": 10, "reorder_max": 30}),
    ):
        r = await kit.api.put(
            f"/stock/reorder-points/BER/{sku}",
            json=body,
            headers={**kit.staff.manager, **kit.key()},
        )
        assert r.status_code == 200, r.text

    r = await kit.api.get(
        f"/stock/reorder-suggestions?location=BER&supplier={supplier}", headers=kit.staff.manager
    )
    assert r.status_code == 200, r.text
    got = {sg["sku"]: sg for sg in r.json()}
    f = got[fast]
    # 1/day x 4 days lead + 2 safety = 6; position 5; up to 6 + 14 days = 20 -> 15 -> 3 packs
    assert (f["units_sold"], f["velocity_per_day"], f["reorder_point"], f["position"]) == (
        28,
        1.0,
        6,
        5,
    )
    assert (f["order_up_to"], f["suggested_quantity"], f["source"]) == (20, 18, "velocity")
    m = got[minmax]
    assert (m["source"], m["reorder_point"], m["order_up_to"], m["suggested_quantity"]) == (
        "min_max",
        10,
        30,
        24,
    )
    cashier = await kit.api.get(
        "/stock/reorder-suggestions?location=BER", headers=kit.staff.cashier
    )
    assert cashier.status_code == 403
    other = await kit.api.get("/stock/reorder-suggestions?location=BER", headers=kit.staff.lisbon)
    assert other.status_code == 403

    run = f"reorder:test-{uuid.uuid4().hex[:8]}"
    result = await run_reorder(
        temporal_client,
        ReorderRequest(location_codes=("BER",)),
        workflow_id=run,
        task_queue=kit.queue,
    )
    orders = await kit.api.get(
        f"/purchasing/orders?location=BER&supplier={supplier}", headers=kit.staff.manager
    )
    mine = [po for po in orders.json() if po["number"] in result.drafted]
    assert len(mine) == 1
    po = mine[0]
    assert (po["status"], po["source"], po["sent_at"]) == ("draft", "reorder", None)
    assert sorted(
        (ln["sku"], ln["quantity_ordered"], ln["unit_cost"]) for ln in po["lines"]
    ) == sorted([(fast, 18, 250), (minmax, 24, 100)])
    # What is on order now counts: nothing more is suggested for these SKUs.
    after = await kit.api.get(
        f"/stock/reorder-suggestions?location=BER&supplier={supplier}", headers=kit.staff.manager
    )
    assert after.json() == []

    schedule_id = f"stock-reorder-test-{uuid.uuid4().hex[:8]}"
    await start_reorder_schedule(
        temporal_client,
        ReorderRequest(),
        cron="0 5 * * *",
        task_queue=kit.queue,
        schedule_id=schedule_id,
    )
    handle = temporal_client.get_schedule_handle(schedule_id)
    try:
        described = await handle.describe()
        spec = described.schedule.spec  # the server keeps a cron as calendar entries
        assert spec.cron_expressions == ["0 5 * * *"] or spec.calendars[0].hour[0].start == 5
        assert described.schedule.action.workflow == "ReorderDraft"
    finally:
        await handle.delete()
