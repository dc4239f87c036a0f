"""Loyalty points, the pure rules: what an order earns (per currency unit, per product, per
order, times the tier's multiplier), what a return takes back (in proportion to what it refunds),
what points are worth, the tier a 12-month spend reaches, and which lots expire (first in, first
out)."""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from domain.errors import InvalidRequest

MINOR_PER_UNIT = 100  # points are earned per whole currency unit: 100 minor units


@dataclass(frozen=True)
class Tier:
    name: str
    min_spend: int  # minor units spent over the last 12 months
    multiplier_pct: int  # 100: the base rate; 150: half as much again


@dataclass(frozen=True)
class LoyaltyRules:
    points_per_unit: int = 1
    product_bonus: Mapping[str, int] = field(default_factory=dict)  # sku -> points per unit
    order_bonus: int = 0
    expiry_months: int = 12
    point_value_minor: int = 1
    tiers: tuple[Tier, ...] = (Tier("base", 0, 100),)


@dataclass(frozen=True)
class EarnLine:
    sku: str
    quantity: int
    gross: int  # what the customer paid for the line, after discounts (minor units)


@dataclass(frozen=True)
class Earned:
    base: int  # per currency unit, after the tier's multiplier
    product_bonus: int
    order_bonus: int
    spend: int  # minor units the order adds to the 12-month spend

    @property
    def total(self) -> int:
        return self.base + self.product_bonus + self.order_bonus


@dataclass(frozen=True)
class Lot:
    """A credit of points (an earn, a positive adjustment, a refunded redemption)."""

    id: int
    points: int
    expires_at: datetime


def parse_tiers(spec: str) -> tuple[Tier, ...]:
    """ "base:0:100,silver:50000:125" as tiers, lowest first; the first must start at 0."""
    tiers: list[Tier] = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        bits = part.split(":")
        if len(bits) != 3 or not bits[0].strip():
            raise InvalidRequest(
                f"Loyalty tier {part!r} is not name:min_spend:multiplier_pct.", code="bad_tiers"
            )
        try:
            tier = Tier(bits[0].strip(), int(bits[1]), int(bits[2]))
        except ValueError:
            raise InvalidRequest(
                f"Loyalty tier {part!r} needs whole numbers for its spend and multiplier.",
                code="bad_tiers",
            ) from None
        if tier.min_spend < 0 or not 0 <= tier.multiplier_pct <= 1000:
            raise InvalidRequest(f"Loyalty tier {part!r} is out of range.", code="bad_tiers")
        tiers.append(tier)
    tiers.sort(key=lambda t: t.min_spend)
    if not tiers or tiers[0].min_spend != 0:
        raise InvalidRequest("The first loyalty tier must start at a spend of 0.", code="bad_tiers")
    if len({t.name for t in tiers}) != len(tiers) or len({t.min_spend for t in tiers}) != len(
        tiers
    ):
        raise InvalidRequest("Loyalty tiers need distinct names and spends.", code="bad_tiers")
    return tuple(tiers)


def tier_for_spend(spend: int, tiers: Sequence[Tier]) -> Tier:
    """The highest tier whose threshold the 12-month spend reaches (the first one at worst)."""
    best = tiers[0]
    for tier in tiers:
        if spend >= tier.min_spend:
            best = tier
    return best


def tier_named(name: str, tiers: Sequence[Tier]) -> Tier:
    """The tier by name; a tier no longer configured counts as the first one."""
    return next((t for t in tiers if t.name == name), tiers[0])


def points_for_order(lines: Sequence[EarnLine], rules: LoyaltyRules, tier: Tier) -> Earned:
    """Points an order earns: whole currency units of what was paid times the rate and the tier's
    multiplier (rounded down), plus the product bonuses per unit and the order bonus. An order of
    nothing (or all given away) earns nothing."""
    spend = sum(max(ln.gross, 0) for ln in lines)
    base = (spend // MINOR_PER_UNIT) * rules.points_per_unit * tier.multiplier_pct // 100
    bonus = sum(rules.product_bonus.get(ln.sku, 0) * ln.quantity for ln in lines if ln.quantity > 0)
    order_bonus = rules.order_bonus if spend > 0 else 0
    return Earned(base=base, product_bonus=bonus, order_bonus=order_bonus, spend=spend)


def points_to_reverse(
    earned: int, order_spend: int, returned_before: int, returned_now: int
) -> int:
    """Points a return takes back: the share of the order's points its refund is of what the order
    cost, counted cumulatively so that returning everything, in any number of returns, takes back
    exactly what was earned."""
    if earned <= 0 or order_spend <= 0 or returned_now <= 0:
        return 0
    before = min(max(returned_before, 0), order_spend)
    after = min(before + returned_now, order_spend)
    return earned * after // order_spend - earned * before // order_spend


def points_value(points: int, rules: LoyaltyRules) -> int:
    """What `points` pay for, in minor units."""
    return max(points, 0) * rules.point_value_minor


def points_for_amount(amount: int, rules: LoyaltyRules) -> int:
    """Points that pay for `amount` minor units (rounded up: a part point pays no part cent)."""
    return -(-max(amount, 0) // rules.point_value_minor)


def receipt_note(points: int, balance: int) -> str:
    """The receipt's loyalty line: what this sale earned and the balance after it."""
    return f"Points: {points:+d}, balance {balance}"


def add_months(at: datetime, months: int) -> datetime:
    """The same day and time `months` later (the month's last day if it has fewer days)."""
    month0 = at.month - 1 + months
    year, month = at.year + month0 // 12, month0 % 12 + 1
    day = min(at.day, calendar.monthrange(year, month)[1])
    return at.replace(year=year, month=month, day=day)


def remaining_by_lot(lots: Sequence[Lot], debits: int) -> list[tuple[Lot, int]]:
    """Each lot with what is left of it once `debits` points (everything ever taken: redeemed,
    reversed, expired, adjusted down) are taken from the lots that expire first."""
    left = max(debits, 0)
    out: list[tuple[Lot, int]] = []
    for lot in sorted(lots, key=lambda x: (x.expires_at, x.id)):
        taken = min(left, lot.points)
        left -= taken
        out.append((lot, lot.points - taken))
    return out


def due_expiries(lots: Sequence[Lot], debits: int, now: datetime) -> list[tuple[Lot, int]]:
    """The lots expired by `now` with the points still left in each (0: used up before it
    expired, closed with nothing to take)."""
    return [(lot, left) for lot, left in remaining_by_lot(lots, debits) if lot.expires_at <= now]


def next_expiry(lots: Sequence[Lot], debits: int) -> tuple[datetime, int] | None:
    """When the next points expire and how many, or None when nothing is left."""
    for lot, left in remaining_by_lot(lots, debits):
        if left > 0:
            return lot.expires_at, left
    return None


def rules_from_config(cfg: object) -> LoyaltyRules:
    """The rules from an object with the `loyalty_*` fields of tillflow's Settings (read by name:
    domain imports no settings)."""
    return LoyaltyRules(
        points_per_unit=int(getattr(cfg, "loyalty_points_per_unit", 1)),
        product_bonus=dict(getattr(cfg, "loyalty_product_bonus", {}) or {}),
        order_bonus=int(getattr(cfg, "loyalty_order_bonus", 0)),
        expiry_months=int(getattr(cfg, "loyalty_expiry_months", 12)),
        point_value_minor=int(getattr(cfg, "loyalty_point_value_minor", 1)),
        tiers=parse_tiers(str(getattr(cfg, "loyalty_tiers", "base:0:100"))),
    )
