"""KPIs: one row per KPI per store and one for all stores, each with its numerator and
denominator so every figure can be traced (docs/finance.md defines each one). A pure function
of the loader's frames (db/report_loaders/kpis.py).

The all-stores row divides the summed numerators by the summed denominators (a ratio of sums,
never an average of the stores' ratios); money KPIs are summed per currency."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import pandas as pd

from reports.base import ReportParams, ReportResult, Section, workflow_link

ALL = "ALL"
COLUMNS = [
    "store",
    "store_name",
    "kpi",
    "dimension",
    "value",
    "unit",
    "numerator",
    "denominator",
    "currency",
    "formula",
]


class Context(Protocol):
    """What the builder reads of reports.registry.ReportContext."""

    @property
    def ui_base(self) -> str: ...
    @property
    def namespace(self) -> str: ...
    @property
    def now(self) -> datetime: ...


@dataclass(frozen=True)
class Kpi:
    kpi: str
    unit: str
    factor: float  # value = numerator / denominator * factor
    formula: str


KPIS: dict[str, Kpi] = {
    k.kpi: k
    for k in (
        Kpi("average_order_value", "minor units", 1, "revenue after discounts / orders"),
        Kpi("units_per_transaction", "units", 1, "units sold / orders"),
        Kpi("sell_through", "%", 100, "units sold / (opening units + units received)"),
        Kpi("gmroi", "ratio", 1, "gross margin / average inventory at cost"),
        Kpi("inventory_turnover", "times", 1, "cost of goods sold / average inventory at cost"),
        Kpi("shrinkage", "%", 100, "stock lost at cost / net sales ex tax"),
        Kpi("stock_out_rate", "%", 100, "SKU-days ending with nothing on hand / SKU-days"),
        Kpi("bopis_time_to_ready", "minutes", 1 / 60, "seconds order to ready / ready orders"),
        Kpi(
            "bopis_time_to_pickup",
            "hours",
            1 / 3600,
            "seconds ready to collected / collected orders",
        ),
        Kpi(
            "ship_from_store_share",
            "%",
            100,
            "online orders shipped from a store / online orders",
        ),
        Kpi(
            "omnichannel_share",
            "%",
            100,
            "online orders fulfilled by a store (collect or ship) / all orders",
        ),
        Kpi("return_rate", "%", 100, "refunded on returns / revenue, by channel of the sale"),
        Kpi(
            "refund_processing_time",
            "minutes",
            1 / 60,
            "seconds from return to its last refund / returns refunded",
        ),
        Kpi(
            "order_sync_error_rate",
            "%",
            100,
            "(deliveries never handed on + stock pushes failing) / (deliveries + listings)",
        ),
        Kpi(
            "reconciliation_discrepancies_per_day",
            "per day",
            1,
            "discrepancies listed in section discrepancies / days",
        ),
        Kpi(
            "average_checkout_time",
            "seconds",
            1,
            "seconds from first scan to sale / sales with a basket start",
        ),
    )
}


def _ratio(num: float, den: float, factor: float) -> float:
    if not den:
        return math.nan
    return round(num / den * factor, 4)


class _Rows:
    def __init__(self) -> None:
        self.rows: list[dict[str, object]] = []

    def add(
        self,
        location_id: int | None,
        kpi: str,
        num: float,
        den: float,
        currency: str = "",
        dimension: str = "",
    ) -> None:
        self.rows.append(
            {
                "location_id": location_id,
                "kpi": kpi,
                "dimension": dimension,
                "numerator": num,
                "denominator": den,
                "currency": currency,
            }
        )


def _sum(frame: pd.DataFrame, col: str, mask: pd.Series | None = None) -> float:
    if frame.empty or col not in frame.columns:
        return 0
    values = frame[col] if mask is None else frame.loc[mask, col]
    return float(values.sum())


def _split(frame: pd.DataFrame) -> Callable[[int], pd.DataFrame]:
    """The frame's rows of one store (in their order), by location id; none: an empty frame."""
    if frame.empty:
        return lambda loc: frame
    parts = {int(k): g for k, g in frame.groupby("location_id", sort=False)}
    empty = frame.iloc[0:0]
    return lambda loc: parts.get(loc, empty)


def _per_store(frames: Mapping[str, pd.DataFrame], out: _Rows) -> None:
    stores = frames["stores"]
    orders, stock, outs = frames["orders"], frames["stock"], frames["stockouts"]
    picks, rets, checkout = frames["pickups"], frames["returns"], frames["checkout"]
    disc = frames["discrepancies"]
    # each frame split by store once (a filter per store and frame is seconds for 200 stores)
    by_store = {
        name: _split(f) for name, f in (("o", orders), ("s", stock), ("so", outs), ("p", picks),
                                        ("r", rets), ("c", checkout))
    }  # fmt: skip
    n_disc = disc["location_id"].value_counts().to_dict() if not disc.empty else {}
    for st in stores.itertuples(index=False):
        loc, cur = int(st.location_id), str(st.currency)
        o = by_store["o"](loc)
        n_orders, revenue = _sum(o, "orders"), _sum(o, "revenue")
        out.add(loc, "average_order_value", revenue, n_orders, cur)
        out.add(loc, "units_per_transaction", _sum(o, "units"), n_orders)
        s = by_store["s"](loc)
        opening_cost, closing_cost = _sum(s, "opening_cost"), _sum(s, "closing_cost")
        avg_inventory = (opening_cost + closing_cost) / 2
        out.add(
            loc,
            "sell_through",
            _sum(s, "sold_units"),
            _sum(s, "opening_units") + _sum(s, "received_units"),
        )
        cogs = _sum(o, "cogs")
        out.add(loc, "gmroi", _sum(o, "costed_net_ex_tax") - cogs, avg_inventory, cur)
        out.add(loc, "inventory_turnover", cogs, avg_inventory, cur)
        out.add(loc, "shrinkage", _sum(s, "shrink_cost"), _sum(o, "net_ex_tax"), cur)
        so = by_store["so"](loc)
        out.add(loc, "stock_out_rate", _sum(so, "out_days"), _sum(so, "sku_days"))
        p = by_store["p"](loc)
        out.add(loc, "bopis_time_to_ready", _sum(p, "ready_seconds"), _sum(p, "ready_orders"))
        out.add(
            loc, "bopis_time_to_pickup", _sum(p, "collect_seconds"), _sum(p, "collected_orders")
        )
        online = o["channel"] != "store"
        from_store = online & (o["location_kind"] == "store")
        out.add(
            loc,
            "ship_from_store_share",
            _sum(o, "orders", from_store & (o["fulfilment_type"] == "ship")),
            _sum(o, "orders", online),
        )
        out.add(loc, "omnichannel_share", _sum(o, "orders", from_store), n_orders)
        r = by_store["r"](loc)
        for channel in sorted(set(o["channel"]) | set(r["channel"])):
            out.add(
                loc,
                "return_rate",
                _sum(r, "returned", r["channel"] == channel),
                _sum(o, "revenue", o["channel"] == channel),
                cur,
                f"channel={channel}",
            )
        out.add(loc, "refund_processing_time", _sum(r, "seconds"), _sum(r, "timed"))
        out.add(
            loc,
            "reconciliation_discrepancies_per_day",
            float(n_disc.get(loc, 0)),
            float(st.days),
        )
        c = by_store["c"](loc)
        for row in c.itertuples(index=False):
            out.add(
                loc,
                "average_checkout_time",
                float(row.seconds),
                float(row.sales),
                dimension=f"cashier={row.cashier}",
            )


def _finish(rows: _Rows, frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    per_store = pd.DataFrame(
        rows.rows,
        columns=["location_id", "kpi", "dimension", "numerator", "denominator", "currency"],
    )
    keys = ["kpi", "dimension", "currency"]
    total = per_store.groupby(keys, as_index=False, sort=False)[["numerator", "denominator"]].sum()
    if per_store.empty:
        total = pd.DataFrame(columns=[*keys, "numerator", "denominator"])
    total["store"], total["store_name"] = ALL, "all stores in the report"
    sync = frames["sync"]
    if not sync.empty:
        s = sync.iloc[0]
        total = pd.concat(
            [
                total,
                pd.DataFrame(
                    [
                        {
                            "kpi": "order_sync_error_rate",
                            "dimension": "",
                            "currency": "",
                            "numerator": float(s["failed_deliveries"] + s["failed_listings"]),
                            "denominator": float(s["deliveries"] + s["listings"]),
                            "store": ALL,
                            "store_name": "every web store",
                        }
                    ]
                ),
            ],
            ignore_index=True,
        )
    stores = frames["stores"].rename(columns={"code": "store", "name": "store_name"})
    per_store = per_store.merge(
        stores[["location_id", "store", "store_name"]], on="location_id", how="left"
    )
    out = pd.concat([per_store.drop(columns=["location_id"]), total], ignore_index=True)
    order = {name: i for i, name in enumerate(KPIS)}
    out["_kpi_order"] = out["kpi"].map(order)
    out["_all"] = out["store"] == ALL
    out = out.sort_values(["_kpi_order", "_all", "store", "dimension", "currency"], kind="stable")
    out["value"] = [
        _ratio(float(n), float(d), KPIS[k].factor)
        for k, n, d in zip(out["kpi"], out["numerator"], out["denominator"], strict=True)
    ]
    out["unit"] = [
        f"{c} minor units" if KPIS[k].unit == "minor units" else KPIS[k].unit
        for k, c in zip(out["kpi"], out["currency"], strict=True)
    ]
    out["formula"] = [KPIS[k].formula for k in out["kpi"]]
    return out[COLUMNS].reset_index(drop=True)


def build_kpis(frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Every KPI per store, then for all stores."""
    rows = _Rows()
    _per_store(frames, rows)
    return _finish(rows, frames)


def build_discrepancies(frames: Mapping[str, pd.DataFrame], ctx: Context) -> pd.DataFrame:
    """Each discrepancy with its store, ids, a link to its workflow and its age."""
    disc = frames["discrepancies"]
    stores = frames["stores"].rename(columns={"code": "store"})[["location_id", "store"]]
    cols = [
        "store",
        "kind",
        "order_number",
        "payment_id",
        "workflow_id",
        "workflow_link",
        "amount",
        "currency",
        "status",
        "at",
        "age_hours",
    ]
    if disc.empty:
        return pd.DataFrame(columns=cols)
    out = disc.merge(stores, on="location_id", how="left")
    out["workflow_link"] = [
        workflow_link(ctx.ui_base, ctx.namespace, str(w) if w else None) for w in out["workflow_id"]
    ]
    at = pd.to_datetime(out["at"], utc=True)
    out["age_hours"] = ((pd.Timestamp(ctx.now) - at).dt.total_seconds() / 3600).round(1)
    return out[cols].reset_index(drop=True)


def build(frames: Mapping[str, pd.DataFrame], params: ReportParams, ctx: Context) -> ReportResult:
    """The KPI report: the KPI table and the reconciliation discrepancies behind one of them."""
    stores = frames["stores"]
    currency = str(stores["currency"].iloc[0]) if not stores.empty else "EUR"
    return ReportResult(
        name="kpis",
        title="KPIs",
        params=params,
        currency=currency,
        sections=(
            Section(
                name="kpis",
                title="KPIs",
                frame=build_kpis(frames),
                note=(
                    "value = numerator / denominator (x 100 for %); money numerators and "
                    "denominators are minor units of the row's currency; empty: nothing to "
                    "divide by."
                ),
            ),
            Section(
                name="discrepancies",
                title="Reconciliation discrepancies",
                frame=build_discrepancies(frames, ctx),
                money=("amount",),
                note="Card tenders without a settled provider record; sales paid off total.",
            ),
        ),
    )
