"""Adjustments with reason codes and manager approval above a threshold; quarantine release and
write-off through the same workflow."""

from __future__ import annotations

from typing import Any

from helpers.stock import assert_ledger_balanced, location_id, on_hand
from helpers.webstore import eventually
from sqlalchemy import select

from db.models import StockLevel, StockMovement


def _reasons(kit: Any, sku: str) -> list[tuple[str, int, str]]:
    with kit.db.unit_of_work() as s:
        rows = s.execute(
            select(StockMovement.reason, StockMovement.delta, StockMovement.bucket)
            .where(StockMovement.sku == sku, StockMovement.reason != "opening_balance")
            .order_by(StockMovement.id)
        ).all()
    return [tuple(r) for r in rows]


async def _adjust(kit: Any, who: dict[str, str], reason: str, sku: str, delta: int) -> Any:
    return await kit.api.post(
        "/stock/adjustments",
        json={"location": "BER", "reason": reason, "lines": [{"sku": sku, "delta": delta}]},
        headers={**who, **kit.key()},
    )


async def test_small_adjustment_applies_at_once(kit: Any) -> None:
    sku = kit.sku(cost=100)
    kit.stock("BER", sku, 20)
    r = await _adjust(kit, kit.staff.manager, "damage", sku, -3)
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "applied" and r.json()["reason"] == "damage"
    found = await _adjust(kit, kit.staff.manager, "found", sku, 1)
    assert found.status_code == 201, found.text
    assert on_hand(kit.db, "BER", sku) == 18
    assert _reasons(kit, sku) == [
        ("adjustment:damage", -3, "sellable"),
        ("adjustment:found", 1, "sellable"),
    ]
    assert_ledger_balanced(kit.db)


async def test_large_adjustment_waits_for_a_manager(kit: Any) -> None:
    sku = kit.sku(cost=100)
    kit.stock("BER", sku, 50)
    r = await _adjust(kit, kit.staff.manager, "theft", sku, -12)  # over the 10-unit threshold
    assert r.status_code == 202, r.text
    held = r.json()
    assert held["status"] == "awaiting_approval" and held["approval_reasons"]
    assert on_hand(kit.db, "BER", sku) == 50
    adj = held["adjustment_id"]

    cashier = await kit.api.post(
        f"/stock/adjustments/{adj}/approve", json={}, headers=kit.staff.cashier
    )
    assert cashier.status_code == 403
    other_store = await kit.api.post(
        f"/stock/adjustments/{adj}/approve", json={}, headers=kit.staff.lisbon
    )
    assert other_store.status_code == 403
    own = await kit.api.post(
        f"/stock/adjustments/{adj}/approve", json={}, headers=kit.staff.manager
    )
    assert own.status_code == 403  # whoever asked does not approve their own
    ok = await kit.api.post(
        f"/stock/adjustments/{adj}/approve",
        json={"note": "CCTV confirms"},
        headers={**kit.staff.approver, **kit.key()},
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["status"] == "applied" and ok.json()["decision_note"] == "CCTV confirms"
    assert on_hand(kit.db, "BER", sku) == 38
    assert _reasons(kit, sku) == [("adjustment:theft", -12, "sellable")]
    twice = await kit.api.post(
        f"/stock/adjustments/{adj}/approve", json={}, headers=kit.staff.approver
    )
    assert twice.status_code == 409
    assert_ledger_balanced(kit.db)


async def test_rejected_adjustment_changes_nothing(kit: Any) -> None:
    sku = kit.sku(cost=60_000)  # 2 units are worth 1,200.00: over the value threshold
    kit.stock("BER", sku, 5)
    r = await _adjust(kit, kit.staff.manager, "correction", sku, -2)
    assert r.status_code == 202, r.text
    adj = r.json()["adjustment_id"]
    no = await kit.api.post(
        f"/stock/adjustments/{adj}/reject",
        json={"note": "count it first"},
        headers={**kit.staff.admin, **kit.key()},
    )
    assert no.status_code == 200, no.text
    assert no.json()["status"] == "rejected"
    assert on_hand(kit.db, "BER", sku) == 5
    assert _reasons(kit, sku) == []
    listed = await kit.api.get(
        "/stock/adjustments?location=BER&status=rejected", headers=kit.staff.manager
    )
    assert adj in [a["adjustment_id"] for a in listed.json()]


async def test_nobody_deciding_rejects(kit: Any) -> None:
    from contracts.stock import AdjustmentLineIn, AdjustmentRequest, submit_adjustment

    sku = kit.sku()
    kit.stock("BER", sku, 30)
    state = await submit_adjustment(
        kit.api._transport.app.state.temporal,
        AdjustmentRequest(
            adjustment_id=f"T-{sku}",
            location_id=location_id(kit.db, "BER"),
            location_code="BER",
            kind="adjustment",
            reason="found",
            lines=(AdjustmentLineIn(sku=sku, delta=25),),
            requested_by=None,
            threshold_units=10,
            threshold_value=0,
            approval_timeout_s=1,
        ),
        task_queue=kit.queue,
    )
    assert state.status == "awaiting_approval"

    async def rejected() -> bool:
        r = await kit.api.get(f"/stock/adjustments/T-{sku}", headers=kit.staff.manager)
        return bool(r.json()["status"] == "rejected")

    await eventually(rejected)
    assert on_hand(kit.db, "BER", sku) == 30


async def test_bad_adjustments_are_refused(kit: Any) -> None:
    sku = kit.sku()
    kit.stock("BER", sku, 2)
    wrong_way = await _adjust(kit, kit.staff.manager, "damage", sku, 2)
    assert wrong_way.status_code == 422 and wrong_way.json()["error"]["code"] == "wrong_direction"
    too_many = await _adjust(kit, kit.staff.manager, "theft", sku, -3)
    assert too_many.status_code == 409, too_many.text
    unknown = await _adjust(kit, kit.staff.manager, "found", "NO-SUCH-SKU", 1)
    assert unknown.status_code == 404
    bad_reason = await _adjust(kit, kit.staff.manager, "gift", sku, 1)
    assert bad_reason.status_code == 422
    cashier = await _adjust(kit, kit.staff.cashier, "found", sku, 1)
    assert cashier.status_code == 403
    assert on_hand(kit.db, "BER", sku) == 2


async def test_quarantine_release_and_write_off(kit: Any) -> None:
    sku = kit.sku(cost=100)
    kit.stock("BER", sku, 4)
    kit.stock("BER", sku, 5, bucket="quarantine")

    def post(path: str, quantity: int) -> Any:
        return kit.api.post(
            f"/stock/quarantine/{path}",
            json={"location": "BER", "lines": [{"sku": sku, "quantity": quantity}]},
            headers={**kit.staff.manager, **kit.key()},
        )

    released = await post("release", 3)
    assert released.status_code == 201, released.text
    assert released.json()["kind"] == "quarantine_release"
    written = await post("write-off", 2)
    assert written.status_code == 201, written.text
    more = await post("write-off", 1)  # nothing left in quarantine
    assert more.status_code == 409 and more.json()["error"]["code"] == "not_in_quarantine"
    with kit.db.unit_of_work() as s:
        level = s.scalar(
            select(StockLevel).where(
                StockLevel.location_id == location_id(kit.db, "BER"), StockLevel.sku == sku
            )
        )
        assert level is not None and (level.on_hand, level.quarantined) == (7, 0)
    assert _reasons(kit, sku) == [
        ("quarantine_release", -3, "quarantine"),
        ("quarantine_release", 3, "sellable"),
        ("write_off", -2, "quarantine"),
    ]
    assert_ledger_balanced(kit.db)
