"""domain/barcodes.py beyond EAN-13: UPC-A and EAN-8 with their check digits, and a UPC-A and its
leading-0 EAN-13 spelling being one barcode. Pure: no database, no Temporal."""

from __future__ import annotations

import pytest

from domain.barcodes import BadBarcode, check, kind_of, same_item_codes


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("036000291452", "UPCA"),  # a well-known UPC-A (check digit 2)
        ("0-36000-29145-2", "UPCA"),  # as printed under the bars: dashes are dropped
        ("96385074", "EAN8"),  # a well-known EAN-8 (check digit 4)
        ("73513537", "EAN8"),
        ("4006381333931", "EAN13"),
    ],
)
def test_valid_upc_a_and_ean_8(code: str, kind: str) -> None:
    checked = check(code)
    assert checked.kind == kind and kind_of(code) == kind
    assert checked.code == code.replace("-", "")


@pytest.mark.parametrize(
    ("code", "given", "right"),
    [("036000291453", "3", "2"), ("96385075", "5", "4"), ("73513530", "0", "7")],
)
def test_a_wrong_check_digit_is_refused_with_the_right_one(
    code: str, given: str, right: str
) -> None:
    with pytest.raises(BadBarcode) as err:
        check(code)
    assert f"check digit {given}, but its first digits give {right}" in str(err.value)


def test_other_lengths_and_characters_are_refused() -> None:
    with pytest.raises(BadBarcode, match="has 7 digits"):
        check("9638507")
    with pytest.raises(BadBarcode, match="characters other than digits"):
        check("03600029145X")
    with pytest.raises(BadBarcode, match="14-digit GTIN"):
        check("10036000291459")


def test_a_upc_a_and_its_ean_13_spelling_are_one_barcode() -> None:
    upc, ean13 = "036000291452", "0036000291452"
    assert check(ean13).kind == "EAN13"  # both spellings are valid on their own...
    assert set(same_item_codes(upc)) == set(same_item_codes(ean13)) == {upc, ean13}  # ...one item
    assert same_item_codes("4006381333931") == ("4006381333931",)  # no leading 0: no other form
    assert same_item_codes("96385074") == ("96385074",)  # an EAN-8 is its own number
