"""EAN-13 check digits."""

from __future__ import annotations


def ean13_check_digit(first12: str) -> int:
    """The GS1 mod-10 check digit of the first twelve digits."""
    if len(first12) != 12 or not first12.isdigit():
        raise ValueError("EAN-13 needs exactly twelve digits before the check digit")
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return (10 - total % 10) % 10


def make_ean13(first12: str) -> str:
    return first12 + str(ean13_check_digit(first12))


def is_valid_ean13(code: str) -> bool:
    return len(code) == 13 and code.isdigit() and ean13_check_digit(code[:12]) == int(code[12])
