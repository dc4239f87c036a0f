"""The pure loyalty rules: earning, tiers, proportional reversal, value, FIFO expiry of lots."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.errors import InvalidRequest
from domain.loyalty import (
    EarnLine,
    Lot,
    LoyaltyRules,
    Tier,
    add_months,
    due_expiries,
    next_expiry,
    parse_tiers,
    points_for_amount,
    points_for_order,
    points_to_reverse,
    points_value,
    remaining_by_lot,
    rules_from_config,
    tier_for_spend,
)

TIERS = (Tier("base", 0, 100), Tier("silver", 50_000, 125), Tier("gold", 150_000, 150))
RULES = LoyaltyRules(points_per_unit=1, product_bonus={"MUG": 10}, order_bonus=5, tiers=TIERS)


def at(day: int, month: int = 1, year: int = 2026) -> datetime:
    return datetime(year, month, day, 12, tzinfo=UTC)


def test_an_order_earns_per_unit_product_and_order_bonus() -> None:
    lines = [EarnLine("MUG", 2, 1_999), EarnLine("TEA", 1, 1_050)]
    e = points_for_order(lines, RULES, TIERS[0])
    # 30.49 spent: 30 points, 2 mugs x 10, 5 for the order
    assert (e.base, e.product_bonus, e.order_bonus, e.total, e.spend) == (30, 20, 5, 55, 3_049)


def test_the_tier_multiplies_the_base_rate_only() -> None:
    e = points_for_order([EarnLine("MUG", 1, 10_000)], RULES, TIERS[2])
    assert (e.base, e.product_bonus, e.order_bonus) == (150, 10, 5)


def test_an_order_of_nothing_earns_nothing() -> None:
    assert points_for_order([], RULES, TIERS[0]).total == 0
    assert points_for_order([EarnLine("TEA", 1, 0)], RULES, TIERS[0]).total == 0


def test_tiers_by_twelve_month_spend() -> None:
    assert tier_for_spend(0, TIERS).name == "base"
    assert tier_for_spend(49_999, TIERS).name == "base"
    assert tier_for_spend(50_000, TIERS).name == "silver"
    assert tier_for_spend(10**9, TIERS).name == "gold"


def test_tiers_parse_from_settings_and_refuse_nonsense() -> None:
    assert parse_tiers("gold:150000:150, base:0:100,silver:50000:125") == TIERS
    for bad in ("", "silver:100:125", "base:0:x", "base:0", "base:0:100,base:5:100"):
        with pytest.raises(InvalidRequest) as err:
            parse_tiers(bad)
        assert err.value.code == "bad_tiers"


def test_rules_come_from_the_settings_fields() -> None:
    from tillflow.settings import Settings

    rules = rules_from_config(Settings(loyalty_order_bonus=7, loyalty_product_bonus={"A": 3}))
    assert rules.order_bonus == 7 and rules.product_bonus == {"A": 3}
    assert [t.name for t in rules.tiers] == ["base", "silver", "gold"]


def test_returns_reverse_in_proportion_and_all_of_it_in_the_end() -> None:
    earned, spend = 55, 3_049
    first = points_to_reverse(earned, spend, 0, 1_050)
    assert first == 55 * 1_050 // 3_049 == 18
    second = points_to_reverse(earned, spend, 1_050, 1_999)
    assert first + second == earned  # everything returned: everything taken back
    assert points_to_reverse(earned, spend, 3_049, 100) == 0  # nothing left to return
    assert points_to_reverse(0, spend, 0, 1_000) == 0


def test_points_value_and_the_points_an_amount_needs() -> None:
    rules = LoyaltyRules(point_value_minor=5)
    assert points_value(100, rules) == 500
    assert points_for_amount(501, rules) == 101  # rounded up: a part point pays no part cent
    assert points_for_amount(0, rules) == 0


def test_add_months_keeps_the_day_or_takes_the_last() -> None:
    assert add_months(at(31, 1), 1) == at(28, 2)
    assert add_months(at(15, 11), 14) == at(15, 1, 2028)
    assert add_months(at(15, 3), -12) == at(15, 3, 2025)


def test_lots_are_consumed_first_in_first_out() -> None:
    lots = [Lot(2, 50, at(1, 3)), Lot(1, 100, at(1, 2)), Lot(3, 30, at(1, 4))]
    left = [(lot.id, n) for lot, n in remaining_by_lot(lots, 120)]
    assert left == [(1, 0), (2, 30), (3, 30)]
    # By 1 March the first two lots are due: the first was used up, 30 of the second go.
    assert [(lot.id, n) for lot, n in due_expiries(lots, 120, at(1, 3))] == [(1, 0), (2, 30)]
    assert next_expiry(lots, 120) == (at(1, 3), 30)
    assert next_expiry(lots, 180) is None
