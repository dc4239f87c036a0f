"""The promotions engine on hand-built baskets with known answers: every rule type, the scope
checks, coupons, budgets, stacking and exclusivity, and how manual discounts come after."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import pytest

from domain.discounts import Adjustment
from domain.errors import InvalidRequest
from domain.pricing import PriceInput, price_basket
from domain.promotions import (
    ENGINE_VERSION,
    MAX_APPLICATIONS,
    Basket,
    BasketLine,
    CouponState,
    Promotion,
    PromotionResult,
    Window,
    evaluate,
    parse_rule,
    price_inputs,
)

AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # a Tuesday, 13:00 in Berlin


def line(n: int, sku: str, price: int, qty: int = 1, category: str = "shirts") -> BasketLine:
    return BasketLine(line_no=n, sku=sku, category=category, quantity=qty, unit_price=price)


def basket(*lines: BasketLine, **kw: Any) -> Basket:
    return Basket(
        lines=lines,
        currency=kw.pop("currency", "EUR"),
        channel=kw.pop("channel", "store"),
        at=kw.pop("at", AT),
        timezone="Europe/Berlin",
        **kw,
    )


def promo(code: str, kind: str, rule: dict[str, Any], **kw: Any) -> Promotion:
    return Promotion(
        code=code,
        name=code.title(),
        kind=kind,  # type: ignore[arg-type]  # the tests name valid kinds
        rule=parse_rule(kind, rule),
        currency=kw.pop("currency", "EUR"),
        **kw,
    )


def off(result: PromotionResult) -> dict[int, int]:
    return {x.line_no: x.discount for x in result.lines}


def test_percent_off_products_and_categories() -> None:
    p = promo(
        "TEN",
        "percent_off",
        {"target": {"skus": ["A"], "categories": ["hats"]}, "percent_bp": 1000},
    )
    r = evaluate(
        basket(line(1, "A", 1999, 2), line(2, "B", 1000), line(3, "H", 505, 1, "hats")), [p]
    )
    assert off(r) == {1: 400, 2: 0, 3: 51}  # 10 % of 39.98 rounds half up to 4.00; of 5.05 to 0.51
    assert r.total_discount == 451 and r.engine_version == ENGINE_VERSION
    assert [(a.code, a.amount, a.lines, a.combination_class) for a in r.applied] == [
        ("TEN", 451, (1, 3), "product")
    ]


def test_amount_off_items_per_unit_never_below_zero() -> None:
    p = promo("FIVE", "amount_off", {"target": {"skus": ["A", "B"]}, "amount": 500})
    r = evaluate(basket(line(1, "A", 1200, 3), line(2, "B", 300)), [p])
    assert off(r) == {1: 1500, 2: 300}  # the 3.00 item is free, not below zero


def test_basket_percent_shared_to_the_cent() -> None:
    p = promo("ORDER10", "percent_off", {"target": "basket", "percent_bp": 1000})
    r = evaluate(basket(line(1, "A", 333), line(2, "B", 333), line(3, "C", 334)), [p])
    assert r.total_discount == 100 and sum(off(r).values()) == 100
    assert off(r) == {1: 33, 2: 33, 3: 34}
    assert r.applied[0].combination_class == "order"


def test_basket_amount_capped_at_the_basket() -> None:
    p = promo("BIG", "amount_off", {"target": "basket", "amount": 10_000})
    r = evaluate(basket(line(1, "A", 700), line(2, "B", 300)), [p])
    assert off(r) == {1: 700, 2: 300}


def test_buy_two_get_one_free_cheapest_first_with_limit() -> None:
    rule = {
        "buy": {"categories": ["shirts"]},
        "buy_quantity": 2,
        "get": {"categories": ["shirts"]},
        "get_quantity": 1,
        "max_applications": 1,
    }
    p = promo("B2G1", "buy_x_get_y", rule)
    b = basket(line(1, "A", 3000), line(2, "B", 2000), line(3, "C", 1000), line(4, "D", 1500))
    r = evaluate(b, [p])
    assert off(r) == {1: 0, 2: 0, 3: 1000, 4: 0}  # one application: the cheapest is free
    unlimited = promo("B2G1", "buy_x_get_y", {**rule, "max_applications": None})
    six = basket(*(line(n, f"S{n}", n * 1000) for n in range(1, 7)))
    assert off(evaluate(six, [unlimited])) == {1: 1000, 2: 2000, 3: 0, 4: 0, 5: 0, 6: 0}


def test_buy_x_get_y_half_price_other_product() -> None:
    rule = {
        "buy": {"skus": ["SUIT"]},
        "buy_quantity": 1,
        "get": {"skus": ["TIE"]},
        "get_quantity": 1,
        "percent_bp": 5000,
    }
    r = evaluate(
        basket(line(1, "SUIT", 20000), line(2, "TIE", 3001, 2)),
        [promo("SUITTIE", "buy_x_get_y", rule)],
    )
    assert off(r) == {1: 0, 2: 1501}  # one suit: one tie at half price (15.005 rounds up)


def test_bundle_fixed_price_for_a_set() -> None:
    rule = {
        "components": [
            {"target": {"skus": ["BURGER"]}, "quantity": 1},
            {"target": {"categories": ["drinks"]}, "quantity": 1},
        ],
        "price": 800,
    }
    b = basket(
        line(1, "BURGER", 650, 2),
        line(2, "COLA", 300, 1, "drinks"),
        line(3, "TEA", 250, 1, "drinks"),
    )
    r = evaluate(b, [promo("MEAL", "bundle", rule)])
    # Two meals: 650 + 300 -> 800 (150 off), 650 + 250 -> 800 (100 off), shared by price.
    assert r.total_discount == 250
    assert off(r) == {1: 103 + 72, 2: 47, 3: 28}  # 150 * 650 / 950 = 102.6 -> 103
    assert (
        evaluate(
            basket(line(1, "BURGER", 500), line(2, "TEA", 250, 1, "drinks")),
            [promo("MEAL", "bundle", rule)],
        ).total_discount
        == 0
    )


def test_tiered_spend_and_quantity() -> None:
    spend = promo(
        "SPEND",
        "tiered",
        {
            "target": "basket",
            "measure": "spend",
            "tiers": [
                {"threshold": 5000, "amount": 500},
                {"threshold": 10_000, "percent_bp": 1000},
            ],
        },
    )
    assert evaluate(basket(line(1, "A", 4999)), [spend]).total_discount == 0
    assert evaluate(basket(line(1, "A", 6000)), [spend]).total_discount == 500
    assert evaluate(basket(line(1, "A", 12_000)), [spend]).total_discount == 1200
    qty = promo(
        "SOCKS",
        "tiered",
        {
            "target": {"categories": ["socks"]},
            "measure": "quantity",
            "tiers": [{"threshold": 3, "percent_bp": 2000}],
        },
    )
    r = evaluate(
        basket(line(1, "S1", 500, 2, "socks"), line(2, "S2", 500, 1, "socks"), line(3, "A", 900)),
        [qty],
    )
    assert off(r) == {1: 200, 2: 100, 3: 0}
    assert r.applied[0].combination_class == "product"


def test_scope_channel_group_window_and_currency() -> None:
    base = {"target": "basket", "percent_bp": 1000}
    web = promo("WEB", "percent_off", base, channels=frozenset({"web"}))
    gold = promo("GOLD", "percent_off", base, customer_groups=frozenset({"gold"}))
    xmas = promo("XMAS", "percent_off", base, starts_at=datetime(2026, 12, 24, 9, 0))
    # Tuesdays 13:00-14:00 in Berlin: AT is 13:00 local (12:00 UTC).
    lunch = promo(
        "LUNCH",
        "percent_off",
        base,
        windows=(Window(days=frozenset({1}), start=time(13), end=time(14)),),
    )
    usd = promo("USD", "amount_off", {"target": "basket", "amount": 100}, currency="USD")
    b = basket(line(1, "A", 1000))
    r = evaluate(b, [web, gold, xmas, lunch, usd])
    assert [a.code for a in r.applied] == ["LUNCH"]
    assert {s.code: s.reason for s in r.skipped} == {
        "GOLD": "not_for_customer",
        "USD": "wrong_currency",
        "WEB": "out_of_channel",
        "XMAS": "outside_window",
    }
    later = basket(line(1, "A", 1000), at=datetime(2026, 12, 1, 13, 0, tzinfo=UTC))
    assert "LUNCH" not in [a.code for a in evaluate(later, [lunch]).applied]
    assert (
        evaluate(
            basket(line(1, "A", 1000), customer_groups=frozenset({"gold"})), [gold]
        ).total_discount
        == 100
    )


def test_priority_and_exclusivity() -> None:
    both = frozenset({"product", "order"})
    item = promo(
        "ITEM20",
        "percent_off",
        {"target": {"skus": ["A"]}, "percent_bp": 2000},
        priority=10,
        combines_with=both,
    )
    order = promo(
        "ORDER10",
        "percent_off",
        {"target": "basket", "percent_bp": 1000},
        priority=5,
        combines_with=both,
    )
    b = basket(line(1, "A", 1000), line(2, "B", 1000))
    r = evaluate(b, [order, item])
    # The item discount first (200 off A), then 10 % of what is left: 80 + 100.
    assert off(r) == {1: 280, 2: 100}
    assert {(d.promotion_code, d.amount) for d in r.lines[0].by_promotion} == {
        ("ITEM20", 200),
        ("ORDER10", 80),
    }
    exclusive = promo("VIP", "percent_off", {"target": "basket", "percent_bp": 3000}, priority=20)
    r = evaluate(b, [order, item, exclusive])
    assert [a.code for a in r.applied] == ["VIP"] and r.total_discount == 600
    assert {s.code: s.reason for s in r.skipped} == {
        "ITEM20": "not_combinable",
        "ORDER10": "not_combinable",
    }
    # One-sided "combines with" is not enough: both must combine with the other's class.
    shy = promo(
        "SHY",
        "percent_off",
        {"target": "basket", "percent_bp": 1000},
        priority=5,
        combines_with=frozenset({"order"}),
    )
    assert [a.code for a in evaluate(b, [item, shy]).applied] == ["ITEM20"]


def test_a_unit_gets_one_product_promotion() -> None:
    both = frozenset({"product"})
    a = promo(
        "A30",
        "percent_off",
        {"target": {"skus": ["A"]}, "percent_bp": 3000},
        priority=2,
        combines_with=both,
    )
    b = promo(
        "ALL10",
        "percent_off",
        {"target": {"categories": ["shirts"]}, "percent_bp": 1000},
        priority=1,
        combines_with=both,
    )
    r = evaluate(basket(line(1, "A", 1000), line(2, "B", 1000)), [b, a])
    assert off(r) == {1: 300, 2: 100}


def test_coupons_single_multi_and_per_customer() -> None:
    p = promo("SAVE5", "amount_off", {"target": "basket", "amount": 500}, requires_coupon=True)
    b = basket(line(1, "A", 2000), coupon_codes=("save5-abc",))
    assert evaluate(b, [p]).total_discount == 0  # no coupon known: refused as unknown
    fresh = CouponState(code="SAVE5-ABC", promotion_code="SAVE5")
    r = evaluate(b, [p], [fresh])
    assert r.total_discount == 500 and r.coupons_used == ("SAVE5-ABC",)
    used = CouponState(code="SAVE5-ABC", promotion_code="SAVE5", uses=1)
    assert [c.reason for c in evaluate(b, [p], [used]).coupons_refused] == ["used"]
    multi = CouponState(
        code="SAVE5-ABC",
        promotion_code="SAVE5",
        multi_use=True,
        uses=40,
        per_customer_limit=2,
        customer_uses=2,
    )
    assert [c.reason for c in evaluate(b, [p], [multi]).coupons_refused] == ["needs_customer"]
    with_customer = basket(
        line(1, "A", 2000), coupon_codes=("SAVE5-ABC", "SAVE5-ABC", "NOPE"), has_customer=True
    )
    refused = evaluate(with_customer, [p], [multi]).coupons_refused
    assert [(c.code, c.reason) for c in refused] == [
        ("NOPE", "unknown"),
        ("SAVE5-ABC", "customer_limit"),
        ("SAVE5-ABC", "duplicate"),
    ]
    assert all(c.message for c in refused)
    # Without a coupon a coupon promotion is silently not there (nothing to explain).
    assert evaluate(basket(line(1, "A", 2000)), [p]).skipped == ()


def test_coupon_refused_when_its_promotion_gives_nothing_or_is_beaten() -> None:
    p = promo(
        "HATS",
        "percent_off",
        {"target": {"categories": ["hats"]}, "percent_bp": 1000},
        requires_coupon=True,
    )
    c = CouponState(code="HAT10", promotion_code="HATS", multi_use=True)
    r = evaluate(basket(line(1, "A", 2000), coupon_codes=("HAT10",)), [p], [c])
    assert [(x.code, x.reason) for x in r.coupons_refused] == [("HAT10", "no_effect")]
    vip = promo("VIP", "percent_off", {"target": "basket", "percent_bp": 3000}, priority=9)
    r = evaluate(basket(line(1, "H", 2000, 1, "hats"), coupon_codes=("HAT10",)), [p, vip], [c])
    assert [(x.code, x.reason) for x in r.coupons_refused] == [("HAT10", "not_combinable")]


def test_budget_remaining_caps_and_stops() -> None:
    p = promo("TEN", "percent_off", {"target": "basket", "percent_bp": 1000}, remaining_amount=150)
    r = evaluate(basket(line(1, "A", 1000), line(2, "B", 1000)), [p])
    assert r.total_discount == 150 and off(r) == {1: 75, 2: 75}
    spent = promo("TEN", "percent_off", {"target": "basket", "percent_bp": 1000}, remaining_uses=0)
    assert evaluate(basket(line(1, "A", 1000)), [spent]).skipped[0].reason == "budget_spent"


def test_gift_cards_are_never_discounted() -> None:
    p = promo("ORDER10", "percent_off", {"target": "basket", "percent_bp": 1000})
    r = evaluate(basket(line(1, "A", 1000), line(2, "GIFT-CARD", 5000)), [p])
    assert off(r) == {1: 100, 2: 0}


@pytest.mark.parametrize(
    ("kind", "rule", "needle"),
    [
        ("percent_off", {"target": "basket", "percent_bp": 0}, "percent_bp"),
        ("percent_off", {"target": {"skus": []}, "percent_bp": 10}, "names no SKU"),
        ("amount_off", {"target": "basket", "amount": "5"}, "whole number"),
        (
            "buy_x_get_y",
            {"buy": "basket", "buy_quantity": 1, "get": {"skus": ["A"]}, "get_quantity": 1},
            "target",
        ),
        ("bundle", {"components": [], "price": 100}, "components"),
        ("tiered", {"target": "basket", "measure": "weight", "tiers": []}, "measure"),
        ("tiered", {"target": "basket", "measure": "spend", "tiers": [{"threshold": 1}]}, "either"),
        ("percent_off", {"target": "basket", "percent_bp": 10, "extra": 1}, "unknown field"),
        ("magic", {}, "not a promotion kind"),
    ],
)
def test_bad_rules_are_clear_422s(kind: str, rule: dict[str, Any], needle: str) -> None:
    with pytest.raises(InvalidRequest, match=needle) as err:
        parse_rule(kind, rule)
    assert err.value.code == "bad_promotion" and err.value.http_status == 422


def test_manual_discounts_come_after_promotions() -> None:
    p = promo("ORDER10", "percent_off", {"target": "basket", "percent_bp": 1000})
    items = [
        PriceInput(line_no=1, sku="A", name="A", quantity=1, unit_price=1000, tax_code="STD"),
        PriceInput(line_no=2, sku="B", name="B", quantity=2, unit_price=500, tax_code="STD"),
    ]
    r = evaluate(basket(line(1, "A", 1000), line(2, "B", 500, 2)), [p])
    adjustments = [
        Adjustment(scope="line", line=1, kind="percent", value=5000, reason="damaged"),
        Adjustment(scope="basket", line=None, kind="amount", value=100, reason="loyalty"),
    ]
    priced, applied = price_inputs(items, r, adjustments)
    # Promotions: 100 + 100. Line 1: half of the 900 left (450). Basket: 100 of 450 + 900.
    assert [i.discount for i in priced] == [100 + 450 + 33, 100 + 67]
    assert [a.amount for a in applied] == [450, 100]
    quote = price_basket(priced, {"STD": 1900}, currency="EUR", prices_include_tax=True)
    assert quote.total == 2000 - 750
    override = Adjustment(scope="line", line=1, kind="price", value=950, reason="price_match")
    priced, _ = price_inputs(items, r, [override])
    assert priced[0].discount == 100  # the promotion already went lower than the override
    with pytest.raises(InvalidRequest):
        price_inputs(
            items, r, [Adjustment(scope="line", line=1, kind="amount", value=950, reason="damaged")]
        )


def test_a_huge_basket_is_quick_and_capped() -> None:
    lines = tuple(line(n, f"S{n}", 100 + n, 9999) for n in range(1, 201))
    rule = {
        "buy": {"categories": ["shirts"]},
        "buy_quantity": 1,
        "get": {"categories": ["shirts"]},
        "get_quantity": 1,
    }
    r = evaluate(basket(*lines), [promo("BOGO", "buy_x_get_y", rule)])
    assert r.total_discount == MAX_APPLICATIONS * 101  # the cheapest units, at most 1000 times
