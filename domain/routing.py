"""Where an online order is fulfilled from: pure rules, no I/O.

- Pickup in store (BOPIS): the customer's chosen store, which must have every line available.
- Shipping: one location that can ship the whole order wins. Among several, stores with
  ship-from-store enabled come first, nearest first, then warehouses, nearest first
  (`RoutingRules.stores_first=False` puts warehouses first). Only when no single location can
  ship the whole order is it split: greedily, the location covering most of what is left first,
  so the customer gets as few parcels as possible.
- Available to promise arrives with safety stock already taken off (on_hand - reserved - safety).
- Product flags: a store-only product is never sold online. An online-only product is kept in
  the fulfilment warehouses, not on store shelves, so it ships from a warehouse and is never
  picked up in a store.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from domain.errors import Conflict

STORE, WAREHOUSE = "store", "warehouse"


@dataclass(frozen=True)
class Need:
    sku: str
    quantity: int


@dataclass(frozen=True)
class ProductFlags:
    store_only: bool = False
    online_only: bool = False


@dataclass(frozen=True)
class Site:
    """A location that might fulfil, with what it has available to promise per SKU."""

    location_id: int
    code: str
    kind: str  # store | warehouse
    ship_from_store: bool
    available: Mapping[str, int]
    latitude: float | None = None
    longitude: float | None = None
    country: str | None = None

    def has(self, sku: str) -> int:
        return max(0, self.available.get(sku, 0))


@dataclass(frozen=True)
class Destination:
    country: str | None = None
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class RoutingRules:
    allow_split: bool = True
    stores_first: bool = True


@dataclass(frozen=True)
class Allocation:
    location_id: int
    sku: str
    quantity: int


@dataclass(frozen=True)
class Shortfall:
    sku: str
    wanted: int
    available: int
    reason: str  # no_stock | store_only | online_only | not_a_store | no_single_location


@dataclass(frozen=True)
class Plan:
    allocations: tuple[Allocation, ...]

    @property
    def location_ids(self) -> tuple[int, ...]:
        return tuple(sorted({a.location_id for a in self.allocations}))

    @property
    def split(self) -> bool:
        return len(self.location_ids) > 1


_REASONS = {
    "no_stock": "only {available} of {wanted} available",
    "store_only": "sold in stores only, never online",
    "online_only": "online-only: ships from the warehouse, cannot be picked up in a store",
    "not_a_store": "the chosen pickup location is not a store",
    "no_single_location": "no single location has all of it and splitting is switched off",
}


class Unroutable(Conflict):
    """No location (or set of locations) can fulfil the order; `shortfalls` says what and why."""

    def __init__(self, shortfalls: Sequence[Shortfall]) -> None:
        self.shortfalls = tuple(shortfalls)
        parts = [
            f"{s.sku}: " + _REASONS[s.reason].format(available=s.available, wanted=s.wanted)
            for s in self.shortfalls
        ]
        super().__init__("Cannot fulfil this order: " + "; ".join(parts) + ".", code="unroutable")


def merge(needs: Sequence[Need]) -> list[Need]:
    """One need per SKU (web stores may send the same SKU on several lines), in first-seen order."""
    total: dict[str, int] = {}
    for n in needs:
        total[n.sku] = total.get(n.sku, 0) + n.quantity
    return [Need(sku, qty) for sku, qty in total.items()]


def distance_km(site: Site, dest: Destination | None) -> float:
    """Great-circle distance when both have coordinates; else 0 in the same country, 1 outside; inf
    unknown."""
    if dest is None:
        return math.inf
    if (
        site.latitude is not None
        and site.longitude is not None
        and dest.latitude is not None
        and dest.longitude is not None
    ):
        lat1, lon1 = math.radians(site.latitude), math.radians(site.longitude)
        lat2, lon2 = math.radians(dest.latitude), math.radians(dest.longitude)
        h = (
            math.sin((lat2 - lat1) / 2) ** 2
            + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
        )
        return 2 * 6371.0 * math.asin(math.sqrt(h))
    if dest.country and site.country:
        return 0.0 if dest.country.upper() == site.country.upper() else 1.0
    return math.inf


def ships(site: Site) -> bool:
    return site.kind == WAREHOUSE or (site.kind == STORE and site.ship_from_store)


def may_ship(site: Site, flags: ProductFlags) -> bool:
    """May this site ship this product? (store-only never ships; online-only only from
    warehouses)"""
    if flags.store_only:
        return False
    if flags.online_only:
        return site.kind == WAREHOUSE
    return ships(site)


def ranked(sites: Sequence[Site], dest: Destination | None, rules: RoutingRules) -> list[Site]:
    """Shipping sites in order of preference: stores then warehouses (or reverse), nearest first."""
    first = STORE if rules.stores_first else WAREHOUSE
    return sorted(
        (s for s in sites if ships(s)),
        key=lambda s: (s.kind != first, distance_km(s, dest), s.code),
    )


def route(
    needs: Sequence[Need],
    sites: Sequence[Site],
    flags: Mapping[str, ProductFlags],
    *,
    destination: Destination | None = None,
    pickup_location_id: int | None = None,
    rules: RoutingRules = RoutingRules(),
    exclude: Collection[int] = (),
) -> Plan:
    """Choose the locations for an order; raise Unroutable with every shortfall when impossible."""
    wanted = [n for n in merge(needs) if n.quantity > 0]
    usable = [s for s in sites if s.location_id not in exclude]
    if pickup_location_id is not None:
        return _pickup(wanted, usable, flags, pickup_location_id)
    return _ship(wanted, usable, flags, destination, rules)


def _pickup(
    needs: list[Need], sites: list[Site], flags: Mapping[str, ProductFlags], pickup: int
) -> Plan:
    site = next((s for s in sites if s.location_id == pickup), None)
    if site is None or site.kind != STORE:
        raise Unroutable([Shortfall(n.sku, n.quantity, 0, "not_a_store") for n in needs])
    short = []
    for n in needs:
        f = flags.get(n.sku, ProductFlags())
        if f.store_only or f.online_only:
            short.append(
                Shortfall(n.sku, n.quantity, 0, "store_only" if f.store_only else "online_only")
            )
        elif site.has(n.sku) < n.quantity:
            short.append(Shortfall(n.sku, n.quantity, site.has(n.sku), "no_stock"))
    if short:
        raise Unroutable(short)
    return Plan(tuple(Allocation(site.location_id, n.sku, n.quantity) for n in needs))


def _ship(
    needs: list[Need],
    sites: list[Site],
    flags: Mapping[str, ProductFlags],
    dest: Destination | None,
    rules: RoutingRules,
) -> Plan:
    never = [
        Shortfall(n.sku, n.quantity, 0, "store_only")
        for n in needs
        if flags.get(n.sku, ProductFlags()).store_only
    ]
    if never:
        raise Unroutable(never)
    order = ranked(sites, dest, rules)

    def can(site: Site, sku: str) -> int:
        return site.has(sku) if may_ship(site, flags.get(sku, ProductFlags())) else 0

    for site in order:
        if all(can(site, n.sku) >= n.quantity for n in needs):
            return Plan(tuple(Allocation(site.location_id, n.sku, n.quantity) for n in needs))
    if not rules.allow_split:
        raise Unroutable(
            [
                Shortfall(
                    n.sku,
                    n.quantity,
                    max((can(s, n.sku) for s in order), default=0),
                    "no_single_location",
                )
                for n in needs
            ]
        )
    remaining = {n.sku: n.quantity for n in needs}
    left = {s.location_id: {n.sku: can(s, n.sku) for n in needs} for s in order}
    allocations: list[Allocation] = []
    while any(remaining.values()):
        best, best_units = None, 0
        for site in order:  # strictly greater: ties go to the preferred (earlier) site
            units = sum(min(q, left[site.location_id][sku]) for sku, q in remaining.items())
            if units > best_units:
                best, best_units = site, units
        if best is None:
            break
        for sku, q in remaining.items():
            take = min(q, left[best.location_id][sku])
            if take:
                allocations.append(Allocation(best.location_id, sku, take))
                left[best.location_id][sku] -= take
                remaining[sku] = q - take
    if any(remaining.values()):
        raise Unroutable(
            [
                Shortfall(
                    sku,
                    dict((n.sku, n.quantity) for n in needs)[sku],
                    sum(can(s, sku) for s in order),
                    "no_stock",
                )
                for sku, q in remaining.items()
                if q
            ]
        )
    return Plan(tuple(allocations))


@dataclass(frozen=True)
class ShipToStore:
    """A pickup the chosen store cannot fill from its shelf: what it holds now, and one location
    that sends the rest to it by transfer."""

    held_here: tuple[Allocation, ...]  # at the pickup store, for the lines it has
    source_location_id: int
    source_code: str
    transfer: tuple[Need, ...]  # what comes from the source


def ship_to_store(
    needs: Sequence[Need],
    sites: Sequence[Site],
    flags: Mapping[str, ProductFlags],
    pickup_location_id: int,
) -> ShipToStore | None:
    """Plan a ship-to-store pickup, or None when even a transfer cannot make it (a line that can
    never be picked up in a store, or no single other location with all of the rest).

    The pickup store keeps what it has; one other location — warehouses first, then the store
    with most of it, by code on ties — must have the whole rest, so the customer waits for one
    delivery."""
    wanted = [n for n in merge(needs) if n.quantity > 0]
    site = next((s for s in sites if s.location_id == pickup_location_id), None)
    if site is None or site.kind != STORE or not wanted:
        return None
    if any(
        flags.get(n.sku, ProductFlags()).store_only or flags.get(n.sku, ProductFlags()).online_only
        for n in wanted
    ):
        return None
    here = [Allocation(site.location_id, n.sku, min(n.quantity, site.has(n.sku))) for n in wanted]
    rest = [
        Need(n.sku, n.quantity - a.quantity)
        for n, a in zip(wanted, here, strict=True)
        if n.quantity > a.quantity
    ]
    if not rest:
        return None  # it has everything: plain routing handles it
    sources = sorted(
        (
            s
            for s in sites
            if s.location_id != site.location_id and all(s.has(n.sku) >= n.quantity for n in rest)
        ),
        key=lambda s: (s.kind != WAREHOUSE, -sum(s.has(n.sku) for n in rest), s.code),
    )
    if not sources:
        return None
    return ShipToStore(
        held_here=tuple(a for a in here if a.quantity > 0),
        source_location_id=sources[0].location_id,
        source_code=sources[0].code,
        transfer=tuple(rest),
    )
