"""Refunds go back to the original tenders in order, never more than each paid, once per key."""

from __future__ import annotations

import uuid

import pytest
from temporalio.exceptions import ApplicationError

from activities.refunds import RefundActivities
from contracts.returns import RefundRequest
from db.repositories import balances, orders


async def split_sale(api, cashier, code: str) -> dict:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    r = await api.post(
        "/tills/BER1/sales",
        headers=cashier,
        json={
            "client_sale_id": uuid.uuid4().hex[:12],
            "lines": [{"sku": "MUG-STONE", "quantity": 1}, {"sku": "BLANKET-WOOL", "quantity": 1}],
            "tenders": [
                {"kind": "gift_card", "amount": 3390, "reference": code},
                {"kind": "cash", "amount": 2000},
                {"kind": "card", "amount": 5000, "simulate": "pm_card_visa"},
            ],
        },
    )
    assert r.json()["status"] == "completed", r.text
    return r.json()


async def test_refund_order_limits_and_retries(api, cashier, db, gateway) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    with db.unit_of_work() as s:
        code = balances.issue_gift_card(
            s, amount=5000, currency="EUR", key=f"test:{uuid.uuid4()}", reference="test"
        ).code
    sale = await split_sale(api, cashier, code)
    intent = next(t["reference"] for t in sale["tenders"] if t["kind"] == "card")
    refunds = RefundActivities(db, gateway)

    first = RefundRequest(
        sale_workflow_id=sale["workflow_id"],
        amount=6000,
        key=f"return:{uuid.uuid4().hex[:8]}",
        reason="customer return",
    )
    outcomes = [
        refunds.to_original_tenders(first) for _ in range(3)
    ]  # an activity retried three times
    assert outcomes[0] == outcomes[1] == outcomes[2]
    assert [(p.kind, p.amount) for p in outcomes[0].parts] == [("card", 5000), ("cash", 1000)]
    assert outcomes[0].cash_out == 1000
    stripe_refunds = gateway.list_refunds(intent)
    assert [r.amount for r in stripe_refunds] == [5000]  # one refund at Stripe, not three

    second = RefundRequest(
        sale_workflow_id=sale["workflow_id"], amount=4390, key=f"return:{uuid.uuid4().hex[:8]}"
    )
    parts = refunds.to_original_tenders(second).parts
    assert [(p.kind, p.amount) for p in parts] == [("cash", 1000), ("gift_card", 3390)]
    with db.unit_of_work() as s:
        assert balances.gift_card(s, code).balance == 5000
        assert sum(r.amount for r in orders.refunds_for(s, sale["workflow_id"])) == sale["total"]

    with pytest.raises(ApplicationError, match="Only 0.00"):
        refunds.to_original_tenders(
            RefundRequest(
                sale_workflow_id=sale["workflow_id"], amount=1, key=f"return:{uuid.uuid4().hex[:8]}"
            )
        )
