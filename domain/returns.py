"""Return policy: what may come back, within which window, refunded how, and what needs a
manager."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain.errors import Conflict, InvalidRequest
from domain.money import format_minor

DISPOSITIONS = ("restock", "quarantine", "damaged")
REFUND_METHODS = ("original", "store_credit")


@dataclass(frozen=True)
class ReturnPolicy:
    """Defaults are a common high-street policy; every number is configurable."""

    window_days: int = 30
    category_windows: Mapping[str, int] = field(default_factory=lambda: {"food": 14})
    final_sale_categories: frozenset[str] = frozenset({"gift_card"})
    receiptless_cap: int = 5000  # minor units of store credit per customer per period
    receiptless_period_days: int = 90
    serial_categories: frozenset[str] = frozenset()  # categories whose items carry serial numbers
    late_needs_approval: bool = True  # False: a late return is refused outright


@dataclass(frozen=True)
class SoldLine:
    line_no: int
    sku: str
    name: str
    category: str
    quantity: int
    already_returned: int
    gross: int  # what the line cost the customer
    serial: str = ""
    serialized: bool = False


@dataclass(frozen=True)
class AskedLine:
    line_no: int
    quantity: int
    disposition: str
    serial: str = ""


@dataclass(frozen=True)
class Assessment:
    refund_total: int
    refund_method: str  # original | store_credit
    approval_reasons: tuple[str, ...]  # empty: within policy
    fraud_signal: str = ""  # recorded for receipt-less returns over the cap


def returnable(line: SoldLine) -> int:
    return line.quantity - line.already_returned


def line_refund(s: SoldLine, quantity: int) -> int:
    """Refund for the next `quantity` units of a line: the units' shares of its gross."""
    shares = unit_refunds(s.gross, s.quantity)
    return sum(shares[s.already_returned : s.already_returned + quantity])


def unit_refunds(gross: int, quantity: int) -> list[int]:
    """Split a line's gross over its units so the units always add up to the gross."""
    base, extra = divmod(gross, quantity)
    return [base + (1 if i < extra else 0) for i in range(quantity)]


def assess_with_receipt(
    policy: ReturnPolicy,
    sold_at: datetime,
    now: datetime,
    sold: Sequence[SoldLine],
    asked: Sequence[AskedLine],
    refund_method: str,
) -> Assessment:
    """Check a return against the sale it came from; refuse what can never be returned."""
    by_no = {s.line_no: s for s in sold}
    reasons: list[str] = []
    total = 0
    for a in asked:
        s = by_no.get(a.line_no)
        if s is None:
            raise InvalidRequest(f"The sale has no line {a.line_no}.")
        _check_line(a, returnable(s), s.name)
        if s.category in policy.final_sale_categories:
            raise Conflict(f"{s.name} is final sale and cannot be returned.")
        window = policy.category_windows.get(s.category, policy.window_days)
        if now - sold_at > timedelta(days=window):
            late = (
                f"{s.name}: bought {(now - sold_at).days} days ago; "
                f"the return window is {window} days."
            )
            if not policy.late_needs_approval:
                raise InvalidRequest(late)
            reasons.append(late)
        if (
            (s.serialized or s.category in policy.serial_categories)
            and s.serial
            and a.serial != s.serial
        ):
            reasons.append(
                f"{s.name}: serial number {a.serial or '(none)'} does not match the one sold."
            )
        total += line_refund(s, a.quantity)
    if refund_method not in REFUND_METHODS:
        raise InvalidRequest(
            f"Refund to '{refund_method}'? Choose one of: {', '.join(REFUND_METHODS)}."
        )
    return Assessment(total, refund_method, tuple(reasons))


def assess_without_receipt(
    policy: ReturnPolicy, amount: int, credit_in_period: int, currency: str
) -> Assessment:
    """No receipt: store credit only, within a cap per customer and period; beyond it a manager
    decides."""
    reasons: list[str] = []
    fraud = ""
    if credit_in_period + amount > policy.receiptless_cap:
        reasons.append(
            "Receipt-less returns are capped at "
            f"{format_minor(policy.receiptless_cap, currency)} per "
            f"{policy.receiptless_period_days} days; this customer has had "
            f"{format_minor(credit_in_period, currency)} "
            f"and asks for {format_minor(amount, currency)}."
        )
        fraud = "receiptless_over_cap"
    return Assessment(amount, "store_credit", tuple(reasons), fraud)


def check_asked(name: str, quantity: int, disposition: str) -> None:
    """A returned line needs a positive quantity and a known disposition."""
    if quantity <= 0:
        raise InvalidRequest(f"{name}: the quantity to return must be at least 1.")
    if disposition not in DISPOSITIONS:
        raise InvalidRequest(f"{name}: disposition must be one of {', '.join(DISPOSITIONS)}.")


def _check_line(a: AskedLine, left: int, name: str) -> None:
    check_asked(name, a.quantity, a.disposition)
    if a.quantity > left:
        raise Conflict(f"{name}: only {left} of this line can still be returned.")
