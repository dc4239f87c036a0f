"""Tender settlement, money formatting and EAN-13 check digits."""

from __future__ import annotations

import pytest

from domain.barcodes import ean13_check_digit, is_valid_ean13, make_ean13
from domain.errors import InsufficientTender, InvalidRequest
from domain.money import format_minor
from domain.tenders import Tendered, settle


def test_cash_overpayment_gives_change() -> None:
    s = settle(2900, [Tendered("cash", 2000), Tendered("cash", 1000)], "EUR")
    assert s.change_due == 100
    assert [(a.tendered, a.applied) for a in s.applied] == [(2000, 2000), (1000, 900)]


def test_exact_cash_has_no_change() -> None:
    assert settle(990, [Tendered("cash", 990)], "EUR").change_due == 0


def test_short_tender_says_what_is_still_due() -> None:
    with pytest.raises(InsufficientTender, match="10.00 still due"):
        settle(2490, [Tendered("cash", 1490)], "EUR")


def test_unknown_or_non_positive_tenders_are_refused() -> None:
    with pytest.raises(InvalidRequest, match="not accepted"):
        settle(100, [Tendered("cheque", 100)], "EUR")
    with pytest.raises(InvalidRequest, match="positive"):
        settle(100, [Tendered("cash", 0)], "EUR")
    with pytest.raises(InsufficientTender):
        settle(100, [], "EUR")


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
