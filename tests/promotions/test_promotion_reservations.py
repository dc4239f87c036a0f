"""Reserving a promotion's budget on real PostgreSQL: 20 tills at once on a coupon with a budget of
5 uses get exactly 5; a single-use coupon goes once; a customer's limit holds; a release gives
the use back; everything is idempotent per sale."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from db.repositories import promotions as repo
from db.session import Database
from domain.errors import Conflict

TILLS = 20


@pytest.fixture
def tag() -> str:
    return uuid.uuid4().hex[:8].upper()


def _promotion(db: Database, code: str, **kw: object) -> int:
    with db.unit_of_work() as s:
        view = repo.create(
            s,
            repo.PromotionDraft(
                code=code,
                name=f"Test {code}",
                kind="amount_off",
                rule={"target": "basket", "amount": 100},
                requires_coupon=True,
                currency="EUR",
                **kw,  # type: ignore[arg-type]  # the tests pass draft fields
            ),
        )
    return view.id


@pytest.fixture
def switch_off(db: Database) -> Iterator[list[str]]:
    """Promotions to switch off after the test (the ledgers are append-only: rows stay)."""
    made: list[str] = []
    yield made
    with db.unit_of_work() as s:
        for code in made:
            repo.deactivate(s, code)


def _race(db: Database, attempt: object) -> list[bool]:
    barrier = threading.Barrier(TILLS)

    def till(n: int) -> bool:
        barrier.wait()
        try:
            with db.unit_of_work() as s:
                attempt(s, n)  # type: ignore[operator]  # a callable given by the test
            return True
        except Conflict:
            return False

    with ThreadPoolExecutor(TILLS) as pool:
        return list(pool.map(till, range(TILLS)))


def test_twenty_tills_budget_of_five(db: Database, tag: str, switch_off: list[str]) -> None:
    code, coupon = f"R{tag}", f"C{tag}"
    pid = _promotion(db, code, budget_uses=5)
    switch_off.append(code)
    with db.unit_of_work() as s:
        repo.add_coupon(s, code, coupon, multi_use=True, per_customer_limit=None)

    results = _race(db, lambda s, n: repo.reserve(s, pid, coupon, None, f"sale-{tag}-{n}", 100))
    assert results.count(True) == 5
    with db.unit_of_work() as s:
        view = repo.get(s, code)
        assert (view.used_uses, view.used_amount) == (5, 500)
        winner = f"sale-{tag}-{results.index(True)}"
        # A retried activity gets its reservation back, not a second one.
        assert repo.reserve(s, pid, coupon, None, winner, 100).amount == 100
        assert repo.get(s, code).used_uses == 5
        with pytest.raises(Conflict) as err:
            repo.reserve(s, pid, coupon, None, f"sale-{tag}-late", 100)
        assert err.value.code == repo.BUDGET_SPENT
    with db.unit_of_work() as s:
        assert repo.release(s, winner) == 1
        assert repo.release(s, winner) == 0  # compensation is idempotent too
        assert repo.get(s, code).used_uses == 4
        assert repo.reserve(s, pid, coupon, None, f"sale-{tag}-late", 100).amount == 100
        with pytest.raises(Conflict) as err:
            repo.reserve(s, pid, coupon, None, winner, 100)  # a released sale cannot retake it
        assert err.value.code == "reservation_released"
        # The engine's input shows what is left.
        promo = next(p for p in repo.active_set(s, "BER", "store") if p.code == code)
        assert promo.remaining_uses == 0


def test_single_use_coupon_goes_once(db: Database, tag: str, switch_off: list[str]) -> None:
    code, coupon = f"S{tag}", f"ONCE{tag}"
    pid = _promotion(db, code)
    switch_off.append(code)
    with db.unit_of_work() as s:
        repo.add_coupon(s, code, coupon, multi_use=False, per_customer_limit=None)
    results = _race(db, lambda s, n: repo.reserve(s, pid, coupon, None, f"once-{tag}-{n}", 100))
    assert results.count(True) == 1
    with db.unit_of_work() as s:
        (state,) = repo.coupon_states(s, [coupon.lower()], None)
        assert state.uses == 1 and not state.multi_use


def test_budget_of_money_and_per_customer_limit(
    db: Database, tag: str, switch_off: list[str]
) -> None:
    code, coupon = f"M{tag}", f"CUST{tag}"
    pid = _promotion(db, code, budget_amount=250)
    switch_off.append(code)
    with db.unit_of_work() as s:
        repo.add_coupon(s, code, coupon, multi_use=True, per_customer_limit=2)
    results = _race(db, lambda s, n: repo.reserve(s, pid, coupon, 7, f"cust-{tag}-{n}", 100))
    assert results.count(True) == 2  # the customer's limit (2) binds before the budget (250)
    with db.unit_of_work() as s:
        assert repo.coupon_states(s, [coupon], 7)[0].customer_uses == 2
        assert repo.reserve(s, pid, coupon, 8, f"cust-{tag}-other", 50).amount == 50
        with pytest.raises(Conflict) as err:
            repo.reserve(s, pid, coupon, 9, f"cust-{tag}-over", 100)  # 250 - 250 left: 0
        assert err.value.code == repo.BUDGET_SPENT
        with pytest.raises(Conflict) as err:
            repo.reserve(s, pid, coupon, None, f"cust-{tag}-anon", 0)
        assert err.value.code == repo.COUPON_CUSTOMER_LIMIT
