"""Discounts and price overrides a cashier gives at the till: on a line or on the basket, as a
percentage or an amount, or a line's new unit price; each with a reason code.

Pure arithmetic on the catalogue's prices: a line's discount comes off its extended price (gross
where the store shows inclusive prices, net otherwise) before tax is worked out, so tax is always
due on what the customer pays. Line adjustments come first; a basket adjustment is shared over the
lines in proportion to what is left of each (largest remainder, so the cents add up exactly).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Literal

from domain.errors import InvalidRequest
from domain.money import format_minor, round_half_up
from domain.pricing import PriceInput

Scope = Literal["line", "basket"]
Kind = Literal["percent", "amount", "price"]
MAX_ADJUSTMENTS = 50

REASONS: dict[str, str] = {
    "damaged": "Damaged or shop-soiled",
    "price_match": "Price match",
    "staff": "Staff discount",
    "loyalty": "Loyal customer",
    "customer_service": "Customer service",
    "promotion": "Promotion not in the system",
    "wrong_price": "Shelf price differs",
    "other": "Other",
}


@dataclass(frozen=True)
class Adjustment:
    scope: Scope
    line: int | None  # the basket line (1-based) for a line adjustment
    kind: Kind  # percent: value in basis points; amount: minor units off; price: new unit price
    value: int
    reason: str


@dataclass(frozen=True)
class Applied:
    """An adjustment as it came out: how much it took off, and what share of its base that is."""

    adjustment: Adjustment
    amount: int  # minor units off (same basis as the prices: gross if inclusive)
    base: int  # what it was taken from
    share_bp: int  # amount / base in basis points, rounded up (what the cashier's limit checks)

    @property
    def action(self) -> str:
        """The approval table's action for it."""
        return "price_override" if self.adjustment.kind == "price" else "discount"


def _share(amount: int, base: int) -> int:
    return 0 if base <= 0 else -(-amount * 10_000 // base)


def _check(a: Adjustment, lines: dict[int, PriceInput], exclude: frozenset[int]) -> None:
    where = f"Line {a.line}" if a.scope == "line" else "The basket"
    if a.reason not in REASONS:
        raise InvalidRequest(
            f"{where}: '{a.reason}' is not a reason code; use one of {', '.join(REASONS)}.",
            code="bad_reason",
        )
    if a.scope == "line":
        if a.line is None or a.line not in lines:
            raise InvalidRequest(
                f"A line adjustment names line {a.line}, which the basket does not have.",
                code="bad_adjustment",
            )
        if a.line in exclude:
            raise InvalidRequest(f"{where} cannot be discounted.", code="bad_adjustment")
    elif a.line is not None or a.kind == "price":
        raise InvalidRequest(
            "A basket adjustment is a percentage or an amount, for no line in particular.",
            code="bad_adjustment",
        )
    if a.kind == "percent" and not 1 <= a.value <= 10_000:
        raise InvalidRequest(
            f"{where}: a percentage is 1 to 10000 basis points (0.01 % to 100 %).",
            code="bad_adjustment",
        )
    if a.kind == "amount" and a.value < 1:
        raise InvalidRequest(f"{where}: a discount amount must be positive.", code="bad_adjustment")
    if a.kind == "price":
        unit = lines[a.line or 0].unit_price
        if not 0 <= a.value < unit:
            raise InvalidRequest(
                f"{where}: an overridden price must be below the catalogue's ({unit}) and not "
                "negative; a higher price is a catalogue change.",
                code="bad_adjustment",
            )


def _line_off(a: Adjustment, item: PriceInput, left: int) -> int:
    if a.kind == "percent":
        return round_half_up(Decimal(left) * a.value / 10_000)
    if a.kind == "price":
        return (item.unit_price - a.value) * item.quantity
    if a.value > left:
        raise InvalidRequest(
            f"Line {a.line}: {a.value} off is more than the line's {left}.", code="bad_adjustment"
        )
    return a.value


def _allocate(total: int, weights: list[int]) -> list[int]:
    """`total` shared in proportion to `weights`, the remainders to the largest fractions."""
    base = sum(weights)
    if base == 0:
        return [0] * len(weights)
    shares = [total * w // base for w in weights]
    order = sorted(range(len(weights)), key=lambda i: -((total * weights[i]) % base))
    for i in order[: total - sum(shares)]:
        shares[i] += 1
    return shares


def apply_adjustments(
    items: Sequence[PriceInput],
    adjustments: Sequence[Adjustment],
    exclude: frozenset[int] = frozenset(),
) -> tuple[tuple[PriceInput, ...], tuple[Applied, ...]]:
    """The basket with each line's discount set, and every adjustment as applied. `exclude`:
    lines that are never discounted (gift cards). Every problem is a 422 before anything is
    priced."""
    if len(adjustments) > MAX_ADJUSTMENTS:
        raise InvalidRequest(f"At most {MAX_ADJUSTMENTS} adjustments.", code="bad_adjustment")
    lines = {i.line_no: i for i in items}
    seen_lines: set[int] = set()
    baskets = 0
    for a in adjustments:
        _check(a, lines, exclude)
        if a.scope == "line":
            if a.line in seen_lines:
                raise InvalidRequest(
                    f"Line {a.line} has two adjustments; give it one.", code="bad_adjustment"
                )
            seen_lines.add(a.line or 0)
        else:
            baskets += 1
    if baskets > 1:
        raise InvalidRequest("The basket has two adjustments; give it one.", code="bad_adjustment")
    off = {i.line_no: 0 for i in items}
    applied: list[Applied] = []
    for a in (x for x in adjustments if x.scope == "line"):
        item = lines[a.line or 0]
        extended = item.unit_price * item.quantity
        amount = _line_off(a, item, extended)
        off[item.line_no] = amount
        applied.append(Applied(a, amount, extended, _share(amount, extended)))
    for a in (x for x in adjustments if x.scope == "basket"):
        eligible = [i for i in items if i.line_no not in exclude]
        left = [i.unit_price * i.quantity - off[i.line_no] for i in eligible]
        base = sum(left)
        if a.kind == "percent":
            amount = round_half_up(Decimal(base) * a.value / 10_000)
        elif a.value > base:
            raise InvalidRequest(
                f"The basket: {a.value} off is more than the {base} it can come off.",
                code="bad_adjustment",
            )
        else:
            amount = a.value
        for item, share in zip(eligible, _allocate(amount, left), strict=True):
            off[item.line_no] += share
        applied.append(Applied(a, amount, base, _share(amount, base)))
    priced = tuple(replace(i, discount=off[i.line_no]) if off[i.line_no] else i for i in items)
    return priced, tuple(applied)


def approval_reason(
    scope: str, line: int | None, action: str, amount: int, share_bp: int, currency: str
) -> str:
    """Why an adjustment waits for a manager, as the till shows it."""
    where = f"Line {line}" if scope == "line" else "The basket"
    what = "price override" if action == "price_override" else "discount"
    return (
        f"{where}: a {what} of {format_minor(amount, currency)} ({share_bp / 100:.2f} %) is over "
        "the cashier's limit; a manager's staff code and PIN approve it."
    )
