"""Hypothesis over generated baskets and promotion sets: nothing is ever priced below zero, the
discounts add up exactly (per promotion, per line, in all), budgets are never exceeded and the
result is the same whatever the order of the promotion list."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from helpers.promotion_rules import rules_over
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.pricing import PriceInput, price_basket
from domain.promotions import (
    Basket,
    BasketLine,
    CouponState,
    Promotion,
    evaluate,
    parse_rule,
    price_inputs,
)

SKUS = ["A", "B", "C", "D", "E"]
CATEGORIES = ["shirts", "hats", "socks"]
AT = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)

rules = rules_over(SKUS, CATEGORIES)


@st.composite
def promotions(draw: st.DrawFn) -> list[Promotion]:
    n = draw(st.integers(0, 6))
    out = []
    for i in range(n):
        kind, rule = draw(rules)
        out.append(
            Promotion(
                code=f"P{i}",
                name=f"P{i}",
                kind=kind,
                rule=parse_rule(kind, rule),
                priority=draw(st.integers(0, 3)),
                combines_with=frozenset(
                    draw(st.lists(st.sampled_from(["product", "order"]), max_size=2, unique=True))
                ),
                currency="EUR",
                requires_coupon=draw(st.booleans()) and i % 2 == 0,
                remaining_amount=draw(st.one_of(st.none(), st.integers(0, 5000))),
            )
        )
    return out


@st.composite
def baskets(draw: st.DrawFn) -> Basket:
    n = draw(st.integers(1, 6))
    lines = tuple(
        BasketLine(
            line_no=i + 1,
            sku=draw(st.sampled_from([*SKUS, "GIFT-CARD"])),
            category=draw(st.sampled_from(CATEGORIES)),
            quantity=draw(st.integers(1, 5)),
            unit_price=draw(st.integers(0, 20_000)),
        )
        for i in range(n)
    )
    coupons = tuple(draw(st.lists(st.sampled_from(["C0", "C2", "C4", "X"]), max_size=3)))
    return Basket(
        lines=lines,
        currency="EUR",
        channel="store",
        at=AT,
        timezone="Europe/Berlin",
        coupon_codes=coupons,
    )


COUPONS = [CouponState(code=f"C{i}", promotion_code=f"P{i}", multi_use=True) for i in (0, 2, 4)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(baskets(), promotions(), st.randoms(use_true_random=False))
def test_never_below_zero_sums_exact_and_order_free(
    basket: Basket, promos: list[Promotion], rnd: Any
) -> None:
    result = evaluate(basket, promos, COUPONS)
    by_line = {x.line_no: x for x in basket.lines}
    for r in result.lines:
        assert 0 <= r.discount <= by_line[r.line_no].extended
        assert sum(d.amount for d in r.by_promotion) == r.discount
        assert all(d.amount > 0 for d in r.by_promotion)
        if by_line[r.line_no].sku == "GIFT-CARD":
            assert r.discount == 0
    assert result.total_discount == sum(r.discount for r in result.lines)
    assert result.total_discount == sum(a.amount for a in result.applied)
    codes = [a.code for a in result.applied]
    assert len(codes) == len(set(codes))  # a promotion (and its budget) applies once
    budget = {p.code: p.remaining_amount for p in promos}
    for a in result.applied:
        cap = budget[a.code]
        assert a.amount > 0 and (cap is None or a.amount <= cap)
        per_line = sum(
            d.amount for r in result.lines for d in r.by_promotion if d.promotion_code == a.code
        )
        assert per_line == a.amount
    # Same input, same output; the order of the promotions and coupons does not matter.
    assert evaluate(basket, promos, COUPONS) == result
    shuffled = list(promos)
    rnd.shuffle(shuffled)
    assert evaluate(basket, shuffled, list(reversed(COUPONS))) == result
    # And it prices: the quote is never negative, and is the basket less the discounts.
    items = [
        PriceInput(
            line_no=x.line_no,
            sku=x.sku,
            name=x.sku,
            quantity=x.quantity,
            unit_price=x.unit_price,
            tax_code="STD",
        )
        for x in basket.lines
    ]
    priced, _ = price_inputs(items, result)
    quote = price_basket(priced, {"STD": 1900}, currency="EUR", prices_include_tax=True)
    assert quote.total == sum(x.extended for x in basket.lines) - result.total_discount >= 0
