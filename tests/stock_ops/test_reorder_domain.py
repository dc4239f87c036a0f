"""The reorder arithmetic on small inputs."""

from __future__ import annotations

from domain.reorder import Position, plan, reorder_point, round_to_pack, velocity


def _pos(on_hand: int, *, reserved: int = 0, on_order: int = 0, safety: int = 0) -> Position:
    return Position(
        on_hand=on_hand, reserved=reserved, in_transit=0, on_order=on_order, safety_stock=safety
    )


def test_velocity_is_units_per_day() -> None:
    assert velocity(28, 28) == 1.0
    assert velocity(7, 14) == 0.5
    assert velocity(0, 28) == 0.0
    assert velocity(5, 0) == 0.0


def test_reorder_point_covers_the_lead_time_plus_safety_stock() -> None:
    assert reorder_point(2.0, 5, 3) == 13
    assert reorder_point(0.5, 3, 0) == 2  # 1.5 units rounds up: never run short
    assert reorder_point(1.0, 7, 0) == 7  # exact products do not round up


def test_quantities_round_up_to_whole_packs() -> None:
    assert round_to_pack(1, 12) == 12
    assert round_to_pack(12, 12) == 12
    assert round_to_pack(13, 12) == 24
    assert round_to_pack(0, 12) == 0
    assert round_to_pack(5, 1) == 5


def test_computed_point_orders_up_to_point_plus_cover() -> None:
    # 2/day, lead 5, safety 3: point 13; 14 days of cover: target 41; position 10 -> 31 -> 36
    p = plan(
        _pos(12, reserved=2, safety=3),
        reorder_min=None,
        reorder_max=None,
        units_per_day=2.0,
        lead_time_days=5,
        cover_days=14,
        pack_size=6,
    )
    assert (p.source, p.reorder_point, p.order_up_to, p.position, p.quantity) == (
        "velocity",
        13,
        41,
        10,
        36,
    )


def test_on_order_stock_stops_a_second_order() -> None:
    p = plan(
        _pos(2, on_order=40),
        reorder_min=None,
        reorder_max=None,
        units_per_day=2.0,
        lead_time_days=5,
        cover_days=14,
        pack_size=1,
    )
    assert p.quantity == 0


def test_min_max_overrides_velocity() -> None:
    p = plan(
        _pos(4),
        reorder_min=5,
        reorder_max=20,
        units_per_day=100.0,
        lead_time_days=30,
        cover_days=14,
        pack_size=4,
    )
    assert (p.source, p.reorder_point, p.order_up_to, p.quantity) == ("min_max", 5, 20, 16)
    above = plan(
        _pos(6),
        reorder_min=5,
        reorder_max=20,
        units_per_day=100.0,
        lead_time_days=30,
        cover_days=14,
        pack_size=4,
    )
    assert above.quantity == 0


def test_nothing_sold_nothing_ordered() -> None:
    p = plan(
        _pos(0),
        reorder_min=None,
        reorder_max=None,
        units_per_day=0.0,
        lead_time_days=7,
        cover_days=14,
        pack_size=1,
    )
    assert p.quantity == 0
