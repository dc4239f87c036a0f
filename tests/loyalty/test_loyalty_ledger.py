"""The points ledger on real PostgreSQL: earn, redeem and its refund, adjust, reverse, FIFO expiry,
idempotency of every posting, and 20 concurrent redemptions of one balance."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from db.repositories import loyalty
from db.session import Database
from domain.errors import InsufficientBalance, InvalidRequest, NotFound
from tests.loyalty.loyalty_kit import TIERS, Kit

T0 = datetime(2025, 1, 10, 12, tzinfo=UTC)


def _earn(db: Database, cid: int, ref: str, points: int, at: datetime, spend: int = 0) -> None:
    with db.unit_of_work() as s:
        loyalty.post_earn(s, cid, ref, points, f"{ref}:earn", spend=spend, tiers=TIERS, at=at)


def _balance(db: Database, cid: int) -> loyalty.LoyaltyBalance:
    with db.unit_of_work() as s:
        bal = loyalty.balance(s, cid)
        assert loyalty.ledger_sum(s, cid) == bal.balance  # the ledger always adds up
        return bal


def test_earn_redeem_refund_each_post_once(db: Database, kit: Kit) -> None:
    cid = kit.customer()
    for _ in range(2):  # a retried activity posts once
        _earn(db, cid, f"sale:T:{cid}", 120, T0, spend=12_000)
    bal = _balance(db, cid)
    assert (bal.balance, bal.tier, bal.spend_12m) == (120, "silver", 12_000)
    with db.unit_of_work() as s:
        first = loyalty.redeem(s, cid, 50, f"r:{cid}", reference="sale:x")
        again = loyalty.redeem(s, cid, 50, f"r:{cid}", reference="sale:x")
    assert (first.applied, first.balance, again.applied, again.balance) == (True, 70, False, 70)
    with db.unit_of_work() as s:
        refunded = loyalty.refund_redeem(s, f"r:{cid}")
        twice = loyalty.refund_redeem(s, f"r:{cid}")
        never = loyalty.refund_redeem(s, f"never-redeemed:{cid}")
    assert refunded is not None and refunded.applied and refunded.balance == 120
    assert twice is not None and not twice.applied
    assert never is None  # the compensation of a redemption that never happened: nothing
    assert _balance(db, cid).balance == 120


def test_a_redemption_never_overdraws(db: Database, kit: Kit) -> None:
    cid = kit.customer()
    _earn(db, cid, f"sale:T:{cid}", 30, T0)
    with pytest.raises(InsufficientBalance) as err, db.unit_of_work() as s:
        loyalty.redeem(s, cid, 31, f"r:{cid}")
    assert err.value.code == "insufficient_points" and err.value.http_status == 409
    with pytest.raises(InvalidRequest), db.unit_of_work() as s:
        loyalty.redeem(s, cid, 0, f"r0:{cid}")
    with pytest.raises(NotFound), db.unit_of_work() as s:
        loyalty.redeem(s, kit.customer(), 1, f"none:{cid}")  # no account: nothing to spend
    assert _balance(db, cid).balance == 30


def test_adjust_up_and_down_once_per_key(db: Database, kit: Kit) -> None:
    cid = kit.customer()
    with db.unit_of_work() as s:
        up = loyalty.adjust(s, cid, 40, f"a1:{cid}", reason="goodwill", actor_user_id=None)
        same = loyalty.adjust(s, cid, 40, f"a1:{cid}", reason="goodwill", actor_user_id=None)
        down = loyalty.adjust(s, cid, -15, f"a2:{cid}", reason="typo", actor_user_id=None)
    assert (up.balance, same.applied, down.balance) == (40, False, 25)
    with pytest.raises(InsufficientBalance), db.unit_of_work() as s:
        loyalty.adjust(s, cid, -26, f"a3:{cid}", reason="too much", actor_user_id=None)
    with pytest.raises(NotFound), db.unit_of_work() as s:
        loyalty.adjust(s, 2**31 - 2, 5, f"a4:{cid}", reason="nobody", actor_user_id=None)


def test_reverse_takes_what_is_left_once(db: Database, kit: Kit) -> None:
    cid = kit.customer()
    _earn(db, cid, f"sale:T:{cid}", 100, datetime.now(UTC) - timedelta(days=1), spend=10_000)
    assert _balance(db, cid).tier == "silver"
    with db.unit_of_work() as s:
        loyalty.redeem(s, cid, 80, f"r:{cid}")
        first = loyalty.post_reverse(
            s, cid, f"return:{cid}", f"sale:T:{cid}", 50, f"rv:{cid}", spend=5_000, tiers=TIERS
        )
        again = loyalty.post_reverse(
            s, cid, f"return:{cid}", f"sale:T:{cid}", 50, f"rv:{cid}", spend=5_000, tiers=TIERS
        )
    # 20 points were left: the return takes those (never below zero), and only once.
    assert (first.points, first.balance, again.applied) == (-20, 0, False)
    with db.unit_of_work() as s:
        assert loyalty.reversed_for(s, f"sale:T:{cid}") == (20, 5_000)
    bal = _balance(db, cid)
    assert (bal.spend_12m, bal.tier) == (5_000, "base")  # the return took the spend back too


def test_lots_expire_first_in_first_out_once(db: Database, kit: Kit) -> None:
    cid = kit.customer()
    _earn(db, cid, f"sale:A:{cid}", 100, T0)  # expires 2026-01-10
    _earn(db, cid, f"sale:B:{cid}", 50, T0 + timedelta(days=30))  # expires 2026-02-09
    with db.unit_of_work() as s:
        loyalty.redeem(s, cid, 120, f"r:{cid}", at=T0 + timedelta(days=40))
    bal = _balance(db, cid)
    # The first lot was spent first: what is left (30) is the second lot's, due 2026-02-09.
    assert (bal.balance, bal.next_expiry_points) == (30, 30)
    assert bal.next_expiry_at == datetime(2026, 2, 9, 12, tzinfo=UTC)
    jan = datetime(2026, 1, 20, tzinfo=UTC)
    with db.unit_of_work() as s:
        assert loyalty.expire_due(s, jan, tiers=TIERS, customer_ids=[cid]) == (1, 0)
    assert _balance(db, cid).balance == 30  # the due lot was used up: nothing went
    mar = datetime(2026, 3, 1, tzinfo=UTC)
    for _ in range(2):  # a second run closes nothing twice
        with db.unit_of_work() as s:
            loyalty.expire_due(s, mar, tiers=TIERS, customer_ids=[cid])
    bal = _balance(db, cid)
    assert (bal.balance, bal.next_expiry_at) == (0, None)
    with db.unit_of_work() as s:
        mine = [e.points for e in loyalty.ledger_page(s, cid, limit=10) if e.kind == "expire"]
    assert sorted(mine) == [-30, 0]  # one row per lot: the spent one closed with nothing


def test_twenty_concurrent_redemptions_never_overdraw(db: Database, kit: Kit) -> None:
    cid = kit.customer()
    _earn(db, cid, f"sale:T:{cid}", 100, T0)
    barrier = threading.Barrier(20)
    wins: list[int] = []
    refused: list[str] = []
    lock = threading.Lock()

    def spend(n: int) -> None:
        barrier.wait()
        try:
            with db.unit_of_work() as s:
                loyalty.redeem(s, cid, 15, f"race:{cid}:{n}")
            with lock:
                wins.append(15)
        except InsufficientBalance as err:
            with lock:
                refused.append(err.code)

    threads = [threading.Thread(target=spend, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bal = _balance(db, cid)
    assert len(wins) == 6 and sum(wins) <= 100  # 6 x 15 = 90; a seventh would overdraw
    assert len(refused) == 14 and set(refused) == {"insufficient_points"}
    assert bal.balance == 10


def test_a_merge_moves_the_points_once(db: Database, kit: Kit) -> None:
    dup, keep = kit.customer(), kit.customer()
    _earn(db, dup, f"sale:D:{dup}", 40, datetime.now(UTC))
    _earn(db, keep, f"sale:K:{keep}", 10, datetime.now(UTC))
    for _ in range(2):
        with db.unit_of_work() as s:
            loyalty.move_on_merge(s, dup, keep, f"merge:{dup}:{keep}", actor_user_id=None)
    assert (_balance(db, dup).balance, _balance(db, keep).balance) == (0, 50)
    with db.unit_of_work() as s:
        assert loyalty.move_on_merge(s, kit.customer(), keep, "merge:none", actor_user_id=None) == 0
