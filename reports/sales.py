"""Sales: what was sold and refunded in the range, by store, till, cashier, channel, fulfilment
type, category, hour of day and tax rate, with the tender mix. A pure function of the loader's
frames (db/report_loaders/sales.py); money stays in integer minor units.

gross = line prices before discounts (tax included), discounts = what discounts and price
overrides took off, returns = what was refunded in the range, net = gross - discounts - returns,
tax = tax on the sales less the tax share of the refunds."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from reports.base import Chart, ReportParams, ReportResult, Section
from reports.wallets import wallet_sections

CHANNEL_LABELS = {
    "store": "till",
    "web": "storefront",
    "shopify": "Shopify",
    "woocommerce": "WooCommerce",
    "magento": "Magento",
}
FULFILMENT_LABELS = {"in_store": "in store", "bopis": "click & collect", "ship": "shipped"}
METRICS = (
    "orders",
    "units",
    "gross",
    "discounts",
    "returns",
    "net",
    "tax",
    "returns_count",
    "returned_units",
)
MONEY = ("gross", "discounts", "returns", "net", "tax")
TAX_MONEY = (
    "sales_net_ex_tax",
    "sales_tax",
    "returned_net_ex_tax",
    "returned_tax",
    "net_ex_tax",
    "tax",
)


def _with_totals(facts: pd.DataFrame) -> pd.DataFrame:
    out = facts.copy()
    out["net"] = out["gross"] - out["discounts"] - out["returns"]
    out["tax"] = out["tax"] - out["returned_tax"]
    return out


def _stores(frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    stores = frames.get("stores")
    if stores is None or stores.empty:
        return pd.DataFrame(
            {"location_id": pd.Series(dtype="int64"), "store": [], "store_name": []}
        )
    return stores.rename(columns={"code": "store", "name": "store_name"})[
        ["location_id", "store", "store_name"]
    ]


def _part(
    facts: pd.DataFrame, stores: pd.DataFrame, dimension: str, keys: list[str]
) -> pd.DataFrame:
    """One breakdown's rows with the store's code and name, its keys, and the measures."""
    part = facts[facts["dimension"] == dimension]
    per_store = (
        "location_id" in part.columns and dimension != "all" and not dimension.startswith("all_")
    )
    if per_store:
        part = part.merge(stores, on="location_id", how="left")
        cols = ["store", "store_name", *keys, "currency", *METRICS]
        order = ["store", *keys, "currency"]
    else:
        cols = [*keys, "currency", *METRICS]
        order = [*keys, "currency"]
    return part[cols].sort_values(order, kind="stable").reset_index(drop=True)


def _label(frame: pd.DataFrame, col: str, labels: Mapping[str, str]) -> pd.DataFrame:
    out = frame.copy()
    out[col] = [labels.get(str(v), str(v)) for v in out[col]]
    return out


def _currencies(frames: Mapping[str, pd.DataFrame]) -> list[str]:
    seen: list[str] = []
    for name in ("stores", "facts"):
        f = frames.get(name)
        if f is not None and "currency" in f.columns:
            for c in f["currency"].dropna():
                if str(c) not in seen:
                    seen.append(str(c))
    return seen


def build_summary(facts: pd.DataFrame, stores: pd.DataFrame) -> pd.DataFrame:
    """One row per store, then one all-stores row per currency (store "ALL")."""
    per_store = _part(facts, stores, "store", [])
    total = _part(facts, stores, "all", [])
    total.insert(0, "store_name", "all stores in the report")
    total.insert(0, "store", "ALL")
    return pd.concat([per_store, total], ignore_index=True)


def build_tax(facts: pd.DataFrame, stores: pd.DataFrame) -> pd.DataFrame:
    """Per store and tax rate: sales ex tax and their tax, the refunds' share, and what is
    left."""
    part = facts[facts["dimension"] == "rate"].merge(stores, on="location_id", how="left")
    out = pd.DataFrame(
        {
            "store": part["store"],
            "store_name": part["store_name"],
            "rate_bp": part["tax_rate_bp"],
            "rate": [
                "unknown (receiptless return)" if pd.isna(v) else f"{int(v) / 100:.2f} %"
                for v in part["tax_rate_bp"]
            ],
            "currency": part["currency"],
            "sales_net_ex_tax": part["net_ex_tax"],
            "sales_tax": part["tax"],
            "returned_net_ex_tax": part["returned_net_ex_tax"],
            "returned_tax": part["returned_tax"],
        }
    )
    out["net_ex_tax"] = out["sales_net_ex_tax"] - out["returned_net_ex_tax"]
    out["tax"] = out["sales_tax"] - out["returned_tax"]
    return out.sort_values(["store", "rate_bp"], kind="stable", na_position="last").reset_index(
        drop=True
    )


def build_tenders(tenders: pd.DataFrame, stores: pd.DataFrame, by_store: bool) -> pd.DataFrame:
    """The tender mix: per tender (and store), its payments, amount and share of the amount
    (per currency)."""
    if by_store:
        keys = ["location_id", "currency", "tender"]
        grouped = tenders.groupby(keys, as_index=False)[["payments", "amount"]].sum()
        grouped = grouped.merge(stores, on="location_id", how="left")
        within = ["location_id", "currency"]
    else:
        keys = ["currency", "tender"]
        grouped = tenders.groupby(keys, as_index=False)[["payments", "amount"]].sum()
        within = ["currency"]
    totals = grouped.groupby(within)["amount"].transform("sum")
    grouped["share_pct"] = (grouped["amount"] * 100 / totals.where(totals != 0)).round(2)
    cols = (["store", "store_name"] if by_store else []) + [
        "tender",
        "currency",
        "payments",
        "amount",
        "share_pct",
    ]
    order = (["store"] if by_store else []) + ["currency", "tender"]
    return grouped[cols].sort_values(order, kind="stable").reset_index(drop=True)


def build(frames: Mapping[str, pd.DataFrame], params: ReportParams, ctx: object) -> ReportResult:
    """The sales report from the loader's `facts`, `tenders` and `stores` frames."""
    facts = _with_totals(frames["facts"])
    stores = _stores(frames)
    currencies = _currencies(frames)
    one_currency = len(currencies) <= 1
    currency = currencies[0] if currencies else "EUR"
    mixed = "" if one_currency else "Several currencies: no chart; read each currency's rows."

    def section(name: str, title: str, frame: pd.DataFrame, note: str = "") -> Section:
        return Section(name=name, title=title, frame=frame, money=MONEY, note=note)

    hours = _part(facts, stores, "all_hour", ["hour"])
    tenders = build_tenders(frames["tenders"], stores, by_store=False)
    sections = (
        section(
            "summary",
            "Sales by store",
            build_summary(facts, stores),
            "net = gross - discounts - returns; returns are refunds made in the range.",
        ),
        section(
            "by_till",
            "By till",
            _part(facts, stores, "till", ["till"]).fillna({"till": "no till (online)"}),
        ),
        section(
            "by_cashier",
            "By cashier",
            _part(facts, stores, "cashier", ["cashier"]).fillna({"cashier": "no cashier"}),
        ),
        section(
            "by_channel",
            "By channel",
            _label(_part(facts, stores, "channel", ["channel"]), "channel", CHANNEL_LABELS),
            "Returns count under the channel of the original sale (receiptless: till).",
        ),
        section(
            "by_fulfilment",
            "By fulfilment type",
            _label(
                _part(facts, stores, "fulfilment", ["fulfilment_type"]),
                "fulfilment_type",
                FULFILMENT_LABELS,
            ),
        ),
        section(
            "by_category",
            "By category",
            _part(facts, stores, "category", ["category"]),
            "An order counts once in every category it holds.",
        ),
        Section(
            name="by_hour",
            title="By hour of day (store local time), all stores",
            frame=hours,
            money=MONEY,
            chart=Chart("bar", "hour", "net", "Net sales by hour") if one_currency else None,
            note=mixed,
        ),
        section("by_store_hour", "By store and hour", _part(facts, stores, "hour", ["hour"])),
        Section(
            name="tax",
            title="Tax per rate",
            frame=build_tax(frames["facts"], stores),
            money=TAX_MONEY,
            note="A refund's tax is its share of the original line's tax.",
        ),
        Section(
            name="tenders",
            title="Tender mix, all stores",
            frame=tenders,
            money=("amount",),
            chart=Chart("pie", "tender", "amount", "Tender mix") if one_currency else None,
            note=mixed,
        ),
        Section(
            name="tenders_by_store",
            title="Tender mix by store",
            frame=build_tenders(frames["tenders"], stores, by_store=True),
            money=("amount",),
        ),
    ) + wallet_sections(frames, stores)  # issue 19: card payments by wallet
    return ReportResult(
        name="sales",
        title="Sales",
        params=params,
        sections=sections,
        currency=currency,
    )
