"""The group totals report across currencies (issue 19): its loader and pure builder."""

from __future__ import annotations

from db.report_loaders import group_totals as loader
from reports import group_totals
from reports.registry import ReportSpec, register

register(
    ReportSpec(
        name="group_totals",
        title="Group totals across currencies",
        description=(
            "Sales (order totals) per store and business day in the store's currency, converted "
            "into the group currency at the stored daily rate (labelled converted), summed per day."
        ),
        load=loader.load,
        build=group_totals.build,
    )
)
