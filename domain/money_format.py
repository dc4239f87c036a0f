"""Money for people, as the location's locale writes it (issue 19): receipts, Z reports and the
finance reports' pages format amounts with the store's locale (`locations.locale`, e.g. de_DE:
"1.234,50 €", pt_PT: "1 234,50 €", de_CH: "CHF 1'234.50"). The digits after the decimal sign are
always the currency's ISO 4217 minor unit (domain/money.py), whatever CLDR thinks.

A location without a locale keeps tillflow's plain form ("EUR 1234.50"). Babel (the CLDR data)
is imported here and not in domain/money.py, which workflow sandboxes import.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.numbers import NumberPattern, parse_pattern

from domain.errors import InvalidRequest
from domain.money import exponent, format_minor

_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " "})  # paper has one kind of space


def check_locale(name: str) -> str:
    """A CLDR locale such as de_DE or pt-PT, returned in its canonical spelling (de_DE)."""
    text = name.strip()
    try:
        loc = Locale.parse(text.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        raise InvalidRequest(
            f"{name!r} is not a known locale (e.g. de_DE, pt_PT, de_CH, en_GB).",
            code="bad_locale",
        ) from None
    return str(loc)


@lru_cache(maxsize=64)
def _patterns(locale: str, currency: str) -> tuple[Locale, NumberPattern, NumberPattern]:
    loc = Locale.parse(locale)
    digits = exponent(currency)
    # parse_pattern hands out shared instances: change a copy
    money = copy.copy(parse_pattern(loc.currency_formats["standard"]))
    money.frac_prec = (digits, digits)
    plain = copy.copy(parse_pattern(loc.decimal_formats[None]))
    plain.frac_prec = (digits, digits)
    return loc, money, plain


def _value(amount: int, currency: str) -> Decimal:
    return Decimal(amount).scaleb(-exponent(currency))


def format_money(amount: int, currency: str, locale: str = "", *, paper: bool = False) -> str:
    """With the currency: 123450 EUR -> '1.234,50 €' in de_DE; 'EUR 1234.50' without a locale.
    `paper` turns CLDR's no-break spaces into plain ones (a receipt printer's code page)."""
    if not locale:
        return f"{currency.upper()} {format_minor(amount, currency)}"
    loc, money, _ = _patterns(locale, currency.upper())
    text = money.apply(_value(amount, currency), loc, currency=currency.upper())
    return text.translate(_SPACES) if paper else text


def format_amount(amount: int, currency: str, locale: str = "", *, paper: bool = False) -> str:
    """The number only, for a column of one currency: 123450 EUR -> '1.234,50' in de_DE;
    '1234.50' without a locale."""
    if not locale:
        return format_minor(amount, currency)
    loc, _, plain = _patterns(locale, currency.upper())
    text = plain.apply(_value(amount, currency), loc)
    return text.translate(_SPACES) if paper else text
