"""Promotions a sale or an order is priced with: the set pinned into its workflow input (with the
engine's version), what each line got, and what the saga reserves of a budget or a coupon.

A sale pins the promotions as they were when it started (the API loads them; an offline sale's
replay loads them as they were when the till sold it), so a rule changed while the saga is in
flight never changes its price, and an old history replays with the rules it was priced with."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from domain.promotions import ENGINE_VERSION, Promotion, parse_rule, parse_window


@dataclass(frozen=True, kw_only=True)
class PinnedPromotion:
    """One promotion's terms as a sale saw them (its budget is never pinned: what is left of it is
    read, under a lock, when the sale reserves)."""

    promotion_id: int
    code: str
    name: str
    kind: str
    rule: dict[str, Any]
    priority: int = 0
    combines_with: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    customer_groups: tuple[str, ...] = ()
    starts_at: datetime | None = None  # wall-clock time in the location's timezone
    ends_at: datetime | None = None
    windows: tuple[dict[str, Any], ...] = ()
    requires_coupon: bool = False
    currency: str | None = None
    version: int = 1
    budgeted: bool = False  # has a budget of money or of uses: a sale taking it reserves

    def to_engine(
        self, remaining_amount: int | None = None, remaining_uses: int | None = None
    ) -> Promotion:
        """The engine's promotion, with what is left of its budget (None: no limit)."""
        return Promotion(
            code=self.code,
            name=self.name,
            kind=self.kind,  # type: ignore[arg-type]  # checked when the promotion was saved
            rule=parse_rule(self.kind, self.rule),
            priority=self.priority,
            combines_with=frozenset(self.combines_with),
            channels=frozenset(self.channels),
            customer_groups=frozenset(self.customer_groups),
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            windows=tuple(parse_window(w) for w in self.windows),
            requires_coupon=self.requires_coupon,
            currency=self.currency,
            version=self.version,
            remaining_amount=remaining_amount,
            remaining_uses=remaining_uses,
        )


@dataclass(frozen=True, kw_only=True)
class PromotionPin:
    """The promotion set and the engine version a sale or order is priced with."""

    engine_version: int = ENGINE_VERSION
    promotions: tuple[PinnedPromotion, ...] = ()


@dataclass(frozen=True, kw_only=True)
class LinePromotion:
    """What one promotion took off one line (receipts and reports say it line by line)."""

    line_no: int
    code: str
    name: str
    amount: int
    coupon: str = ""


@dataclass(frozen=True, kw_only=True)
class PromotionTake:
    """A promotion with a budget or a coupon that the sale takes: reserved before stock or money
    moves, released by the saga's compensation."""

    promotion_id: int
    code: str
    amount: int
    coupon: str = ""


@dataclass(frozen=True, kw_only=True)
class PromotionReservation:
    """The reserve step: what the sale (or order) `key` takes, for which customer."""

    key: str
    takes: tuple[PromotionTake, ...]
    customer_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class PromotionRelease:
    key: str


def pin_to_json(pinned: PromotionPin) -> dict[str, Any]:
    """The pin as JSON (an offline till's snapshot carries it)."""
    return {
        "engine_version": pinned.engine_version,
        "promotions": [
            {
                **asdict(p),
                "starts_at": p.starts_at.isoformat() if p.starts_at else None,
                "ends_at": p.ends_at.isoformat() if p.ends_at else None,
            }
            for p in pinned.promotions
        ],
    }


def pin_from_json(raw: dict[str, Any]) -> PromotionPin:
    """The pin back from `pin_to_json`."""
    out = []
    for p in raw.get("promotions") or ():
        moments = {
            k: datetime.fromisoformat(p[k]) if p.get(k) else None for k in ("starts_at", "ends_at")
        }
        tuples = {
            k: tuple(p.get(k) or ())
            for k in ("combines_with", "channels", "customer_groups", "windows")
        }
        out.append(PinnedPromotion(**{**p, **moments, **tuples}))
    return PromotionPin(engine_version=int(raw.get("engine_version", 1)), promotions=tuple(out))


def pinned_json(text: str) -> PromotionPin | None:
    """A pin carried as JSON text ("": none pinned)."""
    return pin_from_json(json.loads(text)) if text else None
