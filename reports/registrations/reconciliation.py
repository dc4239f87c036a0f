"""Report 1, the tender reconciliation: part of the day-close pack."""

from __future__ import annotations

from db.report_loaders import reconciliation as loader
from reports import reconciliation as report
from reports.registry import ReportSpec, register

register(
    ReportSpec(
        name=report.NAME,
        title=report.TITLE,
        description="Cash per store, till and shift; card tenders against Stripe's balance "
        "(fees, net, payouts) with every unmatched item and its age; gift card and store credit "
        "liability per day; offline card payments uncaptured and collection tasks open.",
        load=loader.load,
        build=report.build,
        day_close=True,
    )
)
