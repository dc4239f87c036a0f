"""Minor units per ISO 4217 (JPY none, BHD / KWD three) in domain/money.py and on receipts."""

from __future__ import annotations

from iso4217 import Currency

from contracts.devices import ReceiptLine
from devices.receipt import item_lines
from domain.money import exponent, format_minor


def test_the_exponent_table_is_iso_4217_list_one() -> None:
    official = {c.code: c.exponent for c in Currency if c.exponent is not None}
    assert {code: exponent(code) for code in official} == official
    assert (
        exponent("JPY"),
        exponent("CHF"),
        exponent("EUR"),
        exponent("BHD"),
        exponent("KWD"),
    ) == (
        0,
        2,
        2,
        3,
        3,
    )
    assert exponent("jpy") == 0


def test_formatting_uses_the_minor_units() -> None:
    assert format_minor(1234, "JPY") == "1234"
    assert format_minor(1234, "JPY", symbol=True) == "¥1234"
    assert format_minor(1234, "BHD") == "1.234"
    assert format_minor(-5, "KWD") == "-0.005"
    assert format_minor(1490, "CHF", symbol=True) == "CHF 14.90"
    assert format_minor(7, "EUR") == "0.07"
    assert format_minor(12345, "CLF") == "1.2345"


def test_receipt_lines_print_the_currency_s_minor_units() -> None:
    yen = ReceiptLine(
        name="Tea", sku="TEA", quantity=2, unit_price=450, line_total=900, tax_code="standard"
    )
    dinar = ReceiptLine(
        name="Tea", sku="TEA", quantity=1, unit_price=1250, line_total=1250, tax_code="standard"
    )
    assert "2 x 450" in " ".join(item_lines(yen, "JPY")) and "900" in item_lines(yen, "JPY")[0]
    printed = " ".join(item_lines(dinar, "BHD"))
    assert "1.250" in printed and "12.50" not in printed
