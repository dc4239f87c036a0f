"""Loyalty points' activities: earn for a recorded order, reverse for a recorded return, redeem
and its compensation, a manager's adjustment (audited), the daily expiry. Each posts once per
idempotency key derived from its business id, so a retried activity changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio import activity

from contracts.errors import encode_errors
from contracts.loyalty import (
    ADJUST_ACTIVITY,
    EARN_ACTIVITY,
    EXPIRE_ACTIVITY,
    REDEEM_ACTIVITY,
    REFUND_REDEEM_ACTIVITY,
    REVERSE_ACTIVITY,
    AdjustRequest,
    EarnCmd,
    ExpireCmd,
    ExpiryResult,
    LoyaltyPosting,
    RedeemCmd,
    RedeemResult,
    RefundRedeemCmd,
    ReverseCmd,
)
from db.models import Order, OrderLine
from db.models_returns import Return, ReturnLine
from db.repositories import bookkeeping, loyalty
from db.session import Database
from domain import loyalty as rules
from domain.errors import NotFound

_NOT_EARNING = ("cancelled", "voided", "void", "rejected")


def _tier(s: Session, customer_id: int, tiers: tuple[rules.Tier, ...]) -> rules.Tier:
    try:
        return rules.tier_named(loyalty.account(s, customer_id).tier, tiers)
    except NotFound:
        return tiers[0]


@encode_errors
class LoyaltyActivities:
    """Points postings against the real ledger, each idempotent."""

    def __init__(self, db: Database, loyalty_rules: rules.LoyaltyRules) -> None:
        self.db = db
        self.rules = loyalty_rules

    @activity.defn(name=EARN_ACTIVITY)
    def earn_for_order(self, cmd: EarnCmd) -> LoyaltyPosting:
        """Post the points of the recorded order of this Sale / OnlineOrder workflow, once."""
        with self.db.unit_of_work() as s:
            order = s.scalar(select(Order).where(Order.workflow_id == cmd.workflow_id))
            if order is None:
                raise NotFound(f"No order is recorded for {cmd.workflow_id}.", code="no_order")
            if order.customer_id is None:
                return LoyaltyPosting(status="no_customer")
            if order.status in _NOT_EARNING:
                return LoyaltyPosting(status="nothing", customer_id=order.customer_id)
            lines = [
                rules.EarnLine(ln.sku, ln.quantity, ln.gross)
                for ln in s.scalars(
                    select(OrderLine)
                    .where(OrderLine.order_id == order.id)
                    .order_by(OrderLine.line_no)
                )
            ]
            tier = _tier(s, order.customer_id, self.rules.tiers)
            earned = rules.points_for_order(lines, self.rules, tier)
            posted = loyalty.post_earn(
                s,
                order.customer_id,
                cmd.workflow_id,
                earned.total,
                loyalty.earn_key(cmd.workflow_id),
                spend=earned.spend,
                expiry_months=self.rules.expiry_months,
                tiers=self.rules.tiers,
            )
            return self._posting(s, order.customer_id, posted)

    @activity.defn(name=REVERSE_ACTIVITY)
    def reverse_for_return(self, cmd: ReverseCmd) -> LoyaltyPosting:
        """Take back the share of its sale's points that this recorded return refunds, once."""
        with self.db.unit_of_work() as s:
            ret = s.scalar(select(Return).where(Return.workflow_id == cmd.workflow_id))
            if ret is None:
                raise NotFound(f"No return is recorded for {cmd.workflow_id}.", code="no_return")
            # A void takes the whole sale back, its points with it.
            if ret.order_id is None or ret.status == "rejected":
                return LoyaltyPosting(status="nothing", customer_id=ret.customer_id)
            order = s.get_one(Order, ret.order_id)
            earn = loyalty.earned_for(s, order.workflow_id)
            if earn is None or order.customer_id is None:
                return LoyaltyPosting(status="nothing", customer_id=order.customer_id)
            refunded = sum(
                rl.refund_amount
                for rl in s.scalars(select(ReturnLine).where(ReturnLine.return_pk == ret.id))
            )
            _, spend_before = loyalty.reversed_for(s, order.workflow_id)
            key = f"{cmd.workflow_id}:loyalty:reverse"
            points = rules.points_to_reverse(earn.points, earn.spend, spend_before, refunded)
            spend = max(min(refunded, earn.spend - spend_before), 0)
            posted = loyalty.post_reverse(
                s,
                order.customer_id,
                cmd.workflow_id,
                order.workflow_id,
                points,
                key,
                spend=spend,
                tiers=self.rules.tiers,
            )
            return self._posting(s, order.customer_id, posted)

    @activity.defn(name=REDEEM_ACTIVITY)
    def redeem(self, cmd: RedeemCmd) -> RedeemResult:
        """Spend points as a tender, once per key (InsufficientBalance when short)."""
        with self.db.unit_of_work() as s:
            posted = loyalty.redeem(
                s, cmd.customer_id, cmd.points, cmd.key, reference=cmd.reference
            )
            taken = -posted.points
            return RedeemResult(
                points=taken, value=rules.points_value(taken, self.rules), balance=posted.balance
            )

    @activity.defn(name=REFUND_REDEEM_ACTIVITY)
    def refund_redeem(self, cmd: RefundRedeemCmd) -> LoyaltyPosting:
        """Compensation of `redeem`: give its points back, once (nothing if it never posted)."""
        with self.db.unit_of_work() as s:
            posted = loyalty.refund_redeem(s, cmd.key, expiry_months=self.rules.expiry_months)
            if posted is None:
                return LoyaltyPosting(status="nothing")
            return LoyaltyPosting(
                status="posted" if posted.applied else "already_posted",
                points=posted.points,
                balance=posted.balance,
            )

    @activity.defn(name=ADJUST_ACTIVITY)
    def adjust(self, req: AdjustRequest) -> LoyaltyPosting:
        """A manager's adjustment with its reason, and its audit row, in one transaction."""
        with self.db.unit_of_work() as s:
            posted = loyalty.adjust(
                s,
                req.customer_id,
                req.points,
                f"loyalty:adjust:{req.key}",
                reason=req.reason,
                actor_user_id=req.actor_user_id,
                expiry_months=self.rules.expiry_months,
            )
            if posted.applied:
                bookkeeping.audit(
                    s,
                    action="loyalty.adjust",
                    subject=f"customer:{req.customer_id}",
                    actor_user_id=req.actor_user_id,
                    workflow_id=activity.info().workflow_id if activity.in_activity() else None,
                    detail={"points": req.points, "reason": req.reason, "balance": posted.balance},
                )
            return self._posting(s, req.customer_id, posted)

    @activity.defn(name=EXPIRE_ACTIVITY)
    def expire(self, cmd: ExpireCmd) -> ExpiryResult:
        """Close every lot expired by `now` (first in, first out), once per lot."""
        with self.db.unit_of_work() as s:
            accounts, points = loyalty.expire_due(s, cmd.now, tiers=self.rules.tiers)
            return ExpiryResult(accounts=accounts, points=points)

    def _posting(self, s: Session, customer_id: int, posted: loyalty.Posted) -> LoyaltyPosting:
        return LoyaltyPosting(
            status="posted" if posted.applied else "already_posted",
            customer_id=customer_id,
            points=posted.points,
            balance=posted.balance,
            tier=loyalty.account(s, customer_id).tier,
        )


def loyalty_activities(db: Database, loyalty_rules: rules.LoyaltyRules) -> list[Callable[..., Any]]:
    """Every loyalty activity, for the central worker (and the sales worker for earn / redeem)."""
    a = LoyaltyActivities(db, loyalty_rules)
    return [
        a.earn_for_order,
        a.reverse_for_return,
        a.redeem,
        a.refund_redeem,
        a.adjust,
        a.expire,
    ]
