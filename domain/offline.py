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
        if t.kind == "points":
            raise OfflineRefused(
                "Loyalty points can't be redeemed while the till is offline: the balance is kept "
                "centrally. Take cash or card; the customer still earns points for this sale."
            )
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


# ---- the central side's view of an offline till ------------------------------------------------

# A till that made no authenticated call for longer than this may have been offline meanwhile: its
# offline window then starts at its last call before the silence. Shorter gaps (between a till's
# calls while it works online, or a blip of the link) do not move the window.
CONTACT_SILENCE = timedelta(minutes=2)
# A till's last contact is written at most this often (not on every sale); always < the silence.
CONTACT_RESOLUTION = timedelta(seconds=30)


def contact_due(last_contact_at: datetime | None, now: datetime) -> bool:
    """Whether this call of the till should be written down as its latest contact."""
    return last_contact_at is None or now - last_contact_at >= CONTACT_RESOLUTION


def offline_window_problems(
    sold_at: datetime,
    *,
    now: datetime,
    offline_from: datetime | None,
    skew: timedelta,
    max_age: timedelta,
) -> list[str]:
    """Why an offline sale's time cannot be true (none: it fits the till's offline window).

    The window runs from the till's last contact before it went quiet (`offline_from`; unknown for
    a till never seen quiet) to now, widened by the clock skew a till may have, and is never longer
    than the maximum offline age."""
    out = []
    if sold_at > now + skew:
        out.append(
            f"It is dated {_at(sold_at)}, in the future by more than the "
            f"{_span(skew)} a till's clock may be off."
        )
    if sold_at < now - max_age:
        out.append(
            f"It is dated {_at(sold_at)}, older than the {_span(max_age)} a till may sell offline."
        )
    if offline_from is not None and sold_at < offline_from - skew:
        out.append(
            f"It is dated {_at(sold_at)}, before the till's last contact with the central system "
            f"({_at(offline_from)}) before it went offline."
        )
    return out


def snapshot_window_start(
    sold_at: datetime, snapshot_at: datetime | None, offline_from: datetime | None
) -> datetime:
    """From when on a price the till charged at `sold_at` may come from its offline catalogue.

    Its catalogue was the snapshot it downloaded last before the sale: the one recorded if that came
    before the sale; when the till has downloaded a newer one since, the older one was fetched no
    later than the till's last contact before it went offline. Unknown: only the price at the
    sale's own time counts."""
    if snapshot_at is not None and snapshot_at <= sold_at:
        return snapshot_at
    if offline_from is not None and offline_from <= sold_at:
        return offline_from
    return sold_at


def _at(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def _span(d: timedelta) -> str:
    seconds = int(d.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"
