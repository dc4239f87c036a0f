"""The loyalty activities against real rows: a recorded sale earns once, its return takes back its
share once, redeem and its compensation, the expiry run."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from temporalio.exceptions import ApplicationError

from activities.loyalty import LoyaltyActivities
from contracts.errors import from_failure
from contracts.loyalty import EarnCmd, ExpireCmd, RedeemCmd, RefundRedeemCmd, ReverseCmd
from db.repositories import loyalty
from db.session import Database
from domain.errors import InsufficientBalance, NotFound
from tests.loyalty.loyalty_kit import Kit


def test_a_sale_earns_once_and_its_returns_take_it_back(db: Database, kit: Kit) -> None:
    cid, mug, tea = kit.customer(), kit.sku(), kit.sku()
    acts = LoyaltyActivities(db, kit.rules_with(mug))
    sale = kit.order(cid, [(mug, 2, 4_000), (tea, 1, 2_050)])
    first = acts.earn_for_order(EarnCmd(workflow_id=sale.workflow_id))
    again = acts.earn_for_order(EarnCmd(workflow_id=sale.workflow_id))
    # 60.50: 60 points, 2 mugs x 20 bonus, 5 for the order
    assert (first.status, first.points, first.balance) == ("posted", 105, 105)
    assert (again.status, again.balance) == ("already_posted", 105)
    # The tea comes back (20.50 of 60.50): its share of the points goes, once.
    ret = kit.returned(sale, [(2, tea, 1, 2_050)])
    back = acts.reverse_for_return(ReverseCmd(workflow_id=ret))
    assert acts.reverse_for_return(ReverseCmd(workflow_id=ret)).status == "already_posted"
    assert back.points == -(105 * 2_050 // 6_050) == -35 and back.balance == 70
    # Then the mugs: everything returned, everything taken back.
    ret2 = kit.returned(sale, [(1, mug, 2, 4_000)])
    assert acts.reverse_for_return(ReverseCmd(workflow_id=ret2)).balance == 0
    with db.unit_of_work() as s:
        assert loyalty.ledger_sum(s, cid) == 0
        assert loyalty.balance(s, cid).spend_12m == 0


def test_orders_without_a_customer_earn_nothing(db: Database, kit: Kit) -> None:
    acts = LoyaltyActivities(db, kit.rules_with())
    sale = kit.order(None, [(kit.sku(), 1, 999)])
    assert acts.earn_for_order(EarnCmd(workflow_id=sale.workflow_id)).status == "no_customer"
    # Refusals cross Temporal as non-retryable failures that decode to the same error.
    with pytest.raises(ApplicationError) as err:
        acts.earn_for_order(EarnCmd(workflow_id="sale:NOPE:never-recorded"))
    assert isinstance(from_failure(err.value), NotFound) and err.value.non_retryable
    with pytest.raises(ApplicationError) as err:
        acts.reverse_for_return(ReverseCmd(workflow_id="return:never-recorded"))
    assert isinstance(from_failure(err.value), NotFound)


def test_a_silver_customer_earns_more(db: Database, kit: Kit) -> None:
    cid, sku = kit.customer(), kit.sku()
    acts = LoyaltyActivities(db, kit.rules_with())
    big = acts.earn_for_order(EarnCmd(workflow_id=kit.order(cid, [(sku, 1, 10_000)]).workflow_id))
    assert (big.points, big.tier) == (105, "silver")  # 100.00 reaches silver, from then on x1.5
    nxt = acts.earn_for_order(EarnCmd(workflow_id=kit.order(cid, [(sku, 1, 1_000)]).workflow_id))
    assert nxt.points == 10 * 150 // 100 + 5


def test_redeem_and_its_compensation(db: Database, kit: Kit) -> None:
    cid, sku = kit.customer(), kit.sku()
    acts = LoyaltyActivities(db, kit.rules_with())
    acts.earn_for_order(EarnCmd(workflow_id=kit.order(cid, [(sku, 1, 5_000)]).workflow_id))
    cmd = RedeemCmd(customer_id=cid, points=40, key=f"sale:X:{cid}:loyalty:redeem", reference="x")
    r = acts.redeem(cmd)
    assert (r.points, r.value, r.balance) == (40, 40, 15)
    assert acts.redeem(cmd).balance == 15  # a retry takes nothing more
    with pytest.raises(ApplicationError) as err:
        acts.redeem(RedeemCmd(customer_id=cid, points=16, key=f"other:{cid}", reference="y"))
    assert isinstance(from_failure(err.value), InsufficientBalance)
    back = acts.refund_redeem(RefundRedeemCmd(key=cmd.key))
    assert (back.status, back.balance) == ("posted", 55)
    assert acts.refund_redeem(RefundRedeemCmd(key=cmd.key)).status == "already_posted"
    assert acts.refund_redeem(RefundRedeemCmd(key=f"never:{cid}")).status == "nothing"


def test_the_expiry_run_closes_due_lots(db: Database, kit: Kit) -> None:
    cid, sku = kit.customer(), kit.sku()
    acts = LoyaltyActivities(db, kit.rules_with())
    acts.earn_for_order(EarnCmd(workflow_id=kit.order(cid, [(sku, 1, 2_000)]).workflow_id))
    with db.unit_of_work() as s:
        due = loyalty.balance(s, cid).next_expiry_at
    assert due is not None
    result = acts.expire(ExpireCmd(now=due))
    assert result.points >= 25 and result.accounts >= 1
    acts.expire(ExpireCmd(now=due))  # a second run closes the lot no second time
    with db.unit_of_work() as s:
        assert loyalty.balance(s, cid).balance == 0
        kinds = [e.kind for e in loyalty.ledger_page(s, cid)]
    assert kinds == ["expire", "earn"]
    assert datetime.now(UTC) < due  # earned today: a year away
