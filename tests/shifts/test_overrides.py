"""The day at a till with a manager's say: selling needs an open shift where the store asks for
one, discounts within and above the cashier's limit (approved with the manager's PIN at the
cashier's till, or refused with a wrong one), a void, a cash refund, and a Z report that counts
all of it against the drawer."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from helpers.api import password_login, till_login
from helpers.webstore import eventually
from sqlalchemy import select, update

from db.models import AuditEntry, Customer, Location, Order
from db.session import Database

FLOAT = [{"denomination": 2000, "quantity": 5}, {"denomination": 100, "quantity": 50}]  # 150.00
MANAGER = {"staff_code": "9001", "pin": "9001"}


def key(h: dict[str, str]) -> dict[str, str]:
    return {**h, "Idempotency-Key": uuid.uuid4().hex}


@contextmanager
def shifts_required_at_ber(db: Database) -> Iterator[None]:
    """BER sells only in shifts for the test (the suite's seed leaves it off for other tests)."""
    with db.unit_of_work() as s:
        s.execute(update(Location).where(Location.code == "BER").values(shift_required=True))
    try:
        yield
    finally:
        with db.unit_of_work() as s:
            s.execute(update(Location).where(Location.code == "BER").values(shift_required=False))


def sale_body(lines: list[dict[str, Any]], tenders: list[dict[str, Any]], **more: Any) -> Any:
    return {"client_sale_id": uuid.uuid4().hex[:16], "lines": lines, "tenders": tenders, **more}


async def test_a_day_with_discounts_a_void_and_a_refund(api, shift_till, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    t, s = shift_till.code, shift_till.api
    carl = await till_login(s, t)
    with shifts_required_at_ber(db):
        # No shift yet: the till sells nothing, and says why.
        refused = await api.post(
            f"/tills/{t}/sales",
            json=sale_body(
                [{"sku": "NOTEBOOK-A5", "quantity": 1}], [{"kind": "cash", "amount": 2000}]
            ),
            headers=carl,
        )
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "no_open_shift"

        opened = await s.post(f"/tills/{t}/shifts", json={"float": FLOAT}, headers=key(carl))
        assert opened.status_code == 201, opened.text
        n = opened.json()["n"]

        # 1. A 10 % line discount is within the cashier's limit: sold at once.
        within = await api.post(
            f"/tills/{t}/sales",
            json=sale_body(
                [{"sku": "NOTEBOOK-A5", "quantity": 2}],  # 2 × 14.50
                [{"kind": "cash", "amount": 3000}],
                adjustments=[
                    {
                        "scope": "line",
                        "line": 1,
                        "kind": "percent",
                        "value": 1000,
                        "reason": "damaged",
                    }
                ],
            ),
            headers=carl,
        )
        assert within.status_code == 200, within.text
        w = within.json()
        assert (
            w["status"] == "completed" and w["total"] == 2610 and w["lines"][0]["discount"] == 290
        )
        assert w["change_due"] == 390 and w["approval_needed"] == []

        # 2. 30 % off the basket is over it: the sale waits, open, before any stock or money.
        body = sale_body(
            [{"sku": "MUG-ENAMEL", "quantity": 1}, {"sku": "TEA-GREEN", "quantity": 1}],
            [{"kind": "cash", "amount": 2000}],
            adjustments=[
                {"scope": "basket", "kind": "percent", "value": 3000, "reason": "price_match"}
            ],
        )
        held = await api.post(f"/tills/{t}/sales", json=body, headers=carl)
        assert held.status_code == 200, held.text
        h = held.json()
        assert h["status"] == "open" and h["approval_needed"] and h["tenders"] == []
        assert h["total"] == 1526  # (12.90 + 8.90) × 0.7, shared over both lines to the cent
        assert sum(ln["discount"] for ln in h["lines"]) == 654
        sid = body["client_sale_id"]
        # A wrong PIN is refused and the sale keeps waiting; the right one lets it through.
        wrong = await api.post(
            f"/tills/{t}/sales/{sid}/approve",
            json={"staff_code": "9001", "pin": "0000", "note": "match"},
            headers=carl,
        )
        assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "approval_refused"
        cashier = await api.post(
            f"/tills/{t}/sales/{sid}/approve",
            json={"staff_code": "1002", "pin": "2345", "note": "me"},
            headers=carl,
        )
        assert cashier.status_code == 403, "another cashier is not a manager"
        ok = await api.post(
            f"/tills/{t}/sales/{sid}/approve",
            json={**MANAGER, "note": "matched the shop next door"},
            headers=carl,
        )
        assert ok.status_code == 200, ok.text
        done = ok.json()
        assert done["status"] == "completed" and done["approved_by"] == "Mia Manager"
        assert done["change_due"] == 2000 - 1526
        again = await api.post(
            f"/tills/{t}/sales/{sid}/approve", json={**MANAGER, "note": "x"}, headers=carl
        )
        assert again.status_code == 404  # as for tenders: no open sale by that id any more

        # 3. A price override refused with a wrong PIN, then abandoned: nothing sold.
        body3 = sale_body(
            [{"sku": "MUG-ENAMEL", "quantity": 1}],
            [{"kind": "cash", "amount": 500}],
            adjustments=[
                {"scope": "line", "line": 1, "kind": "price", "value": 500, "reason": "wrong_price"}
            ],
        )
        held3 = await api.post(f"/tills/{t}/sales", json=body3, headers=carl)
        assert held3.json()["status"] == "open" and held3.json()["approval_needed"]
        bad = await api.post(
            f"/tills/{t}/sales/{body3['client_sale_id']}/approve",
            json={"staff_code": "9001", "pin": "1111"},
            headers=carl,
        )
        assert bad.status_code == 403
        gone = await api.post(f"/tills/{t}/sales/{body3['client_sale_id']}/abandon", headers=carl)
        assert gone.status_code == 200 and gone.json()["status"] == "abandoned", gone.text

        # 4. A cash sale voided (needs a manager by default), and a cash refund of a return.
        to_void = (
            await api.post(
                f"/tills/{t}/sales",
                json=sale_body(
                    [{"sku": "TEA-GREEN", "quantity": 2}], [{"kind": "cash", "amount": 2000}]
                ),
                headers=carl,
            )
        ).json()
        number = to_void["sale_id"]
        no_pin = await api.post(
            f"/tills/{t}/sales/{number}/void", json={"reason": "rung twice"}, headers=carl
        )
        assert no_pin.status_code == 403 and no_pin.json()["error"]["code"] == "approval_required"
        void = await api.post(
            f"/tills/{t}/sales/{number}/void",
            json={"reason": "rung twice", "manager": MANAGER},
            headers=carl,
        )
        assert void.status_code == 200, void.text
        assert void.json()["status"] == "completed" and void.json()["cash_out"] == 1780
        twice = await api.post(
            f"/tills/{t}/sales/{number}/void",
            json={"reason": "rung twice", "manager": MANAGER},
            headers=carl,
        )
        assert twice.status_code == 200 and twice.json()["return_id"] == void.json()["return_id"]
        ret = await api.post(
            f"/tills/{t}/returns",
            json={
                "return_id": f"R{uuid.uuid4().hex[:10]}",
                "sale_id": w["sale_id"],
                "lines": [{"line_no": 1, "quantity": 1, "disposition": "restock"}],
            },
            headers=carl,
        )
        assert ret.status_code == 200, ret.text
        assert ret.json()["cash_out"] == 1305  # half the discounted line

        # Every sale of the day belongs to the shift.
        with db.unit_of_work() as session:
            shift_ids = set(
                session.scalars(
                    select(Order.shift_id).where(
                        Order.number.in_([w["sale_id"], done["sale_id"], number])
                    )
                )
            )
        assert len(shift_ids) == 1 and None not in shift_ids

        # A card sale, a paid-out and a drop to the safe as well.
        card = await api.post(
            f"/tills/{t}/sales",
            json=sale_body(
                [{"sku": "NOTEBOOK-A5", "quantity": 1}],
                [{"kind": "card", "amount": 1450, "simulate": "pm_card_visa"}],
            ),
            headers=carl,
        )
        assert card.status_code == 200 and card.json()["status"] == "completed", card.text
        for move in (
            {"kind": "paid_out", "amount": 500, "reason": "milk for the staff room"},
            {"kind": "drop", "amount": 5000},
        ):
            moved = await s.post(f"/tills/{t}/shifts/{n}/cash", json=move, headers=key(carl))
            assert moved.status_code == 200, moved.text

        # The blind close with the counted cash equal to the expected: 150 + 26.10 + 15.26
        # + 17.80 (the voided sale) − 17.80 (its void) − 13.05 (the refund) − 5 − 50 = 123.31
        x = await s.get(f"/tills/{t}/shifts/{n}/x", headers=carl)
        assert x.status_code == 200 and x.json()["by_tender"]["card"] == 1450, x.text
        counted = [
            {"denomination": 10000, "quantity": 1},
            {"denomination": 2000, "quantity": 1},
            {"denomination": 200, "quantity": 1},
            {"denomination": 100, "quantity": 1},
            {"denomination": 20, "quantity": 1},
            {"denomination": 10, "quantity": 1},
            {"denomination": 1, "quantity": 1},
        ]
        close = await s.post(
            f"/tills/{t}/shifts/{n}/close",
            json={"cash": counted, "tenders": [{"tender": "card", "amount": 1450}]},
            headers=key(carl),
        )
        assert close.status_code == 200, close.text
        assert close.json()["status"] == "closed" and close.json()["variance"] == 0, close.text

    async def printed() -> Any:
        z = await s.get(f"/tills/{t}/shifts/{n}/z", headers=carl)
        return z.json() if z.status_code == 200 and z.json()["printed"] else None

    z = (await eventually(printed))["report"]
    assert z["sales_count"] == 4 and z["voids_count"] == 1 and z["voids_total"] == 1780
    assert z["discounted_sales"] == 2 and z["approved_overrides"] == 1
    assert {d["kind"]: d["amount"] for d in z["discounts"]} == {"discount": 290 + 654}
    escpos = shift_till.printer.read_bytes()
    assert b"Voids" in escpos and b"Discounts" in escpos and b"Approved by a manager" in escpos

    # The audit log names who approved what, and who tried a wrong PIN.
    with db.unit_of_work() as session:
        actions = set(
            session.scalars(select(AuditEntry.action).where(AuditEntry.subject.like(f"%{t}%")))
        )
        actions |= set(
            session.scalars(
                select(AuditEntry.action).where(AuditEntry.workflow_id == f"sale:{t}:{sid}")
            )
        )
    assert {"sale.discount_approved", "sale.override_approved", "sale.void_approved"} <= actions

    # The shift's own rows, from open to close, and the refund and the void as one row each.
    with db.unit_of_work() as session:
        shift_rows = session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.workflow_id == opened.json()["workflow_id"])
            .order_by(AuditEntry.id)
        ).all()
        refund_rows = session.scalars(
            select(AuditEntry.action).where(
                AuditEntry.subject.in_(
                    [f"return:{ret.json()['return_id']}", f"return:{void.json()['return_id']}"]
                )
            )
        ).all()
    assert shift_rows == [
        "shift.open",
        "shift.paid_out",
        "shift.drop",
        "shift.count",
        "shift.close",
    ], shift_rows
    assert sorted(refund_rows) == ["return.completed", "sale.voided"]


async def test_store_approval_table(api, shift_till, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """A store's managers set which actions need them; a cashier cannot; a bad rule is a 422."""
    t, s = shift_till.code, shift_till.api
    mia = await password_login(s, "mia", "manager-demo")
    table = await s.get("/admin/locations/BER/approvals", headers=mia)
    assert table.status_code == 200
    rules = {r["action"]: r for r in table.json()["rules"]}
    assert rules["discount"]["cashier_limit"] == 1000 and rules["void"]["approval"] is True
    carl = await till_login(s, t)
    assert (await s.get("/admin/locations/BER/approvals", headers=carl)).status_code == 403
    bad = await s.put(
        "/admin/locations/BER/approvals/juggling", json={"approval": True}, headers=mia
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "unknown_action"
    bad2 = await s.put(
        "/admin/locations/BER/approvals/void",
        json={"approval": True, "cashier_limit": 5},
        headers=mia,
    )
    assert bad2.status_code == 422
    try:
        # No allowance for discounts at BER: even 5 % needs the manager now.
        put = await s.put(
            "/admin/locations/BER/approvals/discount",
            json={"approval": True, "cashier_limit": 0},
            headers=key(mia),
        )
        assert put.status_code == 200, put.text
        quote = await api.post(
            f"/tills/{t}/quote",
            json={
                "lines": [{"sku": "NOTEBOOK-A5", "quantity": 1}],
                "adjustments": [
                    {"scope": "line", "line": 1, "kind": "percent", "value": 500, "reason": "staff"}
                ],
            },
            headers=carl,
        )
        assert quote.status_code == 200 and quote.json()["approval_needed"], quote.text
        assert quote.json()["total"] == 1377 and quote.json()["discount_total"] == 73  # 72.5 up
    finally:
        reset = await s.delete("/admin/locations/BER/approvals/discount", headers=mia)
        assert reset.status_code == 200
    assert {r["action"]: r["own"] for r in reset.json()["rules"]}["discount"] is False
    with db.unit_of_work() as session:
        logged = session.scalars(
            select(AuditEntry.action).where(AuditEntry.subject == "location:BER")
        ).all()
    assert "permissions.approval_rule_set" in logged and "permissions.approval_rule_reset" in logged


async def test_bad_adjustments_are_clear_422s(api, shift_till) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    t = shift_till.code
    carl = await till_login(api, t)
    lines = [{"sku": "NOTEBOOK-A5", "quantity": 1}]
    for adj, code in [
        (
            {"scope": "line", "line": 9, "kind": "percent", "value": 100, "reason": "staff"},
            "bad_adjustment",
        ),
        (
            {"scope": "line", "line": 1, "kind": "percent", "value": 100, "reason": "because"},
            "bad_reason",
        ),
        (
            {"scope": "line", "line": 1, "kind": "amount", "value": 99999, "reason": "staff"},
            "bad_adjustment",
        ),
        (
            {"scope": "line", "line": 1, "kind": "price", "value": 2000, "reason": "staff"},
            "bad_adjustment",
        ),
        ({"scope": "basket", "kind": "price", "value": 1, "reason": "staff"}, "bad_adjustment"),
    ]:
        r = await api.post(
            f"/tills/{t}/quote", json={"lines": lines, "adjustments": [adj]}, headers=carl
        )
        assert r.status_code == 422 and r.json()["error"]["code"] == code, (adj, r.text)
    sale = await api.post(
        f"/tills/{t}/sales",
        json=sale_body(
            lines,
            [{"kind": "cash", "amount": 2000}],
            adjustments=[
                {"scope": "line", "line": 9, "kind": "percent", "value": 100, "reason": "staff"}
            ],
        ),
        headers=carl,
    )
    assert sale.status_code == 422, sale.text


async def test_variance_and_receiptless_return_approved_by_pin_at_the_till(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, shift_till, db
) -> None:
    t, s = shift_till.code, shift_till.api
    carl = await till_login(s, t)
    mia = await password_login(s, "mia", "manager-demo")
    opened = await s.post(f"/tills/{t}/shifts", json={"float": FLOAT}, headers=key(carl))
    assert opened.status_code == 201, opened.text
    n = opened.json()["n"]
    with db.unit_of_work() as session:
        customer = Customer(name="Rita Regular", email=f"rita-{uuid.uuid4().hex[:8]}@example.com")
        session.add(customer)
        session.flush()
        customer_id = customer.id
    try:
        put = await s.put(
            "/admin/locations/BER/approvals/return_without_receipt",
            json={"approval": True},
            headers=key(mia),
        )
        assert put.status_code == 200
        r = await api.post(
            f"/tills/{t}/returns",
            json={
                "return_id": f"R{uuid.uuid4().hex[:10]}",
                "lines": [{"sku": "POSTCARD", "quantity": 1, "disposition": "restock"}],
                "refund_to": "store_credit",
                "customer_id": customer_id,
            },
            headers=carl,
        )
    finally:
        await s.delete("/admin/locations/BER/approvals/return_without_receipt", headers=mia)
    assert r.status_code == 202 and r.json()["status"] == "awaiting_approval", r.text
    rid = r.json()["return_id"]
    # Without the PIN a cashier cannot decide it (wrong PINs: see the first test).
    alone = await api.post(f"/returns/{rid}/approve", json={"note": "ok"}, headers=carl)
    assert alone.status_code == 403
    ok = await api.post(
        f"/returns/{rid}/approve", json={"note": "regular", "manager": MANAGER}, headers=carl
    )
    assert ok.status_code == 200 and ok.json()["status"] == "completed", ok.text

    # A drawer 10.00 short waits; the manager approves it at the cashier's till with a PIN.
    short = await s.post(
        f"/tills/{t}/shifts/{n}/close",
        json={"cash": [{"denomination": 2000, "quantity": 7}]},
        headers=key(carl),
    )
    assert short.status_code == 200 and short.json()["status"] == "review", short.text
    approved = await s.post(
        f"/tills/{t}/shifts/{n}/approve",
        json={"decision": "approve", "note": "coins miscounted", "manager": MANAGER},
        headers=key(carl),
    )
    assert approved.status_code == 200 and approved.json()["status"] == "closed", approved.text

    async def z() -> Any:
        got = await s.get(f"/tills/{t}/shifts/{n}/z", headers=carl)
        return got.json() if got.status_code == 200 else None

    report = (await eventually(z))["report"]
    assert report["variance"] == -1000 and report["approved_by"] == "Mia Manager"


async def test_two_cashiers_opening_at_once_open_one_shift(api, shift_till, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    import asyncio

    from db.models import Till
    from db.models_shifts import Shift

    t, s = shift_till.code, shift_till.api
    carl = await till_login(s, t)
    cora = await till_login(s, t, "1002", "2345")
    answers = await asyncio.gather(
        s.post(f"/tills/{t}/shifts", json={"float": FLOAT}, headers=key(carl)),
        s.post(f"/tills/{t}/shifts", json={"float": FLOAT[:1]}, headers=key(cora)),
    )
    codes = sorted(a.status_code for a in answers)
    assert codes[0] == 201 and codes[1] in (201, 409), [a.text for a in answers]
    with db.unit_of_work() as session:
        till_id = session.scalar(select(Till.id).where(Till.code == t))
        open_rows = session.scalars(
            select(Shift).where(Shift.till_id == till_id, Shift.status == "open")
        ).all()
    assert len(open_rows) == 1
    n = open_rows[0].n
    # Close it again for whatever runs next at this till.
    r = await s.post(
        f"/tills/{t}/shifts/{n}/close",
        json={"cash": [{"denomination": 2000, "quantity": 5}]}
        if open_rows[0].float_amount == 10000
        else {"cash": FLOAT},
        headers=key(carl),
    )
    assert r.status_code == 200, r.text


async def test_a_void_names_its_manager_and_a_repeated_exchange_answers(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, shift_till, db, gateway
) -> None:
    from db.models import User
    from db.models_returns import Return

    t = shift_till.code
    carl = await till_login(api, t)
    sold = await api.post(
        f"/tills/{t}/sales",
        json=sale_body([{"sku": "NOTEBOOK-A5", "quantity": 1}], [{"kind": "cash", "amount": 1450}]),
        headers=carl,
    )
    number = sold.json()["sale_id"]
    void = await api.post(
        f"/tills/{t}/sales/{number}/void",
        json={"reason": "wrong item", "manager": MANAGER},
        headers=carl,
    )
    assert void.status_code == 200, void.text
    with db.unit_of_work() as session:
        ret = session.scalar(select(Return).where(Return.return_id == void.json()["return_id"]))
        mia = session.scalar(select(User.id).where(User.username == "mia"))
        assert ret is not None and ret.void and ret.approved_by == mia
        logged = session.scalars(
            select(AuditEntry.action).where(AuditEntry.subject == f"return:{ret.return_id}")
        ).all()
        assert logged == ["sale.voided"]

    # A card sale voided: the card is refunded, nothing leaves the drawer.
    card = await api.post(
        f"/tills/{t}/sales",
        json=sale_body(
            [{"sku": "NOTEBOOK-A5", "quantity": 1}],
            [{"kind": "card", "amount": 1450, "simulate": "pm_card_visa"}],
        ),
        headers=carl,
    )
    assert card.status_code == 200 and card.json()["status"] == "completed", card.text
    card_void = await api.post(
        f"/tills/{t}/sales/{card.json()['sale_id']}/void",
        json={"reason": "wrong card", "manager": MANAGER},
        headers=carl,
    )
    assert card_void.status_code == 200, card_void.text
    assert card_void.json()["refunds"] == [{"kind": "card", "amount": 1450}]
    assert card_void.json()["cash_out"] == 0
    intent = card.json()["tenders"][0]["reference"]
    assert [x.amount for x in gateway.list_refunds(intent)] == [1450]

    # Another till's sale is not this till's to void: as if there were no such sale.
    elsewhere = await till_login(api, "BER1")
    other = await api.post(
        "/tills/BER1/sales",
        json=sale_body([{"sku": "POSTCARD", "quantity": 1}], [{"kind": "cash", "amount": 500}]),
        headers=elsewhere,
    )
    assert other.status_code == 200, other.text
    foreign = await api.post(
        f"/tills/{t}/sales/{other.json()['sale_id']}/void",
        json={"reason": "not mine", "manager": MANAGER},
        headers=carl,
    )
    assert foreign.status_code == 404 and foreign.json()["error"]["code"] == "unknown_sale"

    # Yesterday's sale is a return now, not a void.
    old = await api.post(
        f"/tills/{t}/sales",
        json=sale_body([{"sku": "POSTCARD", "quantity": 1}], [{"kind": "cash", "amount": 500}]),
        headers=carl,
    )
    assert old.status_code == 200, old.text
    with db.unit_of_work() as session:
        session.execute(
            update(Order)
            .where(Order.number == old.json()["sale_id"])
            .values(placed_at=Order.placed_at - timedelta(days=1))
        )
    late = await api.post(
        f"/tills/{t}/sales/{old.json()['sale_id']}/void",
        json={"reason": "too late", "manager": MANAGER},
        headers=carl,
    )
    assert late.status_code == 409 and late.json()["error"]["code"] == "void_too_late", late.text

    # An exchange for dearer goods, paid in cash; the same return sent again answers the same.
    first = await api.post(
        f"/tills/{t}/sales",
        json=sale_body([{"sku": "NOTEBOOK-A5", "quantity": 1}], [{"kind": "cash", "amount": 1450}]),
        headers=carl,
    )
    body = {
        "return_id": f"X{uuid.uuid4().hex[:10]}",
        "sale_id": first.json()["sale_id"],
        "lines": [{"line_no": 1, "quantity": 1, "disposition": "restock"}],
        "exchange": {
            "lines": [{"sku": "MUG-ENAMEL", "quantity": 2}],
            "tenders": [{"kind": "cash", "amount": 2000}],
        },
    }
    answer = await api.post(f"/tills/{t}/returns", json=body, headers=carl)
    assert answer.status_code == 200, answer.text
    assert answer.json()["exchange_sale"]["status"] == "completed"
    again = await api.post(f"/tills/{t}/returns", json=body, headers=carl)
    assert again.status_code == 200, again.text
    assert again.json()["exchange_sale"]["sale_id"] == answer.json()["exchange_sale"]["sale_id"]


async def test_the_basket_start_is_kept_for_checkout_time(api, shift_till, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    from datetime import UTC, datetime

    t = shift_till.code
    carl = await till_login(api, t)
    lines, cash = [{"sku": "POSTCARD", "quantity": 1}], [{"kind": "cash", "amount": 500}]
    for bad in [
        (datetime.now(UTC) + timedelta(minutes=10)).isoformat(),
        (datetime.now(UTC) - timedelta(days=2)).isoformat(),
        "2026-12-01T10:00:00",  # no timezone
        "yesterday",
    ]:
        r = await api.post(
            f"/tills/{t}/sales", json=sale_body(lines, cash, basket_started_at=bad), headers=carl
        )
        assert r.status_code == 422, (bad, r.text)
    started = datetime.now(UTC) - timedelta(seconds=42)
    ok = await api.post(
        f"/tills/{t}/sales",
        json=sale_body(lines, cash, basket_started_at=started.isoformat()),
        headers=carl,
    )
    assert ok.status_code == 200, ok.text
    with db.unit_of_work() as session:
        kept = session.scalar(
            select(Order.basket_started_at).where(Order.number == ok.json()["sale_id"])
        )
    assert kept is not None and abs((kept - started).total_seconds()) < 0.01
