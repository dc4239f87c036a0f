"""An offline journal entry whose client_sale_id an online attempt used first is never left pending:
each kind of earlier attempt (completed; abandoned; failed / refused; still open; still running)
ends in `applied` (under the sale's own id, or a new one linked to it) or `flagged` for a manager,
and the sale lands exactly once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from helpers.stock import assert_ledger_balanced, on_hand
from helpers.tills import login
from helpers.webstore import new_product
from sqlalchemy import select
from temporalio.client import Client

from contracts.replay import (
    JournalEntry,
    JournalLine,
    JournalTender,
    ReplayRequest,
    replacement_workflow_id,
    replay_journal,
)
from contracts.sale import (
    SALE_WORKFLOW,
    BasketLine,
    SaleRequest,
    SaleResult,
    TenderIn,
    sale_workflow_id,
)
from db.models import Order
from db.repositories import users

PRICE = 1000


def journal_entry(cid: str, sku: str) -> dict[str, Any]:
    """The till's offline record of a one-unit cash sale, just now (the product is new: it had no
    price any earlier)."""
    return {
        "client_sale_id": cid,
        "sold_at": datetime.now(UTC).isoformat(),
        "cashier": "cora",
        "lines": [{"sku": sku, "quantity": 1, "unit_price": PRICE}],
        "tenders": [{"kind": "cash", "amount": PRICE, "tendered": 2000}],
        "total": PRICE,
        "change_due": 1000,
    }


def orders_of(db, cid: str) -> dict[str, str]:  # type: ignore[no-untyped-def]  # takes untyped fixture values
    """{workflow id: status} of every order of this client sale id, under any id."""
    wf = sale_workflow_id("BER2", cid)
    with db.unit_of_work() as s:
        rows = s.scalars(
            select(Order).where((Order.workflow_id == wf) | Order.workflow_id.like(f"{wf}~%"))
        ).all()
        return {o.workflow_id: o.status for o in rows}


async def upload(api, auth, entry: dict[str, Any]) -> dict[str, Any]:  # type: ignore[no-untyped-def]  # untyped fixture values
    r = await api.post(
        "/tills/BER2/journal",
        params={"wait": 25},
        json={"batch_id": f"conflict-{uuid.uuid4().hex[:12]}", "entries": [entry]},
        headers=auth,
    )
    # Answered within the wait, complete: applied or flagged, never pending.
    assert r.status_code == 200, r.text
    assert r.json()["complete"] is True, r.json()
    [result] = r.json()["entries"]
    return dict(result)


async def online_sale(api, auth, cid: str, sku: str, cash: int) -> dict[str, Any]:  # type: ignore[no-untyped-def]  # untyped fixture values
    r = await api.post(
        "/tills/BER2/sales",
        json={
            "client_sale_id": cid,
            "lines": [{"sku": sku, "quantity": 1}],
            "tenders": [{"kind": "cash", "amount": cash}],
        },
        headers=auth,
    )
    return {"status_code": r.status_code, **r.json()}


async def test_online_attempt_completed_the_entry_is_that_sale(api, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    auth = await login(api, "BER2", "1002", "2345")
    sku = new_product(db, {"BER": 5}, price=PRICE)
    cid = f"cf-done-{uuid.uuid4().hex[:8]}"
    sold = await online_sale(api, auth, cid, sku, 2000)
    assert sold["status_code"] == 200 and sold["status"] == "completed", sold
    got = await upload(api, auth, journal_entry(cid, sku))
    assert got["status"] == "applied" and got["sale_id"] == sold["sale_id"], got
    assert orders_of(db, cid) == {sale_workflow_id("BER2", cid): "completed"}
    assert on_hand(db, "BER", sku) == 4
    assert_ledger_balanced(db)


async def test_online_attempt_abandoned_the_entry_applies_under_a_new_id(api, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    auth = await login(api, "BER2", "1002", "2345")
    sku = new_product(db, {"BER": 5}, price=PRICE)
    cid = f"cf-gone-{uuid.uuid4().hex[:8]}"
    # Online: too little cash, the sale waits open (its unit held off stock) ... then walks away.
    opened = await online_sale(api, auth, cid, sku, 400)
    assert opened["status"] == "open" and opened["due"] == 600, opened
    r = await api.post(f"/tills/BER2/sales/{cid}/abandon", headers=auth)
    assert r.status_code == 200 and r.json()["status"] == "abandoned", r.text
    assert on_hand(db, "BER", sku) == 5  # the abandoned attempt gave its unit back
    # The till had sold it offline with the same client id (its link dropped meanwhile).
    got = await upload(api, auth, journal_entry(cid, sku))
    new_id = replacement_workflow_id(sale_workflow_id("BER2", cid))
    assert got["status"] == "applied" and got["sale_id"].startswith("BER2-"), got
    assert new_id in got["message"] and sale_workflow_id("BER2", cid) in got["message"]
    assert orders_of(db, cid) == {new_id: "completed"}
    assert on_hand(db, "BER", sku) == 4  # taken once, under the new id
    # Uploaded again: the same answer, nothing applied twice.
    again = await upload(api, auth, journal_entry(cid, sku))
    assert again["status"] == "applied" and again["sale_id"] == got["sale_id"]
    assert orders_of(db, cid) == {new_id: "completed"} and on_hand(db, "BER", sku) == 4
    assert_ledger_balanced(db)


async def test_online_attempt_refused_the_entry_applies_under_a_new_id(api, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    auth = await login(api, "BER2", "1002", "2345")
    sku = new_product(db, {"BER": 5}, price=PRICE)
    cid = f"cf-fail-{uuid.uuid4().hex[:8]}"
    refused = await online_sale(api, auth, cid, "NO-SUCH-SKU", 2000)  # the Sale fails: refused
    assert refused["status_code"] in (404, 422), refused
    got = await upload(api, auth, journal_entry(cid, sku))
    new_id = replacement_workflow_id(sale_workflow_id("BER2", cid))
    assert got["status"] == "applied" and new_id in got["message"], got
    assert orders_of(db, cid) == {new_id: "completed"}
    assert on_hand(db, "BER", sku) == 4
    assert_ledger_balanced(db)


async def test_online_attempt_still_open_is_abandoned_and_the_entry_applies(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, db, temporal_client
) -> None:
    auth = await login(api, "BER2", "1002", "2345")
    sku = new_product(db, {"BER": 5}, price=PRICE)
    cid = f"cf-open-{uuid.uuid4().hex[:8]}"
    opened = await online_sale(api, auth, cid, sku, 400)
    assert opened["status"] == "open", opened
    assert on_hand(db, "BER", sku) == 4  # held by the open attempt
    # The customer paid in full offline: the open attempt is abandoned (its cash part voided, its
    # unit restored) and the offline sale applies under a new id.
    got = await upload(api, auth, journal_entry(cid, sku))
    new_id = replacement_workflow_id(sale_workflow_id("BER2", cid))
    assert got["status"] == "applied" and new_id in got["message"], got
    online = temporal_client.get_workflow_handle(
        sale_workflow_id("BER2", cid), result_type=SaleResult
    )
    assert (await online.result()).status == "abandoned"
    assert orders_of(db, cid) == {new_id: "completed"}
    assert on_hand(db, "BER", sku) == 4  # one unit sold, once
    assert_ledger_balanced(db)


async def test_online_attempt_still_running_is_waited_for_then_flagged(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, db, temporal_client: Client
) -> None:
    auth = await login(api, "BER2", "1002", "2345")
    sku = new_product(db, {"BER": 5}, price=PRICE)
    cid = f"cf-run-{uuid.uuid4().hex[:8]}"
    with db.unit_of_work() as s:
        cora = users.user_by_username(s, "cora")
        assert cora is not None
        cora_id = cora.id
    # An online attempt that runs and never finishes: its worker is gone (a queue nobody polls).
    wf = sale_workflow_id("BER2", cid)
    stuck = await temporal_client.start_workflow(
        SALE_WORKFLOW,
        SaleRequest(
            till_code="BER2",
            client_sale_id=cid,
            cashier_id=cora_id,
            lines=(BasketLine(sku=sku, quantity=1),),
            tenders=(TenderIn(kind="card", amount=PRICE),),
        ),
        id=wf,
        task_queue=f"nobody-polls-{uuid.uuid4().hex[:8]}",
    )
    try:
        e = journal_entry(cid, sku)
        request = ReplayRequest(
            till_code="BER2",
            batch_id=f"conflict-{uuid.uuid4().hex[:12]}",
            uploaded_by=cora_id,
            entries=(
                JournalEntry(
                    client_sale_id=cid,
                    sold_at=datetime.fromisoformat(e["sold_at"]),
                    cashier="cora",
                    lines=(JournalLine(sku=sku, quantity=1, unit_price=PRICE),),
                    tenders=(JournalTender(kind="cash", amount=PRICE, tendered=2000),),
                    total=PRICE,
                    change_due=1000,
                ),
            ),
            running_wait_s=4,  # the default waits 15 minutes
        )
        result = await replay_journal(temporal_client, request, store="BER", wait_s=60)
        assert result is not None
        [entry] = result.entries
        assert entry.status == "flagged" and "still running" in entry.message, entry
        assert orders_of(db, cid) == {} and on_hand(db, "BER", sku) == 5
        manager = await login(api, "BER1", "9001", "9001")
        flagged = (await api.get("/stores/BER/offline-sales/flagged", headers=manager)).json()
        assert [f["message"] for f in flagged if f["client_sale_id"] == cid] == [entry.message]
        # Uploaded again, it stays with the manager: flagged, never pending, never applied twice.
        again = await upload(api, auth, e)
        assert again["status"] == "flagged", again
        assert orders_of(db, cid) == {} and on_hand(db, "BER", sku) == 5
    finally:
        await stuck.terminate("test: the stuck online attempt is ended by ops")
