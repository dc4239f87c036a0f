"""Selling while the till cannot reach the central system: which tenders are allowed, and within
what limits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.errors import InsufficientTender, InvalidRequest, OfflineRefused
from domain.money import format_minor

CASH = "cash"
CARD = "card"
# These spend a balance that lives in the central ledger; offline the till cannot know it.
CENTRAL_LEDGER_TENDERS = ("gift_card", "store_credit")
DEFAULT_MAX_AGE = timedelta(hours=24)


@dataclass(frozen=True)
class OfflineCardPolicy:
    """A store's limits for card payments stored on the till while offline (amounts in minor
    units)."""

    enabled: bool = False
    per_sale_cap: int = 0
    total_cap: int = 0  # per till: everything stored and not yet uploaded
    max_age: timedelta = DEFAULT_MAX_AGE  # since the first stored card payment


@dataclass(frozen=True)
class StoredCards:
    """Card payments this till holds offline and has not yet handed to the central system."""

    total: int = 0
    first_stored_at: datetime | None = None


@dataclass(frozen=True)
class OfflineTender:
    kind: str
    amount: int


@dataclass(frozen=True)
class OfflineSettlement:
    applied: tuple[tuple[str, int, int], ...]  # (kind, tendered, applied)
    change_due: int
    card_total: int


def _disabled_message() -> str:
    return "Card payments are not available while the till is offline at this store; take cash."


def check_offline_tenders(
    tenders: Sequence[OfflineTender],
    policy: OfflineCardPolicy,
    stored: StoredCards,
    now: datetime,
    currency: str,
) -> None:
    """Refuse, with a message for the cashier, any tender the till may not take offline."""
    card_total = 0
    for t in tenders:
        if t.amount <= 0:
            raise InvalidRequest(f"A {t.kind} tender must be a positive amount.")
        if t.kind in CENTRAL_LEDGER_TENDERS:
            label = t.kind.replace("_", " ")
            raise OfflineRefused(
                f"A {label} can't be used while the till is offline: "
                "its balance is kept centrally. Take cash or card."
            )
        if t.kind == CARD:
            card_total += t.amount
        elif t.kind != CASH:
            raise OfflineRefused(f"Tender '{t.kind}' is not accepted while the till is offline.")
    if card_total:
        check_offline_card(card_total, policy, stored, now, currency)


def check_offline_card(
    amount: int, policy: OfflineCardPolicy, stored: StoredCards, now: datetime, currency: str
) -> None:
    """The store's offline card limits: enabled, per-sale cap, total stored per till, oldest age."""
    if not policy.enabled:
        raise OfflineRefused(_disabled_message())
    if amount > policy.per_sale_cap:
        raise OfflineRefused(
            "Offline, a card may pay at most "
            f"{format_minor(policy.per_sale_cap, currency)} per sale; "
            f"take the rest ({format_minor(amount - policy.per_sale_cap, currency)}) in cash."
        )
    if stored.total + amount > policy.total_cap:
        room = max(0, policy.total_cap - stored.total)
        raise OfflineRefused(
            f"This till already holds {format_minor(stored.total, currency)} "
            "of offline card payments; "
            f"the limit is {format_minor(policy.total_cap, currency)}, so at most "
            f"{format_minor(room, currency)} more can go on a card. Take cash."
        )
    if stored.first_stored_at is not None and now - stored.first_stored_at >= policy.max_age:
        hours = int(policy.max_age.total_seconds() // 3600)
        raise OfflineRefused(
            f"The oldest card payment stored on this till is more than {hours} h old; no more card "
            "payments until the till is back online and has uploaded them. Take cash."
        )


def settle_offline(
    total: int, tenders: Sequence[OfflineTender], currency: str
) -> OfflineSettlement:
    """Apply tenders in order: they must cover the total, and change comes only from cash."""
    if not tenders:
        raise InsufficientTender("No tender given.")
    given = sum(t.amount for t in tenders)
    if given < total:
        raise InsufficientTender(
            f"Tenders cover {format_minor(given, currency)} of {format_minor(total, currency)}; "
            f"{format_minor(total - given, currency)} still due."
        )
    owed = total
    applied = []
    for t in tenders:
        if t.kind != CASH and t.amount > owed:
            raise InvalidRequest(
                f"The {t.kind} tender is more than the {format_minor(owed, currency)} still owed; "
                "change is given only from cash."
            )
        part = min(t.amount, owed)
        owed -= part
        applied.append((t.kind, t.amount, part))
    change = given - total
    if change > sum(t.amount for t in tenders if t.kind == CASH):
        raise InvalidRequest("Change is given only from cash.")
    card_total = sum(part for kind, _, part in applied if kind == CARD)
    return OfflineSettlement(tuple(applied), change, card_total)
