"""Reorder points and order quantities: pure arithmetic over what a location holds and sells.

Inventory position = on hand - reserved + in transit to the location + still on order.
The reorder point is either the manager's `reorder_min` (with `reorder_max` as the level to order
up to) or computed: ceil(velocity x supplier lead time) + safety stock, ordering up to that point
plus `cover_days` of sales. A SKU is suggested when its position is at or below its point; the
quantity brings it up to the target and is rounded up to whole supplier packs."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Source = Literal["min_max", "velocity"]


def velocity(units_sold: int, window_days: int) -> float:
    """Units sold per day over the window (0 for an empty window or no sales)."""
    if window_days <= 0 or units_sold <= 0:
        return 0.0
    return units_sold / window_days


def reorder_point(units_per_day: float, lead_time_days: int, safety_stock: int) -> int:
    """What must be on hand or on the way when an order is placed to last the lead time."""
    return math.ceil(round(units_per_day * max(lead_time_days, 0), 9)) + max(safety_stock, 0)


def round_to_pack(quantity: int, pack_size: int) -> int:
    """Up to whole packs (a supplier sells cartons of `pack_size`)."""
    if quantity <= 0:
        return 0
    pack = max(pack_size, 1)
    return -(-quantity // pack) * pack


@dataclass(frozen=True, kw_only=True)
class Position:
    on_hand: int
    reserved: int
    in_transit: int
    on_order: int
    safety_stock: int

    @property
    def value(self) -> int:
        return self.on_hand - self.reserved + self.in_transit + self.on_order


@dataclass(frozen=True, kw_only=True)
class Plan:
    source: Source
    reorder_point: int
    order_up_to: int
    position: int
    quantity: int  # 0: nothing to order


def plan(
    position: Position,
    *,
    reorder_min: int | None,
    reorder_max: int | None,
    units_per_day: float,
    lead_time_days: int,
    cover_days: int,
    pack_size: int,
) -> Plan:
    """Whether to order this SKU here and how much."""
    if reorder_min is not None:
        point = reorder_min
        target = max(reorder_max if reorder_max is not None else reorder_min, reorder_min)
        source: Source = "min_max"
    else:
        point = reorder_point(units_per_day, lead_time_days, position.safety_stock)
        target = point + math.ceil(round(units_per_day * max(cover_days, 0), 9))
        source = "velocity"
    pos = position.value
    wanted = target - pos if pos <= point and target > 0 else 0
    return Plan(
        source=source,
        reorder_point=point,
        order_up_to=target,
        position=pos,
        quantity=round_to_pack(wanted, pack_size),
    )
