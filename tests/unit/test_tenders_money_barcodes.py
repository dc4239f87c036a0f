"""Tender planning, money formatting and EAN-13 check digits."""

from __future__ import annotations

import pytest

from domain.barcodes import ean13_check_digit, is_valid_ean13, make_ean13
from domain.errors import InvalidRequest
from domain.money import format_minor
from domain.tenders import plan_tender


def test_cash_overpayment_gives_change() -> None:
    plan = plan_tender(2900, "cash", 5000, "EUR")
    assert (plan.tendered, plan.applied, plan.change) == (5000, 2900, 2100)


def test_partial_cash_leaves_the_rest_due() -> None:
    plan = plan_tender(2900, "cash", 1000, "EUR")
    assert (plan.applied, plan.change) == (1000, 0)


def test_non_cash_may_not_exceed_what_is_due() -> None:
    assert plan_tender(2900, "card", 2900, "EUR").applied == 2900
    with pytest.raises(InvalidRequest, match="only from cash"):
        plan_tender(2900, "gift_card", 3000, "EUR")


def test_refusals() -> None:
    with pytest.raises(InvalidRequest, match="not accepted"):
        plan_tender(100, "cheque", 100, "EUR")
    with pytest.raises(InvalidRequest, match="positive"):
        plan_tender(100, "cash", 0, "EUR")
    with pytest.raises(InvalidRequest, match="paid in full"):
        plan_tender(0, "cash", 100, "EUR")


def test_format_minor() -> None:
    assert format_minor(1234, "EUR") == "12.34"
    assert format_minor(-5, "EUR") == "-0.05"
    assert format_minor(1234, "JPY") == "1234"
    assert format_minor(1234, "EUR", symbol=True) == "€12.34"


def test_ean13() -> None:
    assert ean13_check_digit("400638133393") == 1  # 4006381333931, a well-known valid EAN
    assert is_valid_ean13("4006381333931") and not is_valid_ean13("4006381333932")
    assert is_valid_ean13(make_ean13("123456789012"))
    with pytest.raises(ValueError):
        ean13_check_digit("12")
