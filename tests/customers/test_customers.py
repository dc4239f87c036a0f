"""Customer profiles (issue 17) through the real API on PostgreSQL: created at the till and found
again by phone in another format, a web order linked by email, merge, export and erasure, and
bad input refused with a clear 4xx."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime
from typing import Any

from helpers.api import password_login, till_login
from sqlalchemy import func, select

from db.models import Location, Order
from db.models_customers import CustomerConsent, CustomerEmail
from db.models_payments import StoreCreditAccount, StoreCreditEntry
from db.repositories import balances, bookkeeping, customers, orders
from db.session import Database


def _berlin_number() -> tuple[str, str]:
    """A fresh Berlin landline as a cashier types it and as E.164."""
    subscriber = str(random.randint(2_000_000, 9_999_999))
    return f"030 {subscriber}", f"+4930{subscriber}"


def _order(db: Database, customer_id: int, total: int = 1190) -> int:
    with db.unit_of_work() as s:
        ber = s.scalar(select(Location.id).where(Location.code == "BER"))
        added = orders.add_order(
            s,
            orders.NewOrder(
                workflow_id=f"sale:test-customers:{uuid.uuid4().hex}",
                number_prefix="TST",
                channel="store",
                fulfilment_type="in_store",
                status="completed",
                location_id=ber,
                till_id=None,
                cashier_id=None,
                currency="EUR",
                subtotal=total - 190,
                tax_total=190,
                total=total,
                change_due=0,
                warnings=[],
                placed_at=datetime.now(UTC),
                lines=[],
                customer_id=customer_id,
            ),
        )
        assert added is not None
        return added.id


async def _manager(api: Any) -> dict[str, str]:
    return await password_login(api, "mia", "manager-demo")


async def test_created_at_the_till_and_found_again_by_phone(api: Any, db: Database) -> None:
    cashier = await till_login(api)
    typed, e164 = _berlin_number()
    made = await api.post(
        "/customers",
        json={"name": "  Ana   Silva ", "phone": typed},
        headers={**cashier, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["name"] == "Ana Silva" and body["card_code"]
    assert body["contacts_masked"] and body["phones"][0]["number"].endswith(e164[-2:])
    assert e164 not in made.text  # a cashier never sees the number in full

    international = f"+49 30 {e164[5:]}"
    at_till = await api.get("/tills/BER1/customers", params={"q": international}, headers=cashier)
    assert at_till.status_code == 200, at_till.text
    assert [c["customer_id"] for c in at_till.json()] == [body["id"]]
    listed = await api.get("/customers", params={"q": e164}, headers=await _manager(api))
    assert [c["id"] for c in listed.json()["items"]] == [body["id"]]
    assert listed.json()["items"][0]["phones"] == [{"number": e164, "primary": True}]

    again = await api.post(
        "/customers", json={"name": "Someone Else", "phone": international}, headers=cashier
    )
    assert again.status_code == 409, again.text
    assert f"customer {body['id']}" in again.json()["error"]["message"]


async def test_bad_input_is_a_clear_4xx(api: Any) -> None:
    cashier = await till_login(api)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"name": "No Contact"}, "customer_contact_missing"),
        ({"name": "Bad Phone", "phone": "12"}, "bad_phone"),
        ({"name": "Bad Mail", "email": "not-an-email"}, "bad_email"),
        ({"name": "   ", "email": f"{uuid.uuid4().hex}@example.com"}, "customer_name_missing"),
    ]
    for payload, code in cases:
        answer = await api.post("/customers", json=payload, headers=cashier)
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["code"] == code
    unknown = await api.get("/customers/2147483000", headers=cashier)
    assert unknown.status_code == 404
    consent = await api.post(
        "/customers/2147483000/consents", json={"channel": "fax", "granted": True}, headers=cashier
    )
    assert consent.status_code == 422
    refused = await api.post("/customers/1/erase", headers=cashier)
    assert refused.status_code == 403


async def test_a_web_order_is_linked_by_email_and_found_by_it(api: Any, db: Database) -> None:
    """The activity recording a web order calls `customers.link_for_order`; this drives that
    function against the database with an order row (not the whole OnlineOrder flow)."""
    email = f"web-{uuid.uuid4().hex[:10]}@Example.com"
    with db.unit_of_work() as s:
        first = customers.link_for_order(s, email, "Wanda Web", "")
        second = customers.link_for_order(s, email.lower(), "W. Web", "")
        assert customers.link_for_order(s, "", "Nobody", "") is None
    assert first is not None and first == second
    order_id = _order(db, first)
    with db.unit_of_work() as s:
        row = s.scalar(select(CustomerEmail).where(CustomerEmail.email == email.lower()))
        assert row is not None and row.verified and row.customer_id == first
    cashier = await till_login(api)
    found = await api.get("/tills/BER1/customers", params={"q": email}, headers=cashier)
    assert [c["customer_id"] for c in found.json()] == [first]
    detail = await api.get(f"/customers/{first}", headers=cashier)
    assert detail.status_code == 200, detail.text
    with db.unit_of_work() as s:
        number = s.scalar(select(Order.number).where(Order.id == order_id))
    assert [o["number"] for o in detail.json()["orders"]] == [number]


async def test_merge_moves_orders_and_store_credit(api: Any, db: Database) -> None:
    manager = await _manager(api)
    ids = []
    for name in ("Dup One", "Dup Two"):
        made = await api.post(
            "/customers",
            json={"name": name, "email": f"{uuid.uuid4().hex[:10]}@example.com"},
            headers=manager,
        )
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])
    dup, keep = ids
    order_id = _order(db, dup, total=2500)
    with db.unit_of_work() as s:
        balances.post_store_credit(
            s, dup, delta=700, reason="refund", reference="test", key=f"test:{uuid.uuid4().hex}"
        )
        before = s.scalar(select(func.sum(Order.total)).where(Order.id == order_id))
    key = uuid.uuid4().hex
    merged = await api.post(
        f"/customers/{dup}/merge",
        json={"into": keep},
        headers={**manager, "Idempotency-Key": key},
    )
    assert merged.status_code == 200, merged.text
    assert merged.json()["orders_moved"] == 1 and merged.json()["store_credit_moved"] == 700
    replay = await api.post(
        f"/customers/{dup}/merge", json={"into": keep}, headers={**manager, "Idempotency-Key": key}
    )
    assert replay.json() == merged.json()
    with db.unit_of_work() as s:
        order = s.get_one(Order, order_id)
        assert order.customer_id == keep and order.total == before  # the sale still counts
        accounts = {
            a.customer_id: a
            for a in s.scalars(
                select(StoreCreditAccount).where(StoreCreditAccount.customer_id.in_(ids))
            )
        }
        assert accounts[dup].balance == 0 and accounts[keep].balance == 700
        reasons = s.scalars(
            select(StoreCreditEntry.reason).where(
                StoreCreditEntry.account_id.in_([a.id for a in accounts.values()])
            )
        ).all()
        assert sorted(reasons) == ["merge", "merge", "refund"]
        assert [e.action for e in bookkeeping.audit_entries(s, f"customer:{dup}")][-1] == (
            "customer.merged"
        )
    gone = await api.get(f"/customers/{dup}", headers=manager)
    assert gone.json()["merged_into"] == keep
    twice = await api.post(f"/customers/{dup}/merge", json={"into": keep}, headers=manager)
    assert twice.status_code == 409
    selfish = await api.post(f"/customers/{keep}/merge", json={"into": keep}, headers=manager)
    assert selfish.status_code == 422


async def test_export_then_erasure_keeps_the_sale(api: Any, db: Database) -> None:
    manager = await _manager(api)
    email = f"erase-{uuid.uuid4().hex[:10]}@example.com"
    typed, e164 = _berlin_number()
    made = await api.post(
        "/customers", json={"name": "Erin Erase", "email": email, "phone": typed}, headers=manager
    )
    assert made.status_code == 201, made.text
    cid = made.json()["id"]
    consent = await api.post(
        f"/customers/{cid}/consents",
        json={"channel": "email", "granted": True, "source": "till"},
        headers=manager,
    )
    assert consent.json()["consents"] == {"email": True}
    order_id = _order(db, cid)

    exported = await api.get(f"/customers/{cid}/export", headers=manager)
    assert exported.status_code == 200
    assert email in exported.text and e164 in exported.text and "Erin" in exported.text
    erased = await api.post(f"/customers/{cid}/erase", headers=manager)
    assert erased.status_code == 200, erased.text
    assert erased.json()["name"] == f"Erased customer {cid}"

    after = await api.get(f"/customers/{cid}/export", headers=manager)
    assert email not in after.text and e164 not in after.text and "Erin" not in after.text
    assert len(after.json()["orders"]) == 1 and after.json()["customer"]["emails"] == []
    with db.unit_of_work() as s:
        assert s.get_one(Order, order_id).customer_id == cid  # a sale stays a sale
        assert (
            s.scalar(
                select(func.count())
                .select_from(CustomerConsent)
                .where(CustomerConsent.customer_id == cid)
            )
            == 1
        )
        actions = [e.action for e in bookkeeping.audit_entries(s, f"customer:{cid}")]
    assert {"customer.exported", "customer.erased"} <= set(actions)
    found = await api.get("/customers", params={"q": email}, headers=manager)
    assert found.json()["items"] == []
