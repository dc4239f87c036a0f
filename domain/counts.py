"""Cycle counts: pure rules, no I/O.

- Several entries per SKU are allowed: staff count a SKU bin by bin (shelf, back room, …). Per
  (SKU, bin) the latest entry wins (a correction replaces the mistake); a SKU's count is the sum of
  its bins' latest entries.
- Nothing is frozen: the till keeps selling during a count. What the shelf should hold when a SKU
  is counted is on_hand at that moment, i.e. the snapshot plus every movement between the snapshot
  and the entry; sales after the entry are not in the count and are not held against it. So
  variance = counted − (snapshot + movements between the snapshot and the SKU's last entry), and
  the correction applied is that variance, on top of whatever moved since.
- A variance over the threshold (units, or value at cost) needs a second count (which confirms the
  first when it finds the same number) or a manager's approval.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    seq: int  # order of entry; later wins
    sku: str
    bin: str
    quantity: int


@dataclass(frozen=True)
class CountPolicy:
    max_units: int  # |variance| above this needs review; 0 = every variance
    max_value: int  # |variance| x unit cost above this (minor units) needs review; 0 = off


@dataclass(frozen=True)
class Line:
    sku: str
    counted: int
    expected: int
    unit_cost: int | None  # minor units; None: unknown (only the units threshold applies)

    @property
    def variance(self) -> int:
        return self.counted - self.expected


def counted_per_sku(entries: Iterable[Entry]) -> dict[str, int]:
    """The latest entry per (SKU, bin), summed per SKU."""
    latest: dict[tuple[str, str], Entry] = {}
    for e in sorted(entries, key=lambda e: e.seq):
        latest[(e.sku, e.bin)] = e
    out: dict[str, int] = {}
    for (sku, _), e in latest.items():
        out[sku] = out.get(sku, 0) + e.quantity
    return out


def over_threshold(line: Line, policy: CountPolicy) -> bool:
    """Does this line's variance need a recount or a manager?"""
    v = abs(line.variance)
    if v == 0:
        return False
    if v > policy.max_units:
        return True
    return bool(policy.max_value and line.unit_cost and v * line.unit_cost > policy.max_value)


def to_review(lines: Iterable[Line], policy: CountPolicy) -> list[str]:
    """The SKUs whose variance needs a recount or a manager, sorted."""
    return sorted(ln.sku for ln in lines if over_threshold(ln, policy))


def confirmed(first: Mapping[str, int], second: Mapping[str, int], skus: Iterable[str]) -> bool:
    """A recount confirms the first count when it finds the same number for every flagged SKU."""
    return all(sku in second and first.get(sku) == second[sku] for sku in skus)
