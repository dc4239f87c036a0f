"""The sales report and the KPI report: their loaders and pure builders."""

from __future__ import annotations

from db.report_loaders import kpis as kpis_loader
from db.report_loaders import sales as sales_loader
from reports import kpis, sales
from reports.registry import ReportSpec, register

register(
    ReportSpec(
        name="sales",
        title="Sales",
        description=(
            "Gross, discounts, returns, net and tax by store, till, cashier, channel, fulfilment "
            "type, category, hour of day and tax rate, with the tender mix."
        ),
        load=sales_loader.load,
        build=sales.build,
        day_close=True,
    )
)
register(
    ReportSpec(
        name="kpis",
        title="KPIs",
        description=(
            "One row per KPI per store and for all stores, each with its numerator and "
            "denominator (see docs/finance.md for every definition)."
        ),
        load=kpis_loader.load,
        build=kpis.build,
        day_close=True,
    )
)
