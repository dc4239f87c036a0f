"""Store credit pays at a till only with proof the customer is there: the code on their card
(shown once, stored only as a hash) or a manager's approval with staff code and PIN; a customer
id alone (sequential, guessable) never spends anyone's balance."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from helpers.tills import login
from sqlalchemy import select
from temporalio.exceptions import ApplicationError

from activities.tenders import TenderActivities
from contracts.errors import from_failure
from contracts.sale import TenderAttempt
from db.models import Customer
from db.repositories import balances, customers
from db.session import Database
from domain.errors import InvalidRequest
from tillflow.adapters import reader_factory

PRICE = 390  # CHOC-DARK at the Berlin store


def customer_with_credit(db: Database, amount: int = 5000) -> tuple[int, str]:
    """A customer with store credit; their card code, as handed over once at creation."""
    with db.unit_of_work() as s:
        made = customers.create(
            s, name="Credit Proof", email=f"{uuid.uuid4().hex[:10]}@example.com"
        )
        balances.post_store_credit(
            s,
            made.id,
            delta=amount,
            reason="goodwill",
            reference="test",
            key=f"test:{uuid.uuid4()}",
        )
        return made.id, made.code


def credit(db: Database, customer_id: int) -> int:
    with db.unit_of_work() as s:
        return balances.store_credit_account(s, customer_id).balance


def sale(customer_id: int, **proof: Any) -> dict[str, Any]:
    return {
        "client_sale_id": f"sc-{uuid.uuid4().hex[:10]}",
        "lines": [{"sku": "CHOC-DARK", "quantity": 1}],
        "tenders": [
            {"kind": "store_credit", "amount": PRICE, "reference": str(customer_id), **proof}
        ],
    }


def test_the_code_is_shown_once_and_only_its_hash_is_kept(db: Database) -> None:
    customer_id, code = customer_with_credit(db, 100)
    assert len(customers.normalize_code(code)) == 16
    with db.unit_of_work() as s:
        row = s.scalar(select(Customer).where(Customer.id == customer_id))
        assert row is not None and row.code_hash == customers.code_digest(code)
        assert customers.normalize_code(code) not in str(
            [getattr(row, c.key) for c in Customer.__table__.columns]
        )
        renewed = customers.issue_code(s, customer_id)  # a lost card: the old code stops working
        assert not customers.digest_matches(s, customer_id, customers.code_digest(code))
        assert customers.digest_matches(s, customer_id, customers.code_digest(renewed))


async def test_store_credit_needs_the_customers_code_or_a_manager(api, db, cashier) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    customer_id, code = customer_with_credit(db)

    bare = await api.post("/tills/BER1/sales", json=sale(customer_id), headers=cashier)
    assert bare.status_code == 422, bare.text
    assert "proof the customer is here" in bare.json()["error"]["message"]

    wrong = await api.post(
        "/tills/BER1/sales",
        json=sale(customer_id, customer_code="AAAA-BBBB-CCCC-DDDD"),
        headers=cashier,
    )
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "customer_code_refused"
    other_id, other_code = customer_with_credit(db)
    theirs = await api.post(
        "/tills/BER1/sales", json=sale(customer_id, customer_code=other_code), headers=cashier
    )
    assert theirs.status_code == 403, theirs.text  # another customer's card spends nothing here
    assert credit(db, customer_id) == 5000 and credit(db, other_id) == 5000

    paid = await api.post(
        "/tills/BER1/sales", json=sale(customer_id, customer_code=code.lower()), headers=cashier
    )
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "completed" and credit(db, customer_id) == 5000 - PRICE
    assert code.replace("-", "") not in paid.text.replace("-", "")  # never echoed

    mia = {"staff_code": "9001", "pin": "9001"}
    approved = await api.post(
        "/tills/BER1/sales", json=sale(customer_id, approval=mia), headers=cashier
    )
    assert approved.status_code == 200 and approved.json()["status"] == "completed", approved.text
    assert credit(db, customer_id) == 5000 - 2 * PRICE

    carl = {"staff_code": "1001", "pin": "1234"}  # a cashier cannot approve (her own sale)
    not_manager = await api.post(
        "/tills/BER1/sales", json=sale(customer_id, approval=carl), headers=cashier
    )
    assert not_manager.status_code == 403, not_manager.text
    assert not_manager.json()["error"]["code"] == "approval_refused"
    bad_pin = await api.post(
        "/tills/BER1/sales",
        json=sale(customer_id, approval={"staff_code": "9001", "pin": "0000"}),
        headers=cashier,
    )
    assert bad_pin.status_code == 403 and bad_pin.json()["error"]["code"] == "approval_refused"
    assert credit(db, customer_id) == 5000 - 2 * PRICE
    # A refused approval is not the cashier's session failing: it still works.
    assert (
        await api.post(
            "/tills/BER1/quote",
            json={"lines": [{"sku": "CHOC-DARK", "quantity": 1}]},
            headers=cashier,
        )
    ).status_code == 200
    await login(api, "BER1", "9001", "9001")  # and the manager signs in as before (failures reset)


def test_the_balance_activity_refuses_store_credit_without_a_proof(db, gateway) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    customer_id, code = customer_with_credit(db, 1000)
    acts = TenderActivities(db, gateway, reader_factory(db, gateway))

    def attempt(proof: str) -> TenderAttempt:
        return TenderAttempt(
            workflow_id=f"sale:TEST:{uuid.uuid4().hex[:10]}",
            number=1,
            kind="store_credit",
            amount=300,
            tendered=300,
            currency="EUR",
            till_code="BER1",
            till_id=1,
            location_id=1,
            reference=str(customer_id),
            proof=proof,
        )

    _, other_code = customer_with_credit(db, 100)
    for proof in ("", f"customer:{customers.code_digest(other_code)}", "manager:999999"):
        with pytest.raises(ApplicationError) as err:
            acts.balance(attempt(proof))
        assert isinstance(from_failure(err.value), InvalidRequest)
    assert credit(db, customer_id) == 1000
    assert acts.balance(attempt(f"customer:{customers.code_digest(code)}")).approved
    assert credit(db, customer_id) == 700
