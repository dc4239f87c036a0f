"""Group totals across currencies (issue 19): each store's sales (order totals, returns not
deducted) per business day in its own currency, then converted into the group currency at the
stored rate of that day (fx_rates) and summed, every converted figure labelled as such. A day's
currency without a stored rate is left out of the converted total and named in the notes: never
a guessed rate.

A pure function of the loader's frames (db/report_loaders/group_totals.py)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import pandas as pd

from domain.fx import convert_minor
from domain.money import format_minor
from domain.report_context import ReportContext
from reports.base import ReportParams, ReportResult, Section

DEFAULT_GROUP_CURRENCY = "EUR"
CONVERTED = "converted at the stored daily rate"


def group_currency(ctx: ReportContext) -> str:
    return str(ctx.options.get("group_currency") or DEFAULT_GROUP_CURRENCY).upper()


def build(
    frames: Mapping[str, pd.DataFrame], params: ReportParams, ctx: ReportContext
) -> ReportResult:
    base = group_currency(ctx)
    stores = frames["stores"].rename(columns={"code": "store", "name": "store_name"})
    sales = frames["sales"].merge(stores[["location_id", "store"]], on="location_id", how="left")
    rates = {
        (str(r.day), str(r.currency)): Decimal(str(r.rate))
        for r in frames["rates"].itertuples()
        if str(r.base) == base
    }
    rows, missing = [], set()
    for s in sales.sort_values(["day", "store", "currency"], kind="stable").itertuples():
        day, cur, total = str(s.day), str(s.currency), int(s.total)
        rate = Decimal(1) if cur == base else rates.get((day, cur))
        if rate is None:
            missing.add(f"{cur} on {day}")
        rows.append(
            {
                "day": day,
                "store": s.store,
                "original": f"{cur} {format_minor(total, cur)}",
                "sales": int(s.sales),
                "rate": "" if rate is None else format(rate.normalize(), "f"),
                "base": base,
                "converted": None if rate is None else convert_minor(total, cur, base, rate),
                "label": "no rate stored" if rate is None else ("" if cur == base else CONVERTED),
            }
        )
    cols = ["day", "store", "original", "sales", "rate", "base", "converted", "label"]
    converted = pd.DataFrame(rows, columns=cols)
    if not converted.empty:
        converted["converted"] = converted["converted"].astype("Int64")
    group = (
        converted.dropna(subset=["converted"])
        .groupby(["day", "base"], as_index=False)
        .agg(stores=("store", "nunique"), converted=("converted", "sum"))
        if not converted.empty
        else pd.DataFrame(columns=["day", "base", "stores", "converted"])
    )
    group["label"] = f"group total in {base}, {CONVERTED}"
    notes = [
        f"Amounts in other currencies than {base} are {CONVERTED} of their business day "
        "(PUT /fx-rates/{day}/{currency})."
    ]
    if missing:
        notes.append(
            "No rate stored for " + ", ".join(sorted(missing)) + ": left out of the group total."
        )
    return ReportResult(
        name="group_totals",
        title="Group totals across currencies",
        params=params,
        currency=base,
        sections=(
            Section(
                name="by_store",
                title=f"Sales per store and day, in {base} ({CONVERTED})",
                frame=converted,
                money=("converted",),
                currency_column="base",
            ),
            Section(
                name="group",
                title=f"Group total per day in {base} ({CONVERTED})",
                frame=group,
                money=("converted",),
                currency_column="base",
            ),
        ),
        notes=tuple(notes),
    )
