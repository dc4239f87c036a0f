"""Tendering against what is still due: non-cash tenders never exceed it; change comes only from
cash."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final, Literal, cast

from domain.errors import InvalidRequest
from domain.money import format_minor

CASH: Final = "cash"
CARD: Final = "card"
GIFT_CARD: Final = "gift_card"
STORE_CREDIT: Final = "store_credit"
POINTS: Final = "points"  # loyalty points, the amount in money (converted at the configured rate)
EXCHANGE: Final = (
    "exchange"  # the value of goods returned in the same transaction (set by the Return workflow)
)
TENDER_KINDS = (CASH, CARD, GIFT_CARD, STORE_CREDIT, EXCHANGE, POINTS)
TenderKind = Literal["cash", "card", "gift_card", "store_credit", "exchange", "points"]


@dataclass(frozen=True)
class TenderPlan:
    kind: TenderKind
    tendered: int  # handed over / asked of the card
    applied: int  # counted against the sale
    change: int  # cash back to the customer


def plan_tender(due: int, kind: str, amount: int, currency: str) -> TenderPlan:
    """What one tender does to a sale that still owes `due`."""
    if kind not in TENDER_KINDS:
        raise InvalidRequest(
            f"Tender '{kind}' is not accepted (accepted: {', '.join(TENDER_KINDS)})."
        )
    if amount <= 0:
        raise InvalidRequest(f"A {kind} tender must be a positive amount.")
    if due <= 0:
        raise InvalidRequest("The sale is paid in full; no more tenders are needed.")
    known = cast(TenderKind, kind)
    if kind == CASH:
        applied = min(amount, due)
        return TenderPlan(known, amount, applied, amount - applied)
    if amount > due:
        raise InvalidRequest(
            f"The {kind.replace('_', ' ')} tender of {format_minor(amount, currency)} "
            f"is more than the {format_minor(due, currency)} still due; "
            "change is given only from cash."
        )
    return TenderPlan(known, amount, amount, 0)


@dataclass
class TenderBook:
    """What a sale still owes while tenders are taken; both sale paths count through it.

    `plan` says what a tender would do (or refuses it); `take` books a tender the provider
    approved. Cash beyond what is due becomes change; nothing else may exceed what is due."""

    due: int
    currency: str
    change: int = 0
    taken: list[TenderPlan] = field(default_factory=list)

    def plan(self, kind: str, amount: int) -> TenderPlan:
        return plan_tender(self.due, kind, amount, self.currency)

    def take(self, plan: TenderPlan) -> None:
        self.due -= plan.applied
        self.change += plan.change
        self.taken.append(plan)

    @property
    def settled(self) -> bool:
        return self.due == 0


def settle_exactly(
    total: int, currency: str, tenders: Iterable[tuple[str, int]]
) -> TenderBook | None:
    """The book after taking every tender in turn, when they settle `total` exactly as the
    step-by-step path would; None when one is refused, one is left over or the sale stays short."""
    book = TenderBook(total, currency)
    for kind, amount in tenders:
        try:
            book.take(book.plan(kind, amount))
        except InvalidRequest:
            return None
    return book if book.settled else None
