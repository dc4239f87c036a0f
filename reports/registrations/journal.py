"""Report 4, the accounting export: `journal` (part of the day-close pack)."""

from __future__ import annotations

from db.report_loaders import journal as loader
from reports import journal, journal_formats
from reports.base import ReportResult
from reports.registry import ExtraFormat, ReportContext, ReportSpec, register


def _file(fmt: str) -> ExtraFormat:
    def write(result: ReportResult, ctx: ReportContext) -> bytes:
        rate = str(ctx.options.get("xero_tax_rate") or "No VAT")
        text = journal_formats.write(journal.balanced_entries(result), fmt, xero_tax_rate=rate)
        return text.encode()

    ext, media = {"iif": ("iif", "text/plain"), "xero": ("csv", "text/csv")}[fmt]
    return ExtraFormat(write, ext, media)


register(
    ReportSpec(
        name=journal.NAME,
        title=journal.TITLE,
        description="One balanced journal entry per store and business day (cash, cards, sales "
        "and VAT per rate, discounts, returns, gift card and store credit liabilities, over / "
        "short, cost of goods sold), as exported at day close, with the adjusting entries of "
        "late arrivals; also as QuickBooks IIF and Xero manual journal files.",
        load=loader.load,
        build=journal.build,
        day_close=True,
        extra_formats={"iif": _file("iif"), "xero": _file("xero")},
    )
)
