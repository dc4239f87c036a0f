"""The sales and KPI builders on small hand-built frames with known answers."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from reports import kpis, sales
from reports.base import ReportParams
from reports.registry import ReportContext
from reports.render import render

PARAMS = ReportParams(date(2025, 3, 3), date(2025, 3, 4))
CTX = ReportContext(ui_base="http://ui:8233", now=datetime(2025, 3, 5, 12, tzinfo=UTC))
STORES = pd.DataFrame(
    [
        {"location_id": 1, "code": "S1", "name": "Store one", "currency": "EUR", "days": 2},
        {"location_id": 2, "code": "S2", "name": "Store two", "currency": "EUR", "days": 2},
    ]
)
_FACT_KEYS = ("location_id", "till_id", "cashier_id", "channel", "fulfilment_type", "category")


def fact(dimension: str, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {k: None for k in _FACT_KEYS}
    row |= {"hour": None, "tax_rate_bp": None, "till": None, "cashier": None}
    row |= {
        "dimension": dimension,
        "currency": "EUR",
        "orders": 0,
        "returns_count": 0,
        "units": 0,
        "gross": 0,
        "discounts": 0,
        "net_ex_tax": 0,
        "tax": 0,
        "returned_units": 0,
        "returns": 0,
        "returned_net_ex_tax": 0,
        "returned_tax": 0,
    }
    return row | values


def sales_frames() -> dict[str, pd.DataFrame]:
    # Store 1: two orders, 12.00 + 8.00 gross before 1.00 discount; a 3.00 refund (0.50 tax).
    s1 = {"orders": 2, "units": 3, "gross": 2000, "discounts": 100, "tax": 300}
    ret = {"returns": 300, "returned_tax": 50, "returned_net_ex_tax": 250, "returns_count": 1}
    s2 = {"orders": 1, "units": 1, "gross": 500, "tax": 80}
    facts = [
        fact("store", location_id=1, **s1, **ret),
        fact("store", location_id=2, **s2),
        fact("all", orders=3, units=4, gross=2500, discounts=100, tax=380, **ret),
        fact("till", location_id=1, till_id=10, till="T1", **s1, **ret),
        fact("till", location_id=2, **s2),  # an online order: no till
        fact("cashier", location_id=1, cashier_id=5, cashier="Ann", **s1, **ret),
        fact("channel", location_id=1, channel="store", **s1, **ret),
        fact("channel", location_id=2, channel="shopify", **s2),
        fact("fulfilment", location_id=2, fulfilment_type="bopis", **s2),
        fact("category", location_id=1, category="shoes", **s1, **ret),
        fact("hour", location_id=1, hour=9, **s1, **ret),
        fact("hour", location_id=2, hour=14, **s2),
        fact("all_hour", hour=14, **s2),
        fact("all_hour", hour=9, **s1, **ret),
        fact("rate", location_id=1, tax_rate_bp=2000, net_ex_tax=1600, tax=300, **ret),
    ]
    tenders = pd.DataFrame(
        [
            {"location_id": 1, "currency": "EUR", "tender": "cash", "payments": 1, "amount": 1100},
            {"location_id": 1, "currency": "EUR", "tender": "card", "payments": 1, "amount": 800},
            {"location_id": 2, "currency": "EUR", "tender": "card", "payments": 1, "amount": 500},
        ]
    )
    return {"facts": pd.DataFrame(facts), "tenders": tenders, "stores": STORES}


def test_sales_summary_nets_discounts_and_returns() -> None:
    r = sales.build(sales_frames(), PARAMS, CTX)
    summary = r.section("summary").frame.set_index("store")
    assert summary.loc["S1", "net"] == 2000 - 100 - 300
    assert summary.loc["S1", "tax"] == 300 - 50
    assert summary.loc["S2", "net"] == 500
    assert summary.loc["ALL", "net"] == 2500 - 100 - 300
    assert summary.loc["ALL", "orders"] == 3
    assert list(summary.index) == ["S1", "S2", "ALL"]


def test_sales_breakdowns_label_channels_tills_and_fulfilment() -> None:
    r = sales.build(sales_frames(), PARAMS, CTX)
    tills = r.section("by_till").frame
    assert list(tills["till"]) == ["T1", "no till (online)"]
    assert list(r.section("by_channel").frame["channel"]) == ["till", "Shopify"]
    assert list(r.section("by_fulfilment").frame["fulfilment_type"]) == ["click & collect"]
    assert r.section("by_cashier").frame.iloc[0]["cashier"] == "Ann"
    assert r.section("by_category").frame.iloc[0]["net"] == 1600
    hours = r.section("by_hour").frame
    assert list(hours["hour"]) == [9, 14]
    assert list(hours["net"]) == [1600, 500]
    assert r.section("by_hour").chart is not None


def test_sales_tax_per_rate_takes_off_the_refunds_share() -> None:
    tax = sales.build(sales_frames(), PARAMS, CTX).section("tax").frame.iloc[0]
    assert tax["rate"] == "20.00 %"
    assert (tax["sales_net_ex_tax"], tax["sales_tax"]) == (1600, 300)
    assert (tax["net_ex_tax"], tax["tax"]) == (1600 - 250, 300 - 50)


def test_sales_tender_mix_shares_and_pie() -> None:
    r = sales.build(sales_frames(), PARAMS, CTX)
    mix = r.section("tenders").frame.set_index("tender")
    assert mix.loc["card", "amount"] == 1300
    assert mix.loc["card", "share_pct"] == round(1300 * 100 / 2400, 2)
    assert mix.loc["cash", "payments"] == 1
    assert r.section("tenders").chart is not None
    by_store = r.section("tenders_by_store").frame
    s2 = by_store[by_store["store"] == "S2"].iloc[0]
    assert (s2["tender"], s2["share_pct"]) == ("card", 100.0)


def test_sales_renders_every_format() -> None:
    r = sales.build(sales_frames(), PARAMS, CTX)
    for fmt in ("json", "csv", "xlsx", "html"):
        body, _ = render(r, fmt)
        assert body
    html_body, _ = render(r, "html")
    assert b"<svg" in html_body


def test_sales_with_two_currencies_draws_no_chart() -> None:
    frames = sales_frames()
    frames["facts"].loc[frames["facts"]["location_id"] == 2, "currency"] = "GBP"
    frames["stores"] = STORES.assign(currency=["EUR", "GBP"])
    r = sales.build(frames, PARAMS, CTX)
    assert r.section("by_hour").chart is None
    assert "currencies" in r.section("by_hour").note


# ---- KPIs ----------------------------------------------------------------------------------


def kpi_frames() -> dict[str, pd.DataFrame]:
    orders = pd.DataFrame(
        [
            # store 1: 4 till sales, 10 units, 100.00 revenue, 80.00 ex tax, cost 40.00
            dict(location_id=1, location_kind="store", currency="EUR", channel="store",
                 fulfilment_type="in_store", orders=4, units=10, revenue=10000,
                 net_ex_tax=8000, cogs=4000, costed_net_ex_tax=8000, uncosted_units=0),
            # store 1: 2 web orders collected here, 1 shipped from here
            dict(location_id=1, location_kind="store", currency="EUR", channel="web",
                 fulfilment_type="bopis", orders=2, units=2, revenue=3000, net_ex_tax=2500,
                 cogs=1000, costed_net_ex_tax=2500, uncosted_units=0),
            dict(location_id=1, location_kind="store", currency="EUR", channel="shopify",
                 fulfilment_type="ship", orders=1, units=1, revenue=1000, net_ex_tax=800,
                 cogs=500, costed_net_ex_tax=800, uncosted_units=0),
            # store 2: 1 till sale
            dict(location_id=2, location_kind="store", currency="EUR", channel="store",
                 fulfilment_type="in_store", orders=1, units=3, revenue=2000,
                 net_ex_tax=1500, cogs=600, costed_net_ex_tax=1500, uncosted_units=0),
        ]
    )  # fmt: skip
    stock = pd.DataFrame(
        [
            dict(location_id=1, currency="EUR", opening_units=50, closing_units=30,
                 opening_cost=20000, closing_cost=12000, received_units=0, sold_units=13,
                 shrink_units=7, shrink_cost=1130),
            dict(location_id=2, currency="EUR", opening_units=10, closing_units=7,
                 opening_cost=2000, closing_cost=1400, received_units=10, sold_units=3,
                 shrink_units=0, shrink_cost=0),
        ]
    )  # fmt: skip
    stockouts = pd.DataFrame(
        [
            {"location_id": 1, "sku_days": 20, "out_days": 3},
            {"location_id": 2, "sku_days": 10, "out_days": 0},
        ]
    )
    pickups = pd.DataFrame(
        [
            {
                "location_id": 1,
                "ready_orders": 2,
                "ready_seconds": 2 * 1800.0,
                "collected_orders": 1,
                "collect_seconds": 7200.0,
            }
        ]
    )
    returns = pd.DataFrame(
        [
            dict(location_id=1, currency="EUR", channel="store", returns=1, returned=1000,
                 timed=1, seconds=120.0),
            dict(location_id=1, currency="EUR", channel="web", returns=1, returned=1500,
                 timed=1, seconds=240.0),
        ]
    )  # fmt: skip
    sync = pd.DataFrame(
        [{"deliveries": 8, "failed_deliveries": 1, "listings": 12, "failed_listings": 1}]
    )
    discrepancies = pd.DataFrame(
        [
            dict(location_id=1, kind="card_not_settled", order_number="S-1", payment_id=7,
                 workflow_id="sale:T1:abc", amount=500, currency="EUR", status="uncollected",
                 provider_ref="", at=datetime(2025, 3, 4, 12, tzinfo=UTC)),
        ]
    )  # fmt: skip
    checkout = pd.DataFrame(
        [
            dict(location_id=1, cashier_id=5, cashier="Ann", sales=2, seconds=150.0),
            dict(location_id=2, cashier_id=6, cashier="Bob", sales=1, seconds=30.0),
        ]
    )  # fmt: skip
    return {
        "orders": orders,
        "stock": stock,
        "stockouts": stockouts,
        "pickups": pickups,
        "returns": returns,
        "sync": sync,
        "discrepancies": discrepancies,
        "checkout": checkout,
        "stores": STORES,
    }


def kpi(table: pd.DataFrame, name: str, store: str, dimension: str = "") -> pd.Series:
    rows = table[(table["kpi"] == name) & (table["store"] == store)]
    rows = rows[rows["dimension"] == dimension]
    assert len(rows) == 1, (name, store, dimension)
    return rows.iloc[0]


def test_every_kpi_per_store_with_known_answers() -> None:
    t = kpis.build(kpi_frames(), PARAMS, CTX).section("kpis").frame
    aov = kpi(t, "average_order_value", "S1")
    assert (aov["numerator"], aov["denominator"], aov["value"]) == (14000, 7, 2000)
    assert aov["unit"] == "EUR minor units"
    assert kpi(t, "units_per_transaction", "S1")["value"] == round(13 / 7, 4)
    assert kpi(t, "sell_through", "S1")["value"] == round(13 / 50 * 100, 4)
    assert kpi(t, "sell_through", "S2")["value"] == round(3 / 20 * 100, 4)
    # margin 113.00 - 55.00 = 58.00 on an average inventory of (200 + 120) / 2 = 160.00
    assert kpi(t, "gmroi", "S1")["value"] == round(5800 / 16000, 4)
    assert kpi(t, "inventory_turnover", "S1")["value"] == round(5500 / 16000, 4)
    assert kpi(t, "shrinkage", "S1")["value"] == round(1130 / 11300 * 100, 4)
    assert kpi(t, "stock_out_rate", "S1")["value"] == 15.0
    assert kpi(t, "bopis_time_to_ready", "S1")["value"] == 30.0  # minutes
    assert kpi(t, "bopis_time_to_pickup", "S1")["value"] == 2.0  # hours
    assert math.isnan(kpi(t, "bopis_time_to_ready", "S2")["value"])  # nothing to divide by
    assert kpi(t, "ship_from_store_share", "S1")["value"] == round(1 / 3 * 100, 4)
    assert kpi(t, "omnichannel_share", "S1")["value"] == round(3 / 7 * 100, 4)
    assert kpi(t, "return_rate", "S1", "channel=store")["value"] == 10.0
    assert kpi(t, "return_rate", "S1", "channel=web")["value"] == 50.0
    assert kpi(t, "return_rate", "S1", "channel=shopify")["value"] == 0.0
    assert kpi(t, "refund_processing_time", "S1")["value"] == 3.0  # minutes
    assert kpi(t, "reconciliation_discrepancies_per_day", "S1")["value"] == 0.5
    assert kpi(t, "reconciliation_discrepancies_per_day", "S2")["value"] == 0.0
    assert kpi(t, "average_checkout_time", "S1", "cashier=Ann")["value"] == 75.0
    assert kpi(t, "average_checkout_time", "S2", "cashier=Bob")["value"] == 30.0


def test_all_stores_rows_are_ratios_of_sums() -> None:
    t = kpis.build(kpi_frames(), PARAMS, CTX).section("kpis").frame
    aov = kpi(t, "average_order_value", "ALL")
    assert (aov["numerator"], aov["denominator"]) == (16000, 8)
    assert aov["value"] == 2000
    assert kpi(t, "stock_out_rate", "ALL")["value"] == 10.0  # 3 / 30, not the mean of 15 and 0
    assert kpi(t, "sell_through", "ALL")["value"] == round(16 / 70 * 100, 4)
    assert kpi(t, "order_sync_error_rate", "ALL")["value"] == 10.0  # 2 / 20
    assert kpi(t, "reconciliation_discrepancies_per_day", "ALL")["value"] == 0.25  # 1 / 4
    # the all-stores rows come after the stores' rows of the same KPI
    stores = list(t[t["kpi"] == "average_order_value"]["store"])
    assert stores == ["S1", "S2", "ALL"]
    assert set(t["kpi"]) == set(kpis.KPIS)


def test_discrepancies_carry_ids_link_and_age() -> None:
    d = kpis.build(kpi_frames(), PARAMS, CTX).section("discrepancies").frame.iloc[0]
    assert (d["store"], d["order_number"], d["payment_id"]) == ("S1", "S-1", 7)
    assert d["workflow_link"] == ("http://ui:8233/namespaces/default/workflows/sale%3AT1%3Aabc")
    assert d["age_hours"] == 24.0


def test_kpis_of_an_empty_scope_are_empty_not_an_error() -> None:
    frames = {k: v.iloc[0:0] for k, v in kpi_frames().items()}
    frames["sync"] = kpi_frames()["sync"].assign(
        deliveries=0, failed_deliveries=0, listings=0, failed_listings=0
    )
    r = kpis.build(frames, PARAMS, CTX)
    t = r.section("kpis").frame
    assert list(t["kpi"]) == ["order_sync_error_rate"]
    assert math.isnan(t.iloc[0]["value"])
    body, _ = render(r, "json")
    assert b'"kpis"' in body
