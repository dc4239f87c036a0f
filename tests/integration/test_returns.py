"""Returns at the till: card and split refunds, partial, store credit, receipt-less with approval,
late returns, exchanges both ways, dispositions and the ledger, and two cashiers racing."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from helpers.api import password_login, till_login
from helpers.stock import assert_ledger_balanced, location_id, on_hand
from sqlalchemy import select
from temporalio.client import WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

from contracts.common import SALES_TASK_QUEUE
from contracts.sale import BasketLine, SaleRequest, TenderIn, sale_workflow_id
from db.models import Customer, StockMovement
from db.models_returns import FraudSignal
from db.repositories import balances, customers
from workflows.sale import SaleWorkflow


def rid() -> str:
    return uuid.uuid4().hex[:12]


async def sell(api, headers, lines, tenders, till="BER1", **extra):  # type: ignore[no-untyped-def]  # takes untyped fixture values
    r = await api.post(
        f"/tills/{till}/sales",
        headers=headers,
        json={"client_sale_id": rid(), "lines": lines, "tenders": tenders, **extra},
    )
    assert r.status_code == 200 and r.json()["status"] == "completed", r.text
    return r.json()


async def give_back(api, headers, body, till="BER1"):  # type: ignore[no-untyped-def]  # takes untyped fixture values
    return await api.post(
        f"/tills/{till}/returns", headers=headers, json={"return_id": rid(), **body}
    )


async def test_card_sale_returned_in_store_refunds_the_card(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, cashier, db, gateway, temporal_client, device_printers
) -> None:
    sale = await sell(
        api,
        cashier,
        [{"sku": "PEN-BRASS", "quantity": 1}],
        [{"kind": "card", "amount": 3900, "simulate": "pm_card_visa"}],
    )
    before = on_hand(db, "BER", "PEN-BRASS")
    found = await api.get(
        "/tills/BER1/returns/lookup", params={"receipt": sale["sale_id"]}, headers=cashier
    )
    assert found.json()[0]["lines"][0]["returnable"] == 1
    r = await give_back(
        api,
        cashier,
        {
            "sale_id": sale["sale_id"],
            "lines": [{"line_no": 1, "quantity": 1, "disposition": "restock"}],
        },
    )
    assert r.status_code == 200, r.text
    ret = r.json()
    assert ret["status"] == "completed" and ret["refunds"] == [{"kind": "card", "amount": 3900}]
    intent = sale["tenders"][0]["reference"]
    assert [x.amount for x in gateway.list_refunds(intent)] == [3900]
    assert on_hand(db, "BER", "PEN-BRASS") == before + 1
    again = await api.get(
        "/tills/BER1/returns/lookup", params={"receipt": sale["sale_id"]}, headers=cashier
    )
    assert again.json()[0]["lines"][0]["returnable"] == 0
    got = await api.get(f"/returns/{ret['return_id']}", headers=cashier)
    assert got.json()["status"] == "completed"
    await temporal_client.get_workflow_handle(ret["workflow_id"]).result()  # receipt printed
    repeat = await api.post(
        "/tills/BER1/returns",
        headers=cashier,
        json={
            "return_id": ret["return_id"],
            "sale_id": sale["sale_id"],
            "lines": [{"line_no": 1, "quantity": 1, "disposition": "restock"}],
        },
    )
    assert repeat.status_code == 200 and repeat.json()["refunds"] == ret["refunds"]
    assert [x.amount for x in gateway.list_refunds(intent)] == [3900]
    printed = device_printers["BER1"].read_bytes()
    assert f"R-{ret['return_id']}".encode() in printed and b"RETURN" in printed


async def test_partial_return_and_split_tender_refund_order(api, cashier, db, gateway) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    with db.unit_of_work() as s:
        code = balances.issue_gift_card(
            s, amount=2000, currency="EUR", key=f"t:{rid()}", reference="t"
        ).code
    sale = await sell(
        api,
        cashier,
        [{"sku": "TEA-BLACK", "quantity": 4}, {"sku": "VASE-GLASS", "quantity": 1}],
        [
            {"kind": "gift_card", "amount": 2000, "reference": code},
            {"kind": "cash", "amount": 1000},
            {"kind": "card", "amount": 3650, "simulate": "pm_card_visa"},
        ],
    )
    assert sale["total"] == 4 * 790 + 3490
    # Two of four teas: 15.80 goes back to the card first.
    first = (
        await give_back(
            api,
            cashier,
            {
                "sale_id": sale["sale_id"],
                "lines": [{"line_no": 1, "quantity": 2, "disposition": "restock"}],
            },
        )
    ).json()
    assert first["refunds"] == [{"kind": "card", "amount": 1580}]
    # The vase (34.90): the rest of the card (20.70), then cash (10.00), then the gift card (4.20).
    second = (
        await give_back(
            api,
            cashier,
            {
                "sale_id": sale["sale_id"],
                "lines": [{"line_no": 2, "quantity": 1, "disposition": "restock"}],
            },
        )
    ).json()
    assert second["refunds"] == [
        {"kind": "card", "amount": 2070},
        {"kind": "cash", "amount": 1000},
        {"kind": "gift_card", "amount": 420},
    ]
    assert second["cash_out"] == 1000
    over = await give_back(
        api,
        cashier,
        {
            "sale_id": sale["sale_id"],
            "lines": [{"line_no": 1, "quantity": 3, "disposition": "restock"}],
        },
    )
    assert over.status_code == 409 and "only 2" in over.json()["error"]["message"]


async def test_store_credit_choice(api, cashier, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    with db.unit_of_work() as s:
        customer = customers.create(s, name="Ines", email=f"{rid()}@example.com").id
    sale = await sell(
        api,
        cashier,
        [{"sku": "CANDLE-CEDAR", "quantity": 1}],
        [{"kind": "cash", "amount": 2490}],
        customer_id=customer,
    )
    r = await give_back(
        api,
        cashier,
        {
            "sale_id": sale["sale_id"],
            "refund_to": "store_credit",
            "customer_id": customer,
            "lines": [{"line_no": 1, "quantity": 1, "disposition": "restock"}],
        },
    )
    assert r.json()["store_credit"] == 2490 and r.json()["refunds"] == [
        {"kind": "store_credit", "amount": 2490}
    ]
    balance = await api.get(f"/customers/{customer}/store-credit", headers=cashier)
    assert balance.json()["balance"] == 2490
    no_customer = await give_back(
        api,
        cashier,
        {
            "sale_id": sale["sale_id"],
            "refund_to": "store_credit",
            "lines": [{"line_no": 1, "quantity": 1, "disposition": "restock"}],
        },
    )
    assert no_customer.status_code in (409, 422)


async def test_receiptless_return_within_cap_then_over_cap_needs_a_manager(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, cashier, db
) -> None:
    with db.unit_of_work() as s:
        customer = customers.create(s, name="Nora", email=f"{rid()}@example.com").id
    within = await give_back(
        api,
        cashier,
        {
            "customer_id": customer,
            "lines": [{"sku": "CANDLE-FIG", "quantity": 2, "disposition": "restock"}],
        },
    )
    assert within.status_code == 200 and within.json()["store_credit"] == 4980
    over = await give_back(
        api,
        cashier,
        {
            "customer_id": customer,
            "lines": [{"sku": "MUG-ENAMEL", "quantity": 1, "disposition": "quarantine"}],
        },
    )
    assert over.status_code == 202, over.text
    pending = over.json()
    assert pending["status"] == "awaiting_approval" and "capped" in pending["approval_reasons"][0]
    # A cashier cannot approve; a manager of the store can.
    denied = await api.post(f"/returns/{pending['return_id']}/approve", headers=cashier, json={})
    assert denied.status_code == 403
    manager = await password_login(api, "mia", "manager-demo")
    ok = await api.post(
        f"/returns/{pending['return_id']}/approve", headers=manager, json={"note": "regular"}
    )
    assert (
        ok.status_code == 200
        and ok.json()["status"] == "completed"
        and ok.json()["store_credit"] == 1290
    )
    with db.unit_of_work() as s:
        signals = s.scalars(
            select(FraudSignal).where(FraudSignal.return_id == pending["return_id"])
        ).all()
        assert [f.kind for f in signals] == ["receiptless_over_cap"]
    twice = await api.post(f"/returns/{pending['return_id']}/approve", headers=manager, json={})
    assert twice.status_code == 409
    needs_customer = await give_back(
        api, cashier, {"lines": [{"sku": "MUG-ENAMEL", "quantity": 1, "disposition": "restock"}]}
    )
    assert needs_customer.status_code == 422


async def test_late_return_waits_for_a_manager_who_rejects_it(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, cashier, db, temporal_client
) -> None:
    client_id = rid()
    old = SaleRequest(
        till_code="BER1",
        client_sale_id=client_id,
        cashier_id=1,
        lines=(BasketLine(sku="BOOK-CITY", quantity=1),),
        tenders=(TenderIn(kind="cash", amount=1800),),
        sold_at=datetime.now(UTC) - timedelta(days=45),
        offline=True,
    )
    result = await temporal_client.execute_update_with_start_workflow(
        SaleWorkflow.checkout,
        start_workflow_operation=WithStartWorkflowOperation(
            SaleWorkflow.run,
            old,
            id=sale_workflow_id("BER1", client_id),
            task_queue=SALES_TASK_QUEUE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        ),
    )
    r = await give_back(
        api,
        cashier,
        {
            "sale_id": result.sale_id,
            "lines": [{"line_no": 1, "quantity": 1, "disposition": "restock"}],
        },
    )
    assert r.status_code == 202 and "return window is 30 days" in r.json()["approval_reasons"][0]
    manager = await password_login(api, "mia", "manager-demo")
    no = await api.post(
        f"/returns/{r.json()['return_id']}/reject", headers=manager, json={"note": "too late"}
    )
    assert no.json()["status"] == "rejected" and "too late" in no.json()["message"]
    found = await api.get(
        "/tills/BER1/returns/lookup", params={"receipt": result.sale_id}, headers=cashier
    )
    assert found.json()[0]["lines"][0]["returnable"] == 1  # a rejected return takes nothing


async def test_unknown_receipt_is_404(api, cashier) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    r = await give_back(
        api,
        cashier,
        {
            "sale_id": "BER1-999999",
            "lines": [{"line_no": 1, "quantity": 1, "disposition": "restock"}],
        },
    )
    assert r.status_code == 404 and "BER1-999999" in r.json()["error"]["message"]
    bad = await give_back(
        api,
        cashier,
        {
            "sale_id": "BER1-999999",
            "lines": [{"sku": "X", "quantity": 1, "disposition": "restock"}],
        },
    )
    assert bad.status_code == 422


async def test_exchange_customer_pays_the_difference(api, cashier, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    sale = await sell(
        api, cashier, [{"sku": "TSHIRT-ORG-01", "quantity": 1}], [{"kind": "cash", "amount": 2490}]
    )
    r = await give_back(
        api,
        cashier,
        {
            "sale_id": sale["sale_id"],
            "lines": [{"line_no": 1, "quantity": 1, "disposition": "restock"}],
            "exchange": {
                "lines": [{"sku": "HOODIE-02", "quantity": 1}],
                "tenders": [{"kind": "cash", "amount": 4000}],
            },
        },
    )
    assert r.status_code == 200, r.text
    ex = r.json()
    assert (
        ex["exchange_credit"] == 2490 and ex["refunds"] == [] and ex["refund_method"] == "exchange"
    )
    new = ex["exchange_sale"]
    assert new["status"] == "completed" and new["total"] == 5990
    assert [(t["kind"], t["amount"]) for t in new["tenders"]] == [
        ("exchange", 2490),
        ("cash", 3500),
    ]
    assert new["change_due"] == 4000 - 3500


async def test_exchange_customer_gets_the_difference_back(api, cashier, gateway) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    sale = await sell(
        api,
        cashier,
        [{"sku": "BLANKET-WOOL", "quantity": 1}],
        [{"kind": "card", "amount": 8900, "simulate": "pm_card_visa"}],
    )
    r = await give_back(
        api,
        cashier,
        {
            "sale_id": sale["sale_id"],
            "lines": [{"line_no": 1, "quantity": 1, "disposition": "restock"}],
            "exchange": {"lines": [{"sku": "SCARF-WOOL", "quantity": 1}]},
        },
    )
    ex = r.json()
    assert ex["exchange_credit"] == 4490 and ex["refunds"] == [{"kind": "card", "amount": 4410}]
    assert ex["exchange_sale"]["status"] == "completed"
    assert [x.amount for x in gateway.list_refunds(sale["tenders"][0]["reference"])] == [4410]


async def test_three_dispositions_and_the_ledger(api, cashier, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    sale = await sell(
        api, cashier, [{"sku": "PLANT-POT", "quantity": 3}], [{"kind": "cash", "amount": 3570}]
    )
    loc = location_id(db, "BER")
    before = on_hand(db, "BER", "PLANT-POT")
    r = await give_back(
        api,
        cashier,
        {
            "sale_id": sale["sale_id"],
            "lines": [
                {"line_no": 1, "quantity": 1, "disposition": "restock"},
                {"line_no": 1, "quantity": 1, "disposition": "quarantine"},
                {"line_no": 1, "quantity": 1, "disposition": "damaged", "reason": "cracked"},
            ],
        },
    )
    assert r.status_code == 200, r.text
    assert on_hand(db, "BER", "PLANT-POT") == before + 1  # only the restocked pot is sellable
    with db.unit_of_work() as s:
        moves = s.scalars(
            select(StockMovement)
            .where(
                StockMovement.reference.like(f"return:{r.json()['return_id']}%"),
                StockMovement.location_id == loc,
            )
            .order_by(StockMovement.id)
        ).all()
        assert [(m.reason, m.delta, m.bucket) for m in moves] == [
            ("return_restock", 1, "sellable"),
            ("return_quarantine", 1, "quarantine"),
            ("return_received", 1, "sellable"),
            ("write_off_damaged", -1, "sellable"),
        ]
    assert_ledger_balanced(db)


async def test_two_cashiers_return_the_same_line_at_once(api, cashier, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    sale = await sell(
        api, cashier, [{"sku": "UMBRELLA", "quantity": 1}], [{"kind": "cash", "amount": 2490}]
    )
    other = await till_login(api, "BER2", "1002", "2345")
    body = {
        "sale_id": sale["sale_id"],
        "lines": [{"line_no": 1, "quantity": 1, "disposition": "restock"}],
    }
    a, b = await asyncio.gather(
        give_back(api, cashier, body, "BER1"), give_back(api, other, body, "BER2")
    )
    assert sorted([a.status_code, b.status_code]) == [200, 409], (a.text, b.text)
    loser = a if a.status_code == 409 else b
    assert "can still be returned" in loser.json()["error"]["message"]
    found = await api.get(
        "/tills/BER1/returns/lookup", params={"receipt": sale["sale_id"]}, headers=cashier
    )
    assert found.json()[0]["lines"][0]["returned"] == 1


async def test_lookup_by_customer_and_card(api, cashier, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    email = f"{rid()}@example.com"
    with db.unit_of_work() as s:
        customer = customers.create(s, name="Lookup", email=email, phone="+49301234567").id
    sale = await sell(
        api,
        cashier,
        [{"sku": "KEYRING", "quantity": 1}],
        [{"kind": "card", "amount": 990, "simulate": "pm_card_visa"}],
        customer_id=customer,
    )
    by_mail = await api.get(
        "/tills/BER1/returns/lookup", params={"email": email.upper()}, headers=cashier
    )
    assert [x["sale_id"] for x in by_mail.json()] == [sale["sale_id"]]
    today = datetime.now(UTC).date().isoformat()
    by_card = await api.get(
        "/tills/BER1/returns/lookup", params={"last4": "4242", "date": today}, headers=cashier
    )
    assert sale["sale_id"] in [x["sale_id"] for x in by_card.json()]
    nothing = await api.get("/tills/BER1/returns/lookup", params={"last4": "4242"}, headers=cashier)
    assert nothing.status_code == 422
    with db.unit_of_work() as s:
        assert s.get(Customer, customer) is not None
