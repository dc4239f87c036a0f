"""Splitting a refund over the tenders a sale was paid with."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from domain.errors import Conflict, InvalidRequest
from domain.money import format_minor

# Cards first (money goes back where it came from), then cash, then balances (points last).
REFUND_ORDER = ("card", "cash", "gift_card", "store_credit", "points")


@dataclass(frozen=True)
class Paid:
    payment_id: int
    kind: str
    amount: int  # applied to the sale
    refunded: int  # already refunded


@dataclass(frozen=True)
class RefundPart:
    payment_id: int
    kind: str
    amount: int


def allocate_refund(amount: int, paid: Sequence[Paid], currency: str) -> list[RefundPart]:
    """Refund `amount` over the original tenders in REFUND_ORDER, never more than each one paid."""
    if amount <= 0:
        raise InvalidRequest("A refund must be a positive amount.")
    ordered = sorted(
        paid,
        key=lambda p: (REFUND_ORDER.index(p.kind) if p.kind in REFUND_ORDER else 99, p.payment_id),
    )
    refundable = sum(max(0, p.amount - p.refunded) for p in ordered)
    if amount > refundable:
        raise Conflict(
            f"Only {format_minor(refundable, currency)} of this sale can still be refunded."
        )
    parts, left = [], amount
    for p in ordered:
        take = min(left, max(0, p.amount - p.refunded))
        if take:
            parts.append(RefundPart(p.payment_id, p.kind, take))
            left -= take
        if not left:
            break
    return parts
