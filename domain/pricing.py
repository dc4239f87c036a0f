"""Basket pricing: line totals, tax per rate (inclusive or exclusive prices), rounding per line."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from domain.errors import InvalidRequest
from domain.money import round_half_up

MAX_LINE_QUANTITY = 9999
GIFT_CARD_SKU = "GIFT-CARD"  # a gift card sold at the value chosen; never discounted


@dataclass(frozen=True)
class PriceInput:
    """One basket line as the catalogue knows it."""

    line_no: int
    sku: str
    name: str
    quantity: int
    unit_price: int  # minor units, tax-inclusive when the store shows inclusive prices
    tax_code: str
    discount: int = 0  # off the extended price (domain/discounts.py), before tax


@dataclass(frozen=True)
class PricedLine:
    line_no: int
    sku: str
    name: str
    quantity: int
    unit_price: int
    net: int
    tax: int
    gross: int
    tax_code: str
    tax_rate_bp: int
    discount: int = 0  # minor units off the line (gross / net as the prices are); gross is after it


@dataclass(frozen=True)
class TaxSummary:
    code: str
    rate_bp: int
    net: int
    tax: int


@dataclass(frozen=True)
class Quote:
    currency: str
    prices_include_tax: bool
    lines: tuple[PricedLine, ...]
    taxes: tuple[TaxSummary, ...]
    subtotal: int  # net
    tax_total: int
    total: int  # gross, what the customer pays


def price_line(item: PriceInput, rate_bp: int, prices_include_tax: bool) -> PricedLine:
    """Price one line; tax is rounded once per line (half up), never per unit."""
    if item.quantity <= 0:
        raise InvalidRequest(f"Line {item.line_no} ({item.sku}): quantity must be at least 1.")
    if item.quantity > MAX_LINE_QUANTITY:
        raise InvalidRequest(
            f"Line {item.line_no} ({item.sku}): "
            f"quantity {item.quantity} is over {MAX_LINE_QUANTITY}."
        )
    extended = item.unit_price * item.quantity - item.discount
    if not 0 <= item.discount <= item.unit_price * item.quantity:
        raise InvalidRequest(f"Line {item.line_no} ({item.sku}): the discount is out of range.")
    if prices_include_tax:
        gross = extended
        net = round_half_up(Decimal(gross) * 10000 / (10000 + rate_bp))
        tax = gross - net
    else:
        net = extended
        tax = round_half_up(Decimal(net) * rate_bp / 10000)
        gross = net + tax
    return PricedLine(
        line_no=item.line_no,
        sku=item.sku,
        name=item.name,
        quantity=item.quantity,
        unit_price=item.unit_price,
        net=net,
        tax=tax,
        gross=gross,
        tax_code=item.tax_code,
        tax_rate_bp=rate_bp,
        discount=item.discount,
    )


def price_basket(
    items: Sequence[PriceInput],
    rates_bp: Mapping[str, int],
    *,
    currency: str,
    prices_include_tax: bool,
) -> Quote:
    """Price a basket with the store's tax rates (basis points per tax code)."""
    if not items:
        raise InvalidRequest("The basket is empty.")
    lines = []
    for item in items:
        if item.tax_code not in rates_bp:
            raise InvalidRequest(
                f"Line {item.line_no} ({item.sku}): "
                f"this store has no tax rate for '{item.tax_code}'."
            )
        lines.append(price_line(item, rates_bp[item.tax_code], prices_include_tax))
    by_rate: dict[tuple[str, int], list[PricedLine]] = {}
    for line in lines:
        by_rate.setdefault((line.tax_code, line.tax_rate_bp), []).append(line)
    taxes = tuple(
        TaxSummary(code=code, rate_bp=rate, net=sum(x.net for x in ls), tax=sum(x.tax for x in ls))
        for (code, rate), ls in sorted(by_rate.items())
    )
    return Quote(
        currency=currency,
        prices_include_tax=prices_include_tax,
        lines=tuple(lines),
        taxes=taxes,
        subtotal=sum(x.net for x in lines),
        tax_total=sum(x.tax for x in lines),
        total=sum(x.gross for x in lines),
    )


# ---- price history -------------------------------------------------------------------------


@dataclass(frozen=True)
class PriceSpan:
    """One row of a SKU's price history at a store: [valid_from, valid_to), own or the default."""

    amount: int
    currency: str
    valid_from: datetime
    valid_to: datetime | None  # None: still valid
    own: bool  # the store's own price (it wins over the default while both are valid)

    def valid_at(self, at: datetime) -> bool:
        return self.valid_from <= at and (self.valid_to is None or at < self.valid_to)


def price_at(spans: Sequence[PriceSpan], at: datetime) -> PriceSpan | None:
    """The price a store charged at one instant: its own row if one was valid, else the
    default."""
    valid = [s for s in spans if s.valid_at(at)]
    return next((s for s in valid if s.own), None) or next(iter(valid), None)


def prices_during(
    spans: Sequence[PriceSpan], start: datetime, end: datetime, currency: str
) -> set[int]:
    """Every price (in `currency`) the store charged at some instant of [start, end].

    The price only changes where a row starts or ends, so looking at `start` and at each such
    instant inside the interval sees every price that held."""
    if end < start:
        start, end = end, start
    instants = {start, end}
    for s in spans:
        instants |= {t for t in (s.valid_from, s.valid_to) if t is not None and start < t < end}
    found = (price_at(spans, t) for t in instants)
    return {p.amount for p in found if p is not None and p.currency == currency}
