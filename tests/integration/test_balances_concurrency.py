"""Gift cards and store credit never go negative, even under 20 concurrent redemptions."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from activities.tenders import TenderActivities
from contracts.sale import TenderAttempt
from db.models import Customer
from db.models_payments import StoreCreditAccount, StoreCreditEntry
from db.repositories import balances, customers
from domain.tenders import TenderKind
from tillflow.adapters import reader_factory


def attempt(kind: TenderKind, reference: str, amount: int, proof: str = "") -> TenderAttempt:
    wf = f"sale:TEST:{uuid.uuid4().hex[:10]}"
    return TenderAttempt(
        workflow_id=wf,
        number=1,
        kind=kind,
        amount=amount,
        tendered=amount,
        currency="EUR",
        till_code="BER1",
        till_id=1,
        location_id=1,
        reference=reference,
        proof=proof,
    )


def redeem_concurrently(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db, gateway, kind: TenderKind, reference: str, amount: int, n: int = 20, proof: str = ""
) -> list[bool]:
    acts = TenderActivities(db, gateway, reader_factory(db, gateway))
    with ThreadPoolExecutor(max_workers=n) as pool:
        return [
            r.approved
            for r in pool.map(
                acts.balance, [attempt(kind, reference, amount, proof) for _ in range(n)]
            )
        ]


def test_twenty_concurrent_gift_card_redemptions(db, gateway) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    with db.unit_of_work() as s:
        code = balances.issue_gift_card(
            s, amount=10_000, currency="EUR", key=f"test:{uuid.uuid4()}", reference="test"
        ).code
    approved = redeem_concurrently(db, gateway, "gift_card", code, 700)
    assert approved.count(True) == 14 and approved.count(False) == 6  # 14 x 7.00 = 98.00 of 100.00
    with db.unit_of_work() as s:
        assert balances.gift_card(s, code).balance == 200
        assert balances.gift_card_ledger_sum(s, code) == 200


def test_twenty_concurrent_store_credit_redemptions(db, gateway) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    with db.unit_of_work() as s:
        customer = Customer(name="Credit Test", email=f"{uuid.uuid4().hex[:8]}@example.com")
        s.add(customer)
        s.flush()
        balances.post_store_credit(
            s,
            customer.id,
            delta=5000,
            reason="goodwill",
            reference="test",
            key=f"test:{uuid.uuid4()}",
        )
        customer_id = customer.id
        # The customer is at the till: the code on their card (store credit needs the proof).
        proof = f"customer:{customers.code_digest(customers.issue_code(s, customer_id))}"
    approved = redeem_concurrently(db, gateway, "store_credit", str(customer_id), 300, proof=proof)
    assert approved.count(True) == 16
    with db.unit_of_work() as s:
        account = s.scalar(
            select(StoreCreditAccount).where(StoreCreditAccount.customer_id == customer_id)
        )
        total = s.scalar(
            select(func.sum(StoreCreditEntry.delta)).where(
                StoreCreditEntry.account_id == account.id
            )
        )
        assert account.balance == 200 == total


def test_a_retried_redemption_posts_once(db, gateway) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    with db.unit_of_work() as s:
        code = balances.issue_gift_card(
            s, amount=1000, currency="EUR", key=f"test:{uuid.uuid4()}", reference="test"
        ).code
    acts = TenderActivities(db, gateway, reader_factory(db, gateway))
    same = attempt("gift_card", code, 400)
    assert acts.balance(same).approved and acts.balance(same).approved
    with db.unit_of_work() as s:
        assert balances.gift_card(s, code).balance == 600
