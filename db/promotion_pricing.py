"""The promotions of a basket, for every channel alike: the till's quote and sale, the storefront's
cart and checkout, the offline till's replay. One engine (domain/promotions.py) with the set the
sale pinned, the budgets left now, the coupons entered and the customer's groups (read only)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from contracts.promotions import LinePromotion, PromotionPin, PromotionTake
from db.repositories import customers
from db.repositories import promotions as repo
from domain.errors import Conflict
from domain.pricing import PriceInput
from domain.promotions import Basket, PromotionResult, basket_lines, engine

COUPON_REFUSED = "coupon_refused"


@dataclass(frozen=True, kw_only=True)
class PromotionScope:
    """Where and for whom a basket is priced."""

    pin: PromotionPin
    channel: str  # store | web
    currency: str
    timezone: str  # the location's
    at: datetime  # aware: when the sale happens (an offline sale: when the till sold it)
    customer_id: int | None = None
    coupon_codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Promoted:
    """What the promotions give a basket: the engine's answer, per line, and what to reserve."""

    result: PromotionResult | None = None
    lines: tuple[LinePromotion, ...] = ()
    takes: tuple[PromotionTake, ...] = ()
    refused: tuple[str, ...] = field(default=())  # why each coupon entered was refused

    @property
    def total(self) -> int:
        return 0 if self.result is None else self.result.total_discount


NOTHING = Promoted()


def promote(
    session: Session,
    items: Sequence[PriceInput],
    categories: Mapping[str, str],
    scope: PromotionScope | None,
) -> Promoted:
    """The promotions the basket gets (reserves nothing: `take` does, in the saga)."""
    if scope is None or (not scope.pin.promotions and not scope.coupon_codes):
        return NOTHING
    run = engine(scope.pin.engine_version)
    basket = Basket(
        lines=basket_lines(items, categories),
        currency=scope.currency,
        channel=scope.channel,
        at=scope.at,
        timezone=scope.timezone,
        customer_groups=customers.groups_of(session, scope.customer_id),
        has_customer=scope.customer_id is not None,
        coupon_codes=scope.coupon_codes,
    )
    result = run(
        basket,
        repo.engine_set(session, scope.pin),
        repo.coupon_states(session, scope.coupon_codes, scope.customer_id),
    )
    pinned = {p.code: p for p in scope.pin.promotions}
    names = {a.code: a for a in result.applied}
    lines = tuple(
        LinePromotion(
            line_no=ln.line_no,
            code=d.promotion_code,
            name=names[d.promotion_code].name,
            amount=d.amount,
            coupon=names[d.promotion_code].coupon or "",
        )
        for ln in result.lines
        for d in ln.by_promotion
    )
    takes = tuple(
        PromotionTake(
            promotion_id=pinned[a.code].promotion_id,
            code=a.code,
            amount=a.amount,
            coupon=a.coupon or "",
        )
        for a in result.applied
        if pinned[a.code].budgeted or a.coupon
    )
    return Promoted(
        result=result,
        lines=lines,
        takes=takes,
        refused=tuple(f"{c.code}: {c.message}" for c in result.coupons_refused),
    )


def refuse_coupons(promoted: Promoted) -> None:
    """A sale or order never goes on with a coupon it cannot honour: the cashier (or shopper)
    takes it off, or the customer brings another."""
    if promoted.refused:
        raise Conflict(
            f"Coupon {'; '.join(promoted.refused)} Take it off to go on without it.",
            code=COUPON_REFUSED,
        )


def line_promotions(lines: Sequence[LinePromotion]) -> dict[int, list[dict[str, object]]]:
    """Per line number, what each promotion took off (the order line's `promotions`)."""
    out: dict[int, list[dict[str, object]]] = {}
    for ln in lines:
        out.setdefault(ln.line_no, []).append(
            {"code": ln.code, "name": ln.name, "amount": ln.amount, "coupon": ln.coupon}
        )
    return out
