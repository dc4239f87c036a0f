"""An order as a web store sends it, before it is mapped onto our catalogue; money and time
parsing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from domain.errors import InvalidRequest
from domain.money import exponent, round_half_up

SHIP, BOPIS = "ship", "bopis"


@dataclass(frozen=True)
class ExternalLine:
    line_id: str  # the web store's id of the line (refunds name it)
    sku: str  # as sent; mapped onto our SKUs or barcodes
    quantity: int
    unit_price: int = 0  # minor units as charged by the web store; 0 = price it from our catalogue
    title: str = ""
    tax: int = 0  # tax of the whole line, minor units
    tax_rate_bp: int = 0
    discount: int = 0  # minor units off the line (unit_price x quantity) as the web store gave it


@dataclass(frozen=True)
class ShippingAddress:
    """Where a parcel goes (issue 19): as the web store or the shopper gave it."""

    name: str = ""
    lines: tuple[str, ...] = ()  # street and number, then flat / company lines
    city: str = ""
    postcode: str = ""
    region: str = ""  # state / province code where the country has them
    country: str = ""  # ISO 3166 alpha-2
    phone: str = ""

    @property
    def complete(self) -> bool:
        """Enough for a carrier: a street line, a city and a country."""
        return bool(self.lines and self.lines[0].strip() and self.city and self.country)


@dataclass(frozen=True)
class ExternalOrder:
    external_id: str
    number: str  # what the customer sees, e.g. "#1001"
    currency: str
    lines: tuple[ExternalLine, ...]
    total: int = 0
    email: str = ""
    customer_name: str = ""
    country: str = ""
    latitude: float | None = None
    longitude: float | None = None
    pickup_location: str = ""  # our location code for pickup in store; "" = ship
    cancelled: bool = False
    financial_status: str = ""  # paid | refunded | voided | pending ... (as the web store says)
    status: str = ""  # the web store's own order status
    prices_include_tax: bool = True  # unit prices include the line's tax
    address: ShippingAddress | None = None  # where to ship (issue 19); None = not given

    @property
    def fulfilment(self) -> str:
        return BOPIS if self.pickup_location else SHIP


def to_minor(value: object, currency: str) -> int:
    """'12.90' (or 12.9) in a currency -> 1290 minor units; refuses what is not a number."""
    try:
        amount = Decimal(str(value if value not in (None, "") else "0"))
    except InvalidOperation:
        raise InvalidRequest(f"{value!r} is not an amount of money.") from None
    if not amount.is_finite():
        raise InvalidRequest(f"{value!r} is not an amount of money.")
    return round_half_up(amount * (10 ** exponent(currency)))


def from_minor(amount: int, currency: str) -> str:
    """1290 EUR -> '12.90': the decimal string web store APIs expect."""
    exp = exponent(currency)
    return (
        str((Decimal(amount) / (10**exp)).quantize(Decimal(1) / (10**exp))) if exp else str(amount)
    )


def timestamp_us(value: str) -> int:
    """An ISO 8601 time (Z, offsets, up to nanoseconds; naive = UTC) as microseconds since the
    epoch."""
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    date, sep, rest = text.partition(".")
    if sep:  # Python takes at most 6 fractional digits; Shopify sends 9
        digits = "".join(ch for ch in rest if ch.isdigit())
        tz = rest[len(digits) :]
        text = f"{date}.{digits[:6].ljust(6, '0')}{tz}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidRequest(f"{value!r} is not an ISO 8601 time.") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    delta = parsed - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
