"""Routing rules for online orders (domain/routing.py): pure, no database."""

from __future__ import annotations

import pytest

from domain.routing import (
    Destination,
    Need,
    ProductFlags,
    RoutingRules,
    Site,
    Unroutable,
    distance_km,
    route,
    ship_to_store,
)

BERLIN = Destination("DE", 52.52, 13.40)
LISBON = Destination("PT", 38.72, -9.14)


def sites(
    ber: dict[str, int], lis: dict[str, int], wh: dict[str, int], *, lis_ships: bool = True
) -> list[Site]:
    return [
        Site(1, "BER", "store", True, ber, 52.5291, 13.4016, "DE"),
        Site(2, "LIS", "store", lis_ships, lis, 38.7107, -9.1422, "PT"),
        Site(3, "WH1", "warehouse", True, wh, 51.3727, 12.3730, "DE"),
    ]


def placed(plan) -> set[tuple[int, str, int]]:  # type: ignore[no-untyped-def]  # RoutePlan not imported here
    return {(a.location_id, a.sku, a.quantity) for a in plan.allocations}


def test_pickup_goes_to_the_chosen_store() -> None:
    plan = route(
        [Need("A", 2)],
        sites({"A": 5}, {"A": 5}, {"A": 50}),
        {},
        pickup_location_id=2,
        destination=BERLIN,
    )
    assert placed(plan) == {(2, "A", 2)}


def test_pickup_store_without_stock_is_refused_with_the_reason() -> None:
    with pytest.raises(Unroutable) as err:
        route([Need("A", 3)], sites({"A": 5}, {"A": 1}, {"A": 50}), {}, pickup_location_id=2)
    assert err.value.shortfalls[0].reason == "no_stock" and "only 1 of 3" in err.value.message
    with pytest.raises(Unroutable, match="not a store"):
        route([Need("A", 1)], sites({}, {}, {"A": 50}), {}, pickup_location_id=3)


def test_one_location_that_has_everything_beats_a_nearer_partial_one() -> None:
    # Berlin is nearest but lacks B; Lisbon has both: one parcel from Lisbon.
    plan = route(
        [Need("A", 1), Need("B", 1)], sites({"A": 3}, {"A": 1, "B": 1}, {}), {}, destination=BERLIN
    )
    assert placed(plan) == {(2, "A", 1), (2, "B", 1)} and not plan.split


def test_nearest_ship_from_store_store_then_the_warehouse() -> None:
    everywhere = sites({"A": 5}, {"A": 5}, {"A": 50})
    assert route([Need("A", 1)], everywhere, {}, destination=LISBON).location_ids == (2,)
    assert route([Need("A", 1)], everywhere, {}, destination=BERLIN).location_ids == (1,)
    # Without coordinates, the country decides.
    assert route([Need("A", 1)], everywhere, {}, destination=Destination("PT")).location_ids == (2,)
    # Stores first, even when the warehouse is nearer to the customer (Leipzig).
    assert route(
        [Need("A", 1)], everywhere, {}, destination=Destination("DE", 51.34, 12.37)
    ).location_ids == (1,)
    # A store without ship-from-store never ships; then the warehouse.
    no_lisbon = sites({}, {"A": 5}, {"A": 50}, lis_ships=False)
    assert route([Need("A", 1)], no_lisbon, {}, destination=LISBON).location_ids == (3,)
    # Configurable: warehouse first.
    assert route(
        [Need("A", 1)], everywhere, {}, destination=LISBON, rules=RoutingRules(stores_first=False)
    ).location_ids == (3,)


def test_split_only_when_nobody_can_ship_it_whole_and_fewest_parcels() -> None:
    # Nobody has 3 A + 2 B; the warehouse covers most, Berlin the rest.
    plan = route(
        [Need("A", 3), Need("B", 2)],
        sites({"A": 1, "B": 2}, {"A": 1}, {"A": 2, "B": 1}),
        {},
        destination=BERLIN,
    )
    assert plan.split
    assert sum(a.quantity for a in plan.allocations if a.sku == "A") == 3
    assert sum(a.quantity for a in plan.allocations if a.sku == "B") == 2
    assert plan.location_ids == (1, 3)  # two parcels, not three
    with pytest.raises(Unroutable, match="splitting is switched off"):
        route(
            [Need("A", 3), Need("B", 2)],
            sites({"A": 1, "B": 2}, {"A": 1}, {"A": 2, "B": 1}),
            {},
            rules=RoutingRules(allow_split=False),
        )


def test_not_enough_anywhere_names_each_short_sku() -> None:
    with pytest.raises(Unroutable) as err:
        route([Need("A", 10), Need("B", 1)], sites({"A": 2, "B": 1}, {"A": 1}, {"A": 3}), {})
    (short,) = err.value.shortfalls
    assert (short.sku, short.wanted, short.available) == ("A", 10, 6)


def test_safety_stock_is_already_off_available_to_promise() -> None:
    # The caller passes on_hand - reserved - safety_stock; zero or negative means nothing to
    # promise.
    with pytest.raises(Unroutable):
        route([Need("A", 1)], sites({"A": 0}, {"A": -2}, {}), {})


def test_product_flags() -> None:
    every = sites({"A": 5, "S": 5, "O": 5}, {"O": 5}, {"A": 5, "O": 5})
    flags = {"S": ProductFlags(store_only=True), "O": ProductFlags(online_only=True)}
    with pytest.raises(Unroutable, match="stores only"):
        route([Need("S", 1)], every, flags)
    with pytest.raises(Unroutable, match="stores only"):
        route([Need("S", 1)], every, flags, pickup_location_id=1)
    # Online-only ships from the warehouse, never from a store shelf, and is never picked up.
    assert route([Need("O", 1)], every, flags, destination=BERLIN).location_ids == (3,)
    with pytest.raises(Unroutable, match="online-only"):
        route([Need("O", 1)], every, flags, pickup_location_id=1)
    # Mixed basket: the warehouse has A and O, so it ships whole from there.
    assert route([Need("A", 1), Need("O", 1)], every, flags, destination=BERLIN).location_ids == (
        3,
    )


def test_same_sku_on_two_lines_is_one_need_and_excluded_locations_are_skipped() -> None:
    plan = route(
        [Need("A", 1), Need("A", 2)], sites({"A": 3}, {}, {"A": 5}), {}, destination=BERLIN
    )
    assert placed(plan) == {(1, "A", 3)}
    plan = route([Need("A", 1)], sites({"A": 3}, {}, {"A": 5}), {}, destination=BERLIN, exclude={1})
    assert plan.location_ids == (3,)


def test_distance() -> None:
    ber, _, _ = sites({}, {}, {})
    assert 2300 < distance_km(ber, LISBON) < 2350
    assert distance_km(ber, None) == float("inf")


def test_ship_to_store_keeps_what_the_store_has_and_sends_the_rest_from_one_place() -> None:
    plan = ship_to_store(
        [Need("A", 3), Need("B", 1)], sites({"A": 5, "B": 1}, {"A": 1}, {"A": 2, "B": 4}), {}, 2
    )
    assert plan is not None
    assert {(a.sku, a.quantity) for a in plan.held_here} == {("A", 1)}
    assert plan.source_code == "WH1"  # a warehouse first, though Berlin has it too
    assert set(plan.transfer) == {Need("A", 2), Need("B", 1)}


def test_ship_to_store_needs_one_source_with_all_of_the_rest() -> None:
    # Berlin has A, the warehouse has B: two deliveries would be needed, so no plan.
    assert ship_to_store([Need("A", 2), Need("B", 2)], sites({"A": 9}, {}, {"B": 9}), {}, 2) is None
    # A store that already has everything is plain routing's job.
    assert ship_to_store([Need("A", 1)], sites({}, {"A": 1}, {"A": 9}), {}, 2) is None
    # Online-only goods are never picked up in a store, transfer or not.
    flags = {"A": ProductFlags(online_only=True)}
    assert ship_to_store([Need("A", 1)], sites({}, {}, {"A": 9}), flags, 2) is None
    # The pickup location must be a store.
    assert ship_to_store([Need("A", 1)], sites({}, {}, {"A": 9}), {}, 3) is None
