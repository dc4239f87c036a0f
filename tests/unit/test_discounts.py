"""Discounts, price overrides and the approval table: pure arithmetic and rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.approvals import DEFAULTS, Rule, check_rule, rules_with
from domain.discounts import Adjustment, apply_adjustments
from domain.errors import InvalidRequest
from domain.pricing import PriceInput, price_basket

RATES = {"standard": 1900, "reduced": 700}


def item(no: int, price: int, qty: int = 1, tax: str = "standard") -> PriceInput:
    return PriceInput(no, f"SKU-{no}", f"Item {no}", qty, price, tax)


def test_line_percent_amount_and_price_override() -> None:
    items = [item(1, 1450, 2), item(2, 890, 1, "reduced"), item(3, 1290)]
    priced, applied = apply_adjustments(
        items,
        [
            Adjustment("line", 1, "percent", 1000, "damaged"),
            Adjustment("line", 2, "amount", 100, "price_match"),
            Adjustment("line", 3, "price", 990, "wrong_price"),
        ],
    )
    assert [p.discount for p in priced] == [290, 100, 300]
    assert [(a.amount, a.share_bp, a.action) for a in applied] == [
        (290, 1000, "discount"),
        (100, 1124, "discount"),
        (300, 2326, "price_override"),
    ]
    quote = price_basket(priced, RATES, currency="EUR", prices_include_tax=True)
    assert quote.total == 2900 + 890 + 1290 - 690
    assert [ln.discount for ln in quote.lines] == [290, 100, 300]
    # tax is on what the customer pays: 26.10 gross at 19 %
    assert quote.lines[0].gross == 2610 and quote.lines[0].net + quote.lines[0].tax == 2610


def test_basket_discount_is_shared_to_the_cent_after_line_discounts() -> None:
    items = [item(1, 1290), item(2, 890, 1, "reduced"), item(3, 333, 3)]
    priced, applied = apply_adjustments(
        items,
        [
            Adjustment("line", 3, "percent", 5000, "staff"),
            Adjustment("basket", None, "amount", 1001, "customer_service"),
        ],
    )
    line3 = round(999 * 0.5)
    left = [1290, 890, 999 - line3]
    basket = sum(p.discount for p in priced) - line3
    assert basket == 1001 and applied[1].base == sum(left)
    assert all(0 <= p.discount <= p.unit_price * p.quantity for p in priced)


def test_gift_cards_and_bad_adjustments_are_refused() -> None:
    items = [item(1, 1000), item(2, 5000)]
    cases = [
        ([Adjustment("line", 2, "percent", 100, "staff")], frozenset({2})),  # a gift card
        ([Adjustment("line", 7, "percent", 100, "staff")], frozenset()),
        ([Adjustment("line", 1, "percent", 0, "staff")], frozenset()),
        ([Adjustment("line", 1, "percent", 10_001, "staff")], frozenset()),
        ([Adjustment("line", 1, "amount", 1001, "staff")], frozenset()),
        ([Adjustment("line", 1, "price", 1000, "staff")], frozenset()),  # not below the price
        ([Adjustment("line", 1, "percent", 100, "because")], frozenset()),
        ([Adjustment("basket", 1, "percent", 100, "staff")], frozenset()),
        ([Adjustment("basket", None, "price", 100, "staff")], frozenset()),
        ([Adjustment("basket", None, "amount", 6001, "staff")], frozenset()),
        (
            [
                Adjustment("line", 1, "percent", 100, "staff"),
                Adjustment("line", 1, "amount", 1, "staff"),
            ],
            frozenset(),
        ),
        (
            [
                Adjustment("basket", None, "percent", 100, "staff"),
                Adjustment("basket", None, "amount", 1, "staff"),
            ],
            frozenset(),
        ),
    ]
    for adjustments, exclude in cases:
        with pytest.raises(InvalidRequest):
            apply_adjustments(items, adjustments, exclude)


@given(
    prices=st.lists(st.integers(1, 100_000), min_size=1, max_size=8),
    bp=st.integers(1, 10_000),
    inclusive=st.booleans(),
)
def test_a_basket_percentage_never_goes_below_zero_and_adds_up(
    prices: list[int], bp: int, inclusive: bool
) -> None:
    items = [item(i + 1, p) for i, p in enumerate(prices)]
    priced, (applied,) = apply_adjustments(
        items, [Adjustment("basket", None, "percent", bp, "staff")]
    )
    assert sum(p.discount for p in priced) == applied.amount
    assert all(0 <= p.discount <= p.unit_price for p in priced)
    quote = price_basket(priced, RATES, currency="EUR", prices_include_tax=inclusive)
    assert quote.total >= 0 and sum(ln.net for ln in quote.lines) == quote.subtotal


def test_approval_rules() -> None:
    assert DEFAULTS["discount"].needs_manager("cashier", 1000) is False
    assert DEFAULTS["discount"].needs_manager("cashier", 1001) is True
    assert DEFAULTS["discount"].needs_manager("manager", 9000) is False
    assert DEFAULTS["void"].needs_manager("cashier") is True
    assert DEFAULTS["return_without_receipt"].needs_manager("cashier") is False
    table = rules_with({"void": Rule("void", False), "juggling": Rule("juggling", True)})
    assert table["void"].needs_manager("cashier") is False and "juggling" not in table
    assert check_rule("discount", True, 500) == Rule("discount", True, 500)
    for args in [
        ("juggling", True, None),
        ("void", True, 5),
        ("discount", True, 10_001),
        ("paid_out", True, -1),
    ]:
        with pytest.raises(InvalidRequest):
            check_rule(*args)
