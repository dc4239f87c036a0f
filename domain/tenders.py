"""Settling tenders against a total: tenders must cover it, and change comes only from cash."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from domain.errors import InsufficientTender, InvalidRequest
from domain.money import format_minor

CASH = "cash"
KNOWN_TENDERS = (CASH,)


@dataclass(frozen=True)
class Tendered:
    kind: str
    amount: int


@dataclass(frozen=True)
class AppliedTender:
    kind: str
    tendered: int  # handed over
    applied: int  # counted against the sale


@dataclass(frozen=True)
class Settlement:
    applied: tuple[AppliedTender, ...]
    change_due: int


def settle(total: int, tenders: Sequence[Tendered], currency: str) -> Settlement:
    """Apply tenders in order; non-cash tenders may not exceed what is still owed."""
    if not tenders:
        raise InsufficientTender("No tender given.")
    for t in tenders:
        if t.kind not in KNOWN_TENDERS:
            raise InvalidRequest(f"Tender '{t.kind}' is not accepted here (accepted: cash).")
        if t.amount <= 0:
            raise InvalidRequest(f"A {t.kind} tender must be a positive amount.")
    given = sum(t.amount for t in tenders)
    if given < total:
        raise InsufficientTender(
            f"Tenders cover {format_minor(given, currency)} of {format_minor(total, currency)}; "
            f"{format_minor(total - given, currency)} still due."
        )
    owed = total
    applied: list[AppliedTender] = []
    for t in tenders:
        if t.kind != CASH and t.amount > owed:
            raise InvalidRequest(
                f"The {t.kind} tender is more than the {format_minor(owed, currency)} still owed; "
                "change is given only from cash."
            )
        part = min(t.amount, owed)
        owed -= part
        applied.append(AppliedTender(kind=t.kind, tendered=t.amount, applied=part))
    change = given - total
    cash_given = sum(t.amount for t in tenders if t.kind == CASH)
    if change > cash_given:
        raise InvalidRequest("Change is given only from cash.")
    return Settlement(applied=tuple(applied), change_due=change)
