"""Pricing and tax: inclusive and exclusive prices, rounding per line, per-rate summaries."""

from __future__ import annotations

import pytest

from domain.errors import InvalidRequest
from domain.pricing import PriceInput, price_basket, price_line

RATES = {"standard": 1900, "reduced": 700, "zero": 0}


def item(qty: int, price: int, tax: str = "standard", no: int = 1) -> PriceInput:
    return PriceInput(no, f"SKU{no}", f"Item {no}", qty, price, tax)


def test_inclusive_price_splits_tax_out_of_the_gross() -> None:
    line = price_line(item(1, 1190), 1900, prices_include_tax=True)
    assert (line.gross, line.net, line.tax) == (1190, 1000, 190)


def test_exclusive_price_adds_tax_on_top() -> None:
    line = price_line(item(3, 999), 1900, prices_include_tax=False)
    assert (line.net, line.tax, line.gross) == (2997, 569, 3566)  # 569.43 -> 569


def test_rounding_is_half_up_once_per_line_not_per_unit() -> None:
    # 3 x 0.05 at 10 % exclusive: per unit 0.005 would round to 0.01 each (0.03); per line 0.015 ->
    # 0.02.
    line = price_line(item(3, 5), 1000, prices_include_tax=False)
    assert line.tax == 2
    half = price_line(item(1, 25), 1000, prices_include_tax=False)  # 2.5 -> 3
    assert half.tax == 3


def test_basket_totals_and_tax_breakdown() -> None:
    q = price_basket(
        [item(2, 1290, no=1), item(1, 890, "reduced", no=2), item(1, 500, "zero", no=3)],
        RATES,
        currency="EUR",
        prices_include_tax=True,
    )
    assert q.total == 2580 + 890 + 500
    assert q.total == q.subtotal + q.tax_total
    assert [(t.code, t.rate_bp) for t in q.taxes] == [
        ("reduced", 700),
        ("standard", 1900),
        ("zero", 0),
    ]
    assert sum(t.tax for t in q.taxes) == q.tax_total


@pytest.mark.parametrize("qty", [0, -1, 10000])
def test_bad_quantities_are_refused(qty: int) -> None:
    with pytest.raises(InvalidRequest, match="quantity"):
        price_basket([item(qty, 100)], RATES, currency="EUR", prices_include_tax=True)


def test_empty_basket_and_unknown_tax_are_refused() -> None:
    with pytest.raises(InvalidRequest, match="empty"):
        price_basket([], RATES, currency="EUR", prices_include_tax=True)
    with pytest.raises(InvalidRequest, match="no tax rate"):
        price_basket([item(1, 100, "luxury")], RATES, currency="EUR", prices_include_tax=True)
