"""A seeded generator of store-days (sales with discounts, gift cards sold and redeemed, split
tenders, uncaptured cards, returns, shifts over and short), aggregated into the long figure rows
the journal loader returns, for the balancing tests."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pandas as pd

RATES = (0, 700, 1000, 2000)


@dataclass
class Day:
    figures: dict[str, int] = field(default_factory=dict)

    def add(self, item: str, amount: int) -> None:
        if amount:
            self.figures[item] = self.figures.get(item, 0) + amount


def _tax_inside(gross: int, rate: int) -> int:
    return round(gross * rate / (10_000 + rate))


def sale(rng: random.Random, day: Day) -> None:
    total = 0
    for _ in range(rng.randint(1, 5)):
        if rng.random() < 0.05:
            amount = rng.choice((1_000, 2_500, 5_000))
            day.add("gift_cards_sold", amount)
            total += amount
            continue
        rate = rng.choice(RATES)
        qty = rng.randint(1, 4)
        unit = rng.randint(99, 20_000)
        discount = rng.choice((0, 0, 0, rng.randint(1, qty * unit // 3 + 1)))
        gross = qty * unit - discount
        tax = _tax_inside(gross, rate)
        day.add(f"sales_net:{rate}", gross - tax)
        day.add(f"sales_tax:{rate}", tax)
        day.add(f"sales_discount:{rate}", discount)
        day.add("cogs", qty * rng.randint(10, unit // 2 + 11))
        total += gross
    day.add("order_total", total)
    left = total
    for tender in ("gift_card", "store_credit", "card"):
        if left and rng.random() < 0.3:
            part = rng.randint(1, left)
            if tender == "card" and rng.random() < 0.1:
                part = 0  # an offline card not captured: the rest stays in suspense
            day.add(f"tender:{tender}", part)
            left -= part
    if left and rng.random() < 0.97:
        day.add("tender:cash", left)


def store_day(rng: random.Random) -> dict[str, int]:
    day = Day()
    for _ in range(rng.randint(0, 40)):
        sale(rng, day)
    for _ in range(rng.randint(0, 3)):
        rate = rng.choice(RATES)
        amount = rng.randint(100, 9_000)
        day.add(f"returns_gross:{rate}", amount)
        day.add("cogs_returned", rng.randint(0, amount // 2))
        tender = rng.choice(("cash", "card", "store_credit", "gift_card"))
        day.add(f"refund:{tender}", amount if rng.random() < 0.9 else amount // 2)
    day.add("cash_variance", rng.choice((0, 0, -300, 150, -1_250)))
    day.add("paid_in", rng.choice((0, 0, 2_000)))
    day.add("paid_out", rng.choice((0, 0, 450)))
    day.add("missing_cost", rng.choice((0, 0, 1)))
    return day.figures


def week(seed: int, stores: int = 3, start: date = date(2026, 11, 2)) -> dict[str, pd.DataFrame]:
    """Frames for the journal builder: `stores` stores, seven days from `start`."""
    rng = random.Random(seed)
    store_rows: list[dict[str, Any]] = []
    figure_rows: list[dict[str, Any]] = []
    for i in range(stores):
        store_rows.append(
            {
                "location_id": 9_000 + i,
                "code": f"G{i}",
                "name": f"Gen {i}",
                "timezone": "Europe/Berlin",
                "currency": "EUR",
            }
        )
        for d in range(7):
            for item, amount in store_day(rng).items():
                figure_rows.append(
                    {
                        "location_id": 9_000 + i,
                        "business_date": start + timedelta(days=d),
                        "item": item,
                        "amount": amount,
                    }
                )
    return {
        "stores": pd.DataFrame(store_rows),
        "figures": pd.DataFrame(figure_rows),
        "exported": pd.DataFrame(
            columns=[
                "location_id",
                "export_date",
                "covers_date",
                "kind",
                "reference",
                "currency",
                "lines",
                "created_at",
            ]
        ),
        "late": pd.DataFrame(
            columns=[
                "location_id",
                "covers_date",
                "number",
                "workflow_id",
                "total",
                "placed_at",
                "created_at",
            ]
        ),
    }
