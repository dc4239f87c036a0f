"""Points as a tender at the till, through the API and the real Sale workflow: the balance pays
part of a sale (and its receipt prints the points and balance), a short balance is a decline, an
abandoned sale gives the points back, a return refunds them, another customer's points are
refused, and 20 sales racing for one balance never overdraw it."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers.api import till_login
from helpers.webstore import eventually
from sqlalchemy import select
from temporalio import activity
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowFailureError,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.worker import Replayer

from activities.receipts import receipt_for_order
from contracts.sale import (
    BasketLine,
    OrderRecord,
    RecordedOrder,
    SaleRequest,
    TenderIn,
    sale_workflow_id,
)
from db.models import Payment
from db.repositories import customers, loyalty
from db.session import Database
from tillflow.workers import sale_activities, sales_worker
from workflows.sale import SaleWorkflow

NOTEBOOK = "NOTEBOOK-A5"  # 14.50 at BER


def member(db: Database, points: int) -> tuple[int, str]:
    """A customer with a card code and `points` on their account."""
    with db.unit_of_work() as s:
        new = customers.create(s, name=f"Points {uuid.uuid4().hex[:6]}")
        if points:
            loyalty.adjust(
                s, new.id, points, f"test:{uuid.uuid4().hex}", reason="test", actor_user_id=None
            )
        return new.id, new.code


def balance(db: Database, customer_id: int) -> int:
    """The balance, once it equals the sum of the ledger (read again if an earn lands between)."""
    while True:
        with db.unit_of_work() as s:
            bal = loyalty.balance(s, customer_id).balance
            if bal == loyalty.ledger_sum(s, customer_id):  # the ledger always adds up
                return bal


def points(customer_id: int, code: str, amount: int) -> dict[str, Any]:
    return {
        "kind": "points",
        "amount": amount,
        "reference": str(customer_id),
        "customer_code": code,
    }


async def sell(
    api: httpx.AsyncClient,
    who: dict[str, str],
    customer_id: int | None,
    tenders: list[dict[str, Any]],
    quantity: int = 2,
    client_sale_id: str = "",
) -> httpx.Response:
    return await api.post(
        "/tills/BER1/sales",
        json={
            "client_sale_id": client_sale_id or uuid.uuid4().hex[:12],
            "lines": [{"sku": NOTEBOOK, "quantity": quantity}],
            "tenders": tenders,
            "customer_id": customer_id,
        },
        headers=who,
    )


async def test_points_pay_part_and_the_receipt_shows_the_balance(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, db: Database, device_printers: dict[str, Path]
) -> None:
    cid, code = member(db, 5000)
    carl = await till_login(api)
    sale = await sell(api, carl, cid, [points(cid, code, 1000), {"kind": "cash", "amount": 2000}])
    assert sale.status_code == 200, sale.text
    body = sale.json()
    assert body["status"] == "completed" and body["total"] == 2900
    assert [(t["kind"], t["amount"]) for t in body["tenders"]] == [("points", 1000), ("cash", 1900)]
    assert body["change_due"] == 100
    # 10.00 of points at 0.01 a point, then 29 earned on the 29.00 sale.
    assert await eventually(lambda: balance(db, cid) == 4029 or None)
    note = "Points: +29, balance 4029"
    printed = await eventually(
        lambda: note.encode() in device_printers["BER1"].read_bytes() or None
    )
    assert printed
    with db.unit_of_work() as s:  # a reprint says the same
        assert note in receipt_for_order(s, body["sale_id"], reprint=True).notes


async def test_a_short_balance_declines_and_an_abandoned_sale_gives_points_back(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, db: Database
) -> None:
    cid, code = member(db, 800)
    carl = await till_login(api)
    client_sale_id = uuid.uuid4().hex[:12]
    short = await sell(api, carl, cid, [points(cid, code, 900)], client_sale_id=client_sale_id)
    assert short.status_code == 200, short.text
    assert short.json()["status"] == "open" and short.json()["due"] == 2900
    assert "800 points" in short.json()["declines"][-1]
    assert balance(db, cid) == 800

    more = await api.post(  # the same sale takes what the balance has
        f"/tills/BER1/sales/{client_sale_id}/tenders",
        json={"tenders": [points(cid, code, 800)]},
        headers=carl,
    )
    assert more.status_code == 200, more.text
    assert more.json()["due"] == 2100 and balance(db, cid) == 0
    gone = await api.post(f"/tills/BER1/sales/{client_sale_id}/abandon", headers=carl)
    assert gone.status_code == 200, gone.text
    assert gone.json()["status"] == "abandoned"
    assert balance(db, cid) == 800  # the compensation gave every point back


async def test_only_the_sales_own_customer_pays_with_points(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, db: Database
) -> None:
    cid, code = member(db, 5000)
    other, _ = member(db, 0)
    carl = await till_login(api)
    for customer in (None, other):
        refused = await sell(api, carl, customer, [points(cid, code, 1000)])
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] == "points_not_own_customer"
    wrong_code = await sell(api, carl, cid, [points(cid, "AAAA-BBBB-CCCC", 1000)])
    assert wrong_code.status_code == 403, wrong_code.text
    no_proof = await sell(
        api, carl, cid, [{"kind": "points", "amount": 1000, "reference": str(cid)}]
    )
    assert no_proof.status_code == 422, no_proof.text
    assert balance(db, cid) == 5000


async def test_a_return_gives_the_points_back(api, db: Database) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    cid, code = member(db, 5000)
    carl = await till_login(api)
    sale = await sell(api, carl, cid, [points(cid, code, 2900)])
    assert sale.status_code == 200, sale.text
    assert sale.json()["status"] == "completed"
    assert await eventually(lambda: balance(db, cid) == 2129 or None)  # 5000 - 2900 + 29 earned
    back = await api.post(
        "/tills/BER1/returns",
        json={
            "return_id": f"P{uuid.uuid4().hex[:10]}",
            "sale_id": sale.json()["sale_id"],
            "lines": [{"line_no": 1, "quantity": 1, "disposition": "restock"}],
        },
        headers=carl,
    )
    assert back.status_code == 200, back.text
    # 14.50 refunded to points (1450 back) and 14 of the 29 earned taken back.
    assert await eventually(lambda: balance(db, cid) == 2129 + 1450 - 14 or None)


async def test_twenty_sales_racing_for_one_balance_never_overdraw_it(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, db: Database
) -> None:
    cid, code = member(db, 1000)
    carl = await till_login(api)
    answers = await asyncio.gather(
        *(
            sell(api, carl, cid, [points(cid, code, 100), {"kind": "cash", "amount": 1350}], 1)
            for _ in range(20)
        )
    )
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    paid = [a.json() for a in answers if a.json()["status"] == "completed"]
    declined = [a.json() for a in answers if a.json()["status"] == "open"]
    assert (len(paid), len(declined)) == (10, 10)  # 1000 points pay 10 tenders of 1.00
    for d in declined:
        gone = await api.post(
            f"/tills/BER1/sales/{d['workflow_id'].split(':')[-1]}/abandon", headers=carl
        )
        assert gone.status_code == 200, gone.text
    with db.unit_of_work() as s:
        redeemed = [e for e in loyalty.ledger_page(s, cid, limit=200) if e.kind == "redeem"]
    assert sum(e.points for e in redeemed) == -1000
    # Every completed sale earns 14 points afterwards; the balance never went below zero.
    assert await eventually(lambda: balance(db, cid) == 10 * 14 or None)


@activity.defn(name="sale.record_order")
def broken_record_order(cmd: OrderRecord) -> RecordedOrder:
    raise ApplicationError(
        "order store rejected the write", type="OrderStoreDown", non_retryable=True
    )


async def test_a_sale_failing_after_the_points_gives_them_back(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db: Database, temporal_client: Client, gateway
) -> None:
    """The real Sale on a worker whose order write fails for good: its compensation refunds the
    points, once, and the history replays with the points-tender patch."""
    cid, code = member(db, 5000)
    queue = f"points-broken-{uuid.uuid4().hex[:6]}"
    acts = [a for a in sale_activities(db, gateway) if getattr(a, "__name__", "") != "record_order"]
    worker = sales_worker(
        temporal_client, db, gateway, activities=[*acts, broken_record_order], task_queue=queue
    )
    wf_id = sale_workflow_id("BER1", uuid.uuid4().hex[:12])
    req = SaleRequest(
        till_code="BER1",
        client_sale_id=wf_id.split(":")[-1],
        cashier_id=1,
        lines=(BasketLine(sku=NOTEBOOK, quantity=1),),
        tenders=(
            TenderIn(
                kind="points",
                amount=1450,
                reference=str(cid),
                proof=f"customer:{customers.code_digest(code)}",
            ),
        ),
        customer_id=cid,
    )
    start = WithStartWorkflowOperation(
        SaleWorkflow.run,
        req,
        id=wf_id,
        task_queue=queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    async with worker:
        with pytest.raises(WorkflowUpdateFailedError):
            answer = await temporal_client.execute_update_with_start_workflow(
                SaleWorkflow.checkout, start_workflow_operation=start
            )
            assert answer is None  # not reached: the checkout fails
        handle = temporal_client.get_workflow_handle(wf_id)
        with pytest.raises(WorkflowFailureError):
            await handle.result()
        history = await handle.fetch_history()
    assert balance(db, cid) == 5000
    with db.unit_of_work() as s:
        kinds = sorted(
            (e.kind, e.points) for e in loyalty.ledger_page(s, cid) if e.reference == wf_id
        )
        pays = s.scalars(select(Payment).where(Payment.workflow_id == wf_id)).all()
    assert kinds == [("redeem", -1450), ("refund_redeem", 1450)]
    assert [(p.tender, p.status) for p in pays] == [("points", "voided")]
    replayer = Replayer(workflows=[SaleWorkflow], data_converter=temporal_client.data_converter)
    await replayer.replay_workflow(history)
