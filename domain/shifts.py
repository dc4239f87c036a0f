"""Shift arithmetic: denominations and counts of a till's cash, expected against counted per
tender, and the Z report's figures as a pure function of the shift's events."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from domain.errors import InvalidRequest
from domain.store_hours import StoreHours

# Notes and coins in minor units, largest first.
DENOMINATIONS: dict[str, tuple[int, ...]] = {
    "EUR": (50000, 20000, 10000, 5000, 2000, 1000, 500, 200, 100, 50, 20, 10, 5, 2, 1),
    "GBP": (5000, 2000, 1000, 500, 200, 100, 50, 20, 10, 5, 2, 1),
    "USD": (10000, 5000, 2000, 1000, 500, 200, 100, 25, 10, 5, 1),
    "CHF": (100000, 20000, 10000, 5000, 2000, 1000, 500, 200, 100, 50, 20, 10, 5),
}
MAX_PIECES = 100_000  # of one denomination in one drawer: more is a typo

CashKind = Literal[
    "sale_cash", "change", "refund_cash", "paid_in", "paid_out", "drop", "no_sale", "float"
]
# Sign of each kind's amount in the drawer.
_SIGN: dict[str, int] = {
    "float": 1,
    "sale_cash": 1,
    "change": -1,
    "refund_cash": -1,
    "paid_in": 1,
    "paid_out": -1,
    "drop": -1,
    "no_sale": 0,
}
MANUAL_KINDS = ("paid_in", "paid_out", "drop", "no_sale")


def denominations(currency: str) -> tuple[int, ...]:
    """The notes and coins of a currency (minor units, largest first)."""
    try:
        return DENOMINATIONS[currency]
    except KeyError:
        raise InvalidRequest(
            f"No denominations are known for {currency}; cash cannot be counted.",
            code="unknown_currency",
        ) from None


def validate_count(currency: str, count: Mapping[int, int]) -> dict[int, int]:
    """A count {denomination in minor units: pieces}, checked against the currency; zero rows
    dropped, sorted largest first."""
    known = set(denominations(currency))
    bad = sorted(d for d in count if d not in known)
    if bad:
        raise InvalidRequest(
            f"{', '.join(str(d) for d in bad)} is not a {currency} note or coin (minor units).",
            code="bad_denomination",
        )
    for d, n in count.items():
        if n < 0 or n > MAX_PIECES:
            raise InvalidRequest(
                f"{n} pieces of {d} is not a count (0 to {MAX_PIECES}).", code="bad_count"
            )
    return {d: n for d, n in sorted(count.items(), reverse=True) if n}


def count_total(count: Mapping[int, int]) -> int:
    """The value of a count in minor units."""
    return sum(d * n for d, n in count.items())


@dataclass(frozen=True, kw_only=True)
class CashEvent:
    """One row of the till's cash ledger during a shift (amount positive, sign by kind)."""

    kind: CashKind
    amount: int
    reason: str = ""


def signed(event: CashEvent) -> int:
    return _SIGN[event.kind] * event.amount


def expected_cash(events: Iterable[CashEvent]) -> int:
    """float + cash sales − change − cash refunds + paid-in − paid-out − drops."""
    return sum(signed(e) for e in events)


def movement_totals(events: Iterable[CashEvent]) -> dict[str, int]:
    """Sum of amounts per kind (every kind present, zero when none)."""
    out = dict.fromkeys(_SIGN, 0)
    for e in events:
        out[e.kind] += e.amount
    return out


@dataclass(frozen=True, kw_only=True)
class TenderLine:
    tender: str
    expected: int
    counted: int

    @property
    def variance(self) -> int:
        """counted − expected: negative is short, positive is over."""
        return self.counted - self.expected


def reconcile(expected: Mapping[str, int], counted: Mapping[str, int]) -> tuple[TenderLine, ...]:
    """Expected against counted per tender (a tender on either side appears, cash first)."""
    tenders = sorted(set(expected) | set(counted), key=lambda t: (t != "cash", t))
    return tuple(
        TenderLine(tender=t, expected=expected.get(t, 0), counted=counted.get(t, 0))
        for t in tenders
    )


def total_variance(lines: Iterable[TenderLine]) -> int:
    return sum(line.variance for line in lines)


def needs_approval(lines: Iterable[TenderLine], threshold: int) -> bool:
    """Any tender off by more than the store's threshold (either way) needs a manager."""
    return any(abs(line.variance) > threshold for line in lines)


def left_in_drawer(counted_cash: int, drop_at_close: int = 0) -> int:
    """What stays in the drawer for the next float: the counted cash less the closing drop."""
    if drop_at_close < 0 or drop_at_close > counted_cash:
        raise InvalidRequest(
            "The closing drop must be between 0 and the counted cash.", code="bad_drop"
        )
    return counted_cash - drop_at_close


@dataclass(frozen=True, kw_only=True)
class SalePayment:
    """A tender of a sale at the till (cash: tendered and applied; change = the difference)."""

    order: str
    tender: str
    amount: int  # applied to the sale
    tendered: int  # handed over (cash)


@dataclass(frozen=True, kw_only=True)
class TaxLine:
    order: str
    tax_code: str
    rate_bp: int
    net: int
    tax: int


@dataclass(frozen=True, kw_only=True)
class RefundPayment:
    tender: str
    amount: int
    reference: str = ""  # the return
    void: bool = False  # the return voided its whole sale


@dataclass(frozen=True, kw_only=True)
class DiscountLine:
    """What one sale's discounts or price overrides took off (by the approval table's action)."""

    order: str
    action: str  # discount | price_override
    amount: int
    approved: bool = False  # a manager approved it at the till


@dataclass(frozen=True, kw_only=True)
class ShiftFigures:
    """Everything a Z (or X) report shows, in minor units."""

    currency: str
    sales_count: int
    sales_total: int
    by_tender: dict[str, int]
    by_tax: tuple[tuple[str, int, int, int], ...]  # (code, rate_bp, net, tax)
    returns_count: int
    refunds_by_tender: dict[str, int]
    movements: dict[str, int]
    no_sales: int
    expected: dict[str, int]
    tenders: tuple[TenderLine, ...] = field(default=())
    variance: int = 0
    discounts: dict[str, int] = field(default_factory=dict)  # action -> minor units off
    discounted_sales: int = 0
    approved_overrides: int = 0  # adjustments a manager approved at the till
    voids_count: int = 0
    voids_total: int = 0


def cash_events_of_sales(
    payments: Iterable[SalePayment], refunds: Iterable[RefundPayment]
) -> list[CashEvent]:
    """The drawer rows the sales and refunds imply: cash taken, change given, cash paid back."""
    out: list[CashEvent] = []
    for p in payments:
        if p.tender != "cash":
            continue
        out.append(CashEvent(kind="sale_cash", amount=p.tendered, reason=p.order))
        if p.tendered > p.amount:
            out.append(CashEvent(kind="change", amount=p.tendered - p.amount, reason=p.order))
    out += [
        CashEvent(kind="refund_cash", amount=r.amount, reason=r.reference)
        for r in refunds
        if r.tender == "cash"
    ]
    return out


def shift_figures(
    *,
    currency: str,
    float_amount: int,
    manual: Iterable[CashEvent],
    payments: Iterable[SalePayment],
    taxes: Iterable[TaxLine],
    refunds: Iterable[RefundPayment],
    counted: Mapping[str, int] | None = None,
    discounts: Iterable[DiscountLine] = (),
) -> ShiftFigures:
    """The X / Z figures of a shift: sales by tender and tax rate, returns, cash movements, the
    expected per tender and, once counted, counted against expected and the variance."""
    payments, refunds, manual = list(payments), list(refunds), list(manual)
    events = [
        CashEvent(kind="float", amount=float_amount),
        *manual,
        *cash_events_of_sales(payments, refunds),
    ]
    by_tender: dict[str, int] = {}
    for p in payments:
        by_tender[p.tender] = by_tender.get(p.tender, 0) + p.amount
    refunds_by: dict[str, int] = {}
    for r in refunds:
        refunds_by[r.tender] = refunds_by.get(r.tender, 0) + r.amount
    tax_acc: dict[tuple[str, int], list[int]] = {}
    for t in taxes:
        acc = tax_acc.setdefault((t.tax_code, t.rate_bp), [0, 0])
        acc[0] += t.net
        acc[1] += t.tax
    expected = {
        t: by_tender.get(t, 0) - refunds_by.get(t, 0)
        for t in sorted(set(by_tender) | set(refunds_by))
        if t != "cash"
    }
    expected["cash"] = expected_cash(events)
    lines = reconcile(expected, counted) if counted is not None else ()
    discounts = list(discounts)
    off: dict[str, int] = {}
    for d in discounts:
        off[d.action] = off.get(d.action, 0) + d.amount
    voids = [r for r in refunds if r.void]
    return ShiftFigures(
        currency=currency,
        sales_count=len({p.order for p in payments}),
        sales_total=sum(by_tender.values()),
        by_tender=dict(sorted(by_tender.items())),
        by_tax=tuple((c, r, n, x) for (c, r), (n, x) in sorted(tax_acc.items())),
        returns_count=len({r.reference for r in refunds}),
        refunds_by_tender=dict(sorted(refunds_by.items())),
        movements={k: v for k, v in movement_totals(events).items() if k != "no_sale"},
        no_sales=sum(1 for e in manual if e.kind == "no_sale"),
        expected=expected,
        tenders=lines,
        variance=total_variance(lines),
        discounts=dict(sorted(off.items())),
        discounted_sales=len({d.order for d in discounts}),
        approved_overrides=sum(1 for d in discounts if d.approved),
        voids_count=len({r.reference for r in voids}),
        voids_total=sum(r.amount for r in voids),
    )


def closing_time(hours: StoreHours, opened_at: datetime) -> datetime | None:
    """When the store closes next after a shift opened at `opened_at` (the end of the opening
    interval it opened in, else the next one's); None when the store is always open."""
    if hours.always_open:
        return None
    zone = ZoneInfo(hours.timezone)
    by_day = {d.weekday: d for d in hours.days}
    first = opened_at.astimezone(zone).date() - timedelta(days=1)
    for n in range(9):
        day = first + timedelta(days=n)
        d = by_day.get(day.weekday())
        if d is None:
            continue
        midnight = datetime.combine(day, time(0), tzinfo=zone)
        closes = (midnight + timedelta(minutes=d.closes)).astimezone(UTC)
        if closes > opened_at:
            return closes
    return None
