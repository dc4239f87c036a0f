"""Retail barcodes: EAN-13, UPC-A and EAN-8 with their GS1 check digits (python-stdnum)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from stdnum import ean
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength, ValidationError

BarcodeKind = Literal["EAN13", "UPCA", "EAN8"]
KINDS: dict[int, BarcodeKind] = {13: "EAN13", 12: "UPCA", 8: "EAN8"}
KIND_NAMES: dict[BarcodeKind, str] = {"EAN13": "EAN-13", "UPCA": "UPC-A", "EAN8": "EAN-8"}


def ean13_check_digit(first12: str) -> int:
    """The GS1 mod-10 check digit of the first twelve digits."""
    if len(first12) != 12 or not first12.isdigit():
        raise ValueError("EAN-13 needs exactly twelve digits before the check digit")
    return int(ean.calc_check_digit(first12))


def make_ean13(first12: str) -> str:
    return first12 + str(ean13_check_digit(first12))


def is_valid_ean13(code: str) -> bool:
    return len(code) == 13 and code.isdigit() and ean.is_valid(code)


@dataclass(frozen=True)
class CheckedBarcode:
    code: str  # digits only, as it will be stored and scanned
    kind: BarcodeKind


class BadBarcode(ValueError):
    """Not an EAN-13 / UPC-A / EAN-8 with a right check digit; the message says what is wrong."""


def compact(code: str) -> str:
    """The digits of a barcode as printed under its bars (spaces and dashes dropped)."""
    return str(ean.compact(code))


def check(code: str) -> CheckedBarcode:
    """The barcode and its kind, or BadBarcode saying what is wrong with it."""
    digits = compact(code)
    shown = code.strip() or "(empty)"
    if not digits:
        raise BadBarcode("A barcode cannot be empty.")
    try:
        ean.validate(digits)
    except InvalidLength:  # before InvalidFormat: stdnum derives it from that
        raise BadBarcode(
            f"Barcode {shown!r} has {len(digits)} digits; an EAN-13 has 13, a UPC-A 12, an EAN-8 8."
        ) from None
    except InvalidFormat:
        raise BadBarcode(f"Barcode {shown!r} has characters other than digits.") from None
    except InvalidChecksum:
        right = ean.calc_check_digit(digits[:-1])
        raise BadBarcode(
            f"Barcode {shown!r} has check digit {digits[-1]}, but its first digits give "
            f"{right}: mistyped?"
        ) from None
    except ValidationError as err:  # pragma: no cover - stdnum's other refusals
        raise BadBarcode(f"Barcode {shown!r} is not valid: {err}") from None
    kind = KINDS.get(len(digits))
    if kind is None:  # a 14-digit GTIN is valid for stdnum, but no till scans it off a shelf
        raise BadBarcode(
            f"Barcode {shown!r} is a 14-digit GTIN (a case code); give the unit's EAN-13, "
            "UPC-A or EAN-8."
        )
    return CheckedBarcode(digits, kind)


def kind_of(code: str) -> BarcodeKind:
    """The kind of a valid barcode (raises BadBarcode for an invalid one)."""
    return check(code).kind


def same_item_codes(code: str) -> tuple[str, ...]:
    """Every spelling of the same GTIN: a UPC-A scans as the EAN-13 with a leading 0 on many
    scanners, so "036000291452" and "0036000291452" are one item and one barcode."""
    if len(code) == 12:
        return (code, "0" + code)
    if len(code) == 13 and code.startswith("0"):
        return (code, code[1:])
    return (code,)
