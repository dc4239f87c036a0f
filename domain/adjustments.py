"""Stock adjustments: reason codes, which way each may move stock, when a manager must approve,
and the ledger reason each one writes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from domain.errors import InvalidRequest

AdjustmentReason = Literal["damage", "theft", "found", "correction"]
AdjustmentKind = Literal["adjustment", "quarantine_release", "write_off"]
REASONS: tuple[str, ...] = ("damage", "theft", "found", "correction")
# Damage and theft only take stock away, found goods only add; a correction goes either way.
_SIGN = {"damage": -1, "theft": -1, "found": 1}


def ledger_reason(kind: str, reason: str) -> str:
    """The reason written on the ledger rows: `adjustment:damage`, `quarantine_release`,
    `write_off`."""
    if kind == "adjustment":
        return f"adjustment:{reason}"
    return kind


def check_lines(kind: str, reason: str, deltas: Sequence[tuple[str, int]]) -> None:
    """Refuse what a reason code cannot mean; `deltas` are (sku, signed change of stock)."""
    if not deltas:
        raise InvalidRequest("Give at least one line.", code="no_lines")
    seen: set[str] = set()
    for i, (sku, delta) in enumerate(deltas, start=1):
        if sku in seen:
            raise InvalidRequest(f"Line {i}: {sku} is listed twice.", code="duplicate_sku")
        seen.add(sku)
        if delta == 0:
            raise InvalidRequest(f"Line {i}: a change of 0 units changes nothing.", code="zero")
        if kind != "adjustment":
            if delta < 0:
                raise InvalidRequest(
                    f"Line {i}: give the number of quarantined units, a positive number.",
                    code="negative_quantity",
                )
            continue
        if reason not in REASONS:
            raise InvalidRequest(
                f"Unknown reason {reason!r}: use one of {', '.join(REASONS)}.", code="bad_reason"
            )
        sign = _SIGN.get(reason)
        if sign is not None and (delta > 0) != (sign > 0):
            way = "remove stock (a negative delta)" if sign < 0 else "add stock (a positive delta)"
            raise InvalidRequest(f"Line {i}: {reason} can only {way}.", code="wrong_direction")


@dataclass(frozen=True, kw_only=True)
class Thresholds:
    units: int  # more units than this (either direction) need a manager's approval
    value: int  # more than this at cost (minor units) needs approval


def approval_reasons(thresholds: Thresholds, units: int, value: int, kind: str) -> tuple[str, ...]:
    """Why this change waits for a manager (empty: it applies at once).

    Releasing quarantined goods to sellable loses nothing: only its units count."""
    out = []
    if units > thresholds.units:
        out.append(f"{units} units is more than {thresholds.units}")
    if kind != "quarantine_release" and value > thresholds.value:
        out.append(f"a value of {value} at cost is more than {thresholds.value}")
    return tuple(out)
