"""Converting minor units between currencies at a stored daily rate (issue 19): each currency's
own ISO 4217 minor units, rounded half up once, at the end."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from domain.errors import InvalidRequest
from domain.money import exponent, round_half_up


def parse_rate(text: str) -> Decimal:
    """A rate as typed ("0.9412"): positive, at most 8 decimals and 10 digits before the point."""
    try:
        rate = Decimal(text.strip())
    except InvalidOperation:
        raise InvalidRequest(
            f"{text!r} is not a rate; write it like 0.9412.", code="bad_rate"
        ) from None
    exp = rate.as_tuple().exponent
    if (
        not rate.is_finite()
        or rate <= 0
        or rate >= Decimal(10) ** 10
        or (isinstance(exp, int) and exp < -8)
    ):
        raise InvalidRequest(
            f"A rate is a positive number with at most 8 decimals, not {text}.", code="bad_rate"
        )
    return rate


def convert_minor(amount: int, currency: str, base: str, rate: Decimal) -> int:
    """`amount` minor units of `currency` in minor units of `base`, 1 currency = rate base."""
    if currency.upper() == base.upper():
        return amount
    shift = Decimal(10) ** (exponent(base) - exponent(currency))
    return round_half_up(Decimal(amount) * rate * shift)
