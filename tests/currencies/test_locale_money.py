"""Money as the store's locale writes it (issue 19): the digits are always the currency's ISO
4217 minor unit; the separators, the symbol and its place are CLDR's for the locale; a store
without a locale keeps the plain form. Report pages use the stores' locale, CSV stays plain."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from domain.errors import InvalidRequest
from domain.money_format import check_locale, format_amount, format_money
from reports.base import ReportParams, ReportResult, Section
from reports.render import render


@pytest.mark.parametrize(
    ("locale", "money", "amount"),
    [
        ("", "EUR 1234.50", "-1234.50"),
        ("de_DE", "1.234,50 €", "-1.234,50"),
        ("pt_PT", "1 234,50 €", "-1 234,50"),
        ("de_CH", "EUR 1'234.50", "-1'234.50"),
        ("en_GB", "€1,234.50", "-1,234.50"),
    ],
)
def test_euros_in_each_locale(locale: str, money: str, amount: str) -> None:
    assert format_money(123450, "EUR", locale, paper=True) == money
    assert format_amount(-123450, "EUR", locale, paper=True) == amount


def test_minor_units_come_from_iso_4217_not_the_locale() -> None:
    assert format_money(1500, "JPY", "de_DE", paper=True) == "1.500 ¥"  # no decimals
    assert format_money(1250, "BHD", "de_DE", paper=True) == "1,250 BHD"  # three
    assert format_amount(5, "EUR", "de_DE") == "0,05"  # after a three-decimal currency: still two
    assert format_money(2980, "CHF", "de_CH", paper=True) == "CHF 29.80"


def test_paper_gets_plain_spaces_and_pages_keep_no_break_ones() -> None:
    assert "\u00a0" in format_money(123450, "EUR", "pt_PT")  # the page does not wrap 1 234,50
    assert "\u00a0" not in format_money(123450, "EUR", "pt_PT", paper=True)


def test_a_locale_is_checked_and_spelled_one_way() -> None:
    assert check_locale("pt-PT") == "pt_PT" and check_locale(" de_ch ") == "de_CH"
    for bad in ("xx_QQ", "de_DE_x_y_z", "", "€"):
        with pytest.raises(InvalidRequest) as err:
            check_locale(bad)
        assert err.value.code == "bad_locale"


def _result(locale: str) -> ReportResult:
    day = date(2026, 11, 30)
    frame = pd.DataFrame({"store": ["BER"], "currency": ["EUR"], "total": [123450]})
    return ReportResult(
        name="toy",
        title="Toy",
        params=ReportParams(day, day),
        sections=(Section("by_store", "By store", frame, money=("total",)),),
        locale=locale,
    )


def test_the_report_page_writes_money_as_the_stores_locale_and_csv_stays_plain() -> None:
    page, _ = render(_result("de_DE"), "html")
    assert "1.234,50" in page.decode()
    csv, _ = render(_result("de_DE"), "csv")
    assert "1234.50" in csv.decode() and "1.234,50" not in csv.decode()
    plain, _ = render(_result(""), "html")
    assert "1234.50" in plain.decode()
