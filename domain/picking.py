"""Checking what a picker scanned against what the order needs from the shelf."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from domain.errors import InvalidRequest, PickIncomplete, WrongItem


@dataclass(frozen=True)
class Scan:
    barcode: str
    sku: str | None  # None: the barcode is not in the catalogue
    quantity: int = 1


def check_pick(
    needed: Mapping[str, int], scans: Sequence[Scan], names: Mapping[str, str], order_number: str
) -> dict[str, int]:
    """The units scanned per SKU when they are exactly what is needed; otherwise why not, for the
    picker."""
    if not scans:
        raise PickIncomplete("Nothing was scanned: scan every unit you picked.")
    got: dict[str, int] = {}
    for scan in scans:
        if scan.quantity <= 0:
            raise InvalidRequest(f"Barcode {scan.barcode}: the quantity must be at least 1.")
        if scan.sku is None:
            raise WrongItem(
                f"Barcode {scan.barcode} is not in the catalogue: this is not an item of "
                f"order {order_number}. Put it back."
            )
        if scan.sku not in needed:
            label = names.get(scan.sku, scan.sku)
            raise WrongItem(
                f"Wrong item: barcode {scan.barcode} is {label} ({scan.sku}), which is not on "
                f"order {order_number}. Put it back."
            )
        got[scan.sku] = got.get(scan.sku, 0) + scan.quantity
    over = [
        f"{got[s]} × {names.get(s, s)} scanned but the order needs {needed[s]}"
        for s in sorted(got)
        if got[s] > needed[s]
    ]
    if over:
        raise WrongItem("Too many: " + "; ".join(over) + ". Put the extra units back.")
    missing = [
        f"{needed[s] - got.get(s, 0)} × {names.get(s, s)} ({s})"
        for s in sorted(needed)
        if got.get(s, 0) < needed[s]
    ]
    if missing:
        raise PickIncomplete(
            "Still to pick: " + ", ".join(missing) + ". Scan them, or report a shortage."
        )
    return got


def check_shortage(
    needed: Mapping[str, int], missing: Mapping[str, int], names: Mapping[str, str]
) -> None:
    """A shortage names SKUs of the task and no more units than it needs."""
    if not missing or not any(missing.values()):
        raise InvalidRequest("Say which items are missing and how many.")
    for sku, qty in missing.items():
        if sku not in needed:
            raise InvalidRequest(f"{sku} is not on this pick list.")
        if not 0 < qty <= needed[sku]:
            raise InvalidRequest(
                f"{names.get(sku, sku)}: between 1 and {needed[sku]} can be missing, not {qty}."
            )
