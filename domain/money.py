"""Money as integer minor units with an ISO 4217 currency code."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

# Currencies whose minor unit is not 1/100 (everything else has two decimals), as ISO 4217
# List One has them (published 2026-01-01). tests/currencies/test_minor_units.py checks this
# table against the `iso4217` package's copy of the official table; it is spelled out here so
# the domain (imported inside workflow sandboxes) reads no data file.
_EXPONENTS = {
    **dict.fromkeys(
        (
            "BIF",
            "CLP",
            "DJF",
            "GNF",
            "ISK",
            "JPY",
            "KMF",
            "KRW",
            "PYG",
            "RWF",
            "UGX",
            "UYI",
            "VND",
            "VUV",
            "XAF",
            "XOF",
            "XPF",
        ),
        0,
    ),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}
_SYMBOLS = {"EUR": "€", "GBP": "£", "USD": "$", "JPY": "¥", "CHF": "CHF "}


def exponent(currency: str) -> int:
    """Number of decimals of the currency's minor unit."""
    return _EXPONENTS.get(currency.upper(), 2)


def format_minor(amount: int, currency: str, *, symbol: bool = False) -> str:
    """Render minor units for people: 1234 EUR -> '12.34' (or '€12.34')."""
    exp = exponent(currency)
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), 10**exp)
    text = f"{whole}.{frac:0{exp}d}" if exp else str(whole)
    prefix = _SYMBOLS.get(currency.upper(), f"{currency.upper()} ") if symbol else ""
    return f"{sign}{prefix}{text}"


def round_half_up(value: Decimal) -> int:
    """Round a Decimal amount of minor units to a whole minor unit, halves away from zero."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))
