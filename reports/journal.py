"""Report 4, the accounting export (`journal`): one balanced journal entry per store and business
day, with the adjusting entries that carry what arrived after a day was exported.

A day already exported (by AccountingActivities.export, at day close) shows as it was exported,
never recomputed; a day not exported yet shows as a preview of what the export will post. For an
exported day whose figures have changed since (a late offline sale, a refund recorded late), the
difference shows as a pending adjustment: the next export posts it, dated the day it runs.
Pure: frames in (see db/report_loaders/journal.py), frames out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from domain.accounts import (
    AccountMap,
    JournalEntry,
    JournalLine,
    adjustment,
    day_entry,
    figures_by_day,
    postings,
)
from domain.errors import Conflict
from reports.base import ReportParams, ReportResult, Section, workflow_link

NAME = "journal"
TITLE = "Accounting export (journal entries)"

ENTRY_COLUMNS = [
    "reference",
    "store",
    "date",
    "covers",
    "kind",
    "status",
    "line",
    "account_code",
    "account_name",
    "debit",
    "credit",
    "memo",
    "currency",
    "content_hash",
]
SUMMARY_COLUMNS = [
    "reference",
    "store",
    "date",
    "status",
    "lines",
    "debits",
    "credits",
    "adjustments",
    "missing_cost_units",
    "currency",
    "content_hash",
]
ADJUSTMENT_COLUMNS = [*ENTRY_COLUMNS]
LATE_COLUMNS = [
    "store",
    "covers",
    "number",
    "total",
    "placed_at",
    "recorded_at",
    "posted_by",
    "currency",
    "workflow_id",
    "workflow_link",
]


@dataclass(frozen=True)
class Posted:
    """An entry as the report shows it: exported (stored), posted (a stored adjustment),
    preview (not exported yet), pending (an adjustment the next export will post) or
    unbalanced (refused: its lines are shown, nothing is exported)."""

    entry: JournalEntry | None
    status: str
    store: str
    date: str
    covers: str
    kind: str
    currency: str
    lines: tuple[JournalLine, ...]
    content_hash: str = ""

    @property
    def reference(self) -> str:
        if self.entry is not None:
            return self.entry.ref
        return f"J-{self.store}-{self.date.replace('-', '')}"


def account_map(ctx: Any) -> AccountMap:
    options: Mapping[str, Any] = getattr(ctx, "options", {}) or {}
    return AccountMap.parse(options.get("account_map"))


def _stored(row: Mapping[str, Any], store: str) -> JournalEntry:
    lines = tuple(JournalLine.from_dict(d) for d in row["lines"])
    return JournalEntry(
        store=store,
        date=str(row["export_date"])[:10],
        covers=str(row["covers_date"])[:10],
        kind="day" if row["kind"] == "day" else "adjustment",
        currency=str(row["currency"]),
        lines=lines,
    )


def entries(frames: Mapping[str, pd.DataFrame], params: ReportParams, ctx: Any) -> list[Posted]:
    """Every entry of the range, store by store and day by day: the day's entry (exported or
    preview), the adjustments posted on that day, then the pending adjustments."""
    accounts = account_map(ctx)
    stores = frames["stores"]
    figs = figures_by_day(frames["figures"].to_dict("records"))
    exported = frames["exported"].to_dict("records")
    pending_date = _today(ctx)
    out: list[Posted] = []
    for s in stores.itertuples(index=False):
        loc, code, currency = int(s.location_id), str(s.code), str(s.currency)
        mine = [r for r in exported if int(r["location_id"]) == loc]
        by_covers: dict[str, list[JournalLine]] = {}
        for r in mine:
            by_covers.setdefault(str(r["covers_date"])[:10], []).extend(
                JournalLine.from_dict(d) for d in r["lines"]
            )
        for d in params.days:
            day = d.isoformat()
            day_row = next(
                (r for r in mine if r["kind"] == "day" and str(r["covers_date"])[:10] == day),
                None,
            )
            if day_row is not None:
                e = _stored(day_row, code)
                out.append(
                    Posted(
                        e, "exported", code, day, day, "day", currency, e.lines, e.content_hash()
                    )
                )
            else:
                out.append(_preview(code, day, currency, figs.get((loc, day), {}), accounts))
            for r in mine:
                if r["kind"] == "adjustment" and str(r["export_date"])[:10] == day:
                    e = _stored(r, code)
                    out.append(
                        Posted(
                            e,
                            "posted",
                            code,
                            e.date,
                            e.covers,
                            "adjustment",
                            currency,
                            e.lines,
                            e.content_hash(),
                        )
                    )
        for d in params.days:
            day = d.isoformat()
            if day not in by_covers and not any(
                r["kind"] == "day" and str(r["covers_date"])[:10] == day for r in mine
            ):
                continue
            try:
                now = postings(figs.get((loc, day), {}), accounts)
                adj = adjustment(code, pending_date, day, currency, now, by_covers[day], accounts)
            except Conflict:
                continue  # the day's entry shows unbalanced; nothing to adjust with
            if adj is not None:
                out.append(
                    Posted(
                        adj,
                        "pending",
                        code,
                        adj.date,
                        day,
                        "adjustment",
                        currency,
                        adj.lines,
                        adj.content_hash(),
                    )
                )
    return out


def _preview(
    store: str, day: str, currency: str, figures: Mapping[str, int], accounts: AccountMap
) -> Posted:
    try:
        e = day_entry(store, day, currency, figures, accounts)
    except Conflict:
        lines = postings(figures, accounts)
        return Posted(None, "unbalanced", store, day, day, "day", currency, lines)
    return Posted(e, "preview", store, day, day, "day", currency, e.lines, e.content_hash())


def _today(ctx: Any) -> str:
    """The date a pending adjustment would be posted on: the report's day (ctx.now)."""
    return str(ctx.now.date().isoformat())


def _line_rows(posted: Iterable[Posted]) -> list[dict[str, Any]]:
    rows = []
    for p in posted:
        for i, ln in enumerate(p.lines, start=1):
            rows.append(
                {
                    "reference": p.reference,
                    "store": p.store,
                    "date": p.date,
                    "covers": p.covers,
                    "kind": p.kind,
                    "status": p.status,
                    "line": i,
                    "account_code": ln.account_code,
                    "account_name": ln.account_name,
                    "debit": ln.debit,
                    "credit": ln.credit,
                    "memo": ln.memo,
                    "currency": p.currency,
                    "content_hash": p.content_hash,
                }
            )
    return rows


def build(frames: Mapping[str, pd.DataFrame], params: ReportParams, ctx: Any) -> ReportResult:
    """The journal report: entries (every line of every day's entry), adjustments (posted and
    pending), a summary per store-day, and the late sales behind the adjustments."""
    posted = entries(frames, params, ctx)
    days = [p for p in posted if p.kind == "day"]
    adjustments = [p for p in posted if p.kind == "adjustment"]
    figs = figures_by_day(frames["figures"].to_dict("records"))
    loc_of = {str(s.code): int(s.location_id) for s in frames["stores"].itertuples(index=False)}
    summary = [
        {
            "reference": p.reference,
            "store": p.store,
            "date": p.date,
            "status": p.status,
            "lines": len(p.lines),
            "debits": sum(ln.debit for ln in p.lines),
            "credits": sum(ln.credit for ln in p.lines),
            "adjustments": sum(1 for a in adjustments if a.store == p.store and a.date == p.date),
            "missing_cost_units": figs.get((loc_of[p.store], p.date), {}).get("missing_cost", 0),
            "currency": p.currency,
            "content_hash": p.content_hash,
        }
        for p in days
    ]
    notes = [
        "The journal covers whole store-days: till and channel filters do not apply to it.",
    ]
    meta = frames.get("meta")
    if meta is None or meta.empty or not bool(meta["stripe"].iloc[0]):
        notes.append(
            "Merchant fees and payouts are not posted: Stripe's balance transactions are not "
            "copied here."
        )
    unbalanced = [p for p in days if p.status == "unbalanced"]
    if unbalanced:
        notes.append(
            "Not balanced, so not exportable: "
            + ", ".join(f"{p.store} {p.date}" for p in unbalanced)
            + " (the orders' totals differ from their lines)."
        )
    if any(r["missing_cost_units"] for r in summary):
        notes.append("Some units sold have no cost price: their cost of goods sold is missing.")
    return ReportResult(
        name=NAME,
        title=TITLE,
        params=params,
        sections=(
            Section(
                name="entries",
                title="Journal entries (one per store and business day)",
                frame=pd.DataFrame(_line_rows(days), columns=ENTRY_COLUMNS),
                money=("debit", "credit"),
                note="exported: as exported at day close (never changed); preview: what the "
                "export will post; unbalanced: refused.",
            ),
            Section(
                name="adjustments",
                title="Adjusting entries (late arrivals after a day was exported)",
                frame=pd.DataFrame(_line_rows(adjustments), columns=ADJUSTMENT_COLUMNS),
                money=("debit", "credit"),
                note="posted: exported on the day it was learned; pending: the next export "
                "posts it.",
            ),
            Section(
                name="summary",
                title="Entries by store and day",
                frame=pd.DataFrame(summary, columns=SUMMARY_COLUMNS),
                money=("debits", "credits"),
            ),
            Section(
                name="late",
                title="Sales recorded after their day was exported",
                frame=_late(frames, ctx),
                money=("total",),
            ),
        ),
        currency=str(frames["stores"]["currency"].iloc[0]) if len(frames["stores"]) else "EUR",
        notes=tuple(notes),
    )


def _late(frames: Mapping[str, pd.DataFrame], ctx: Any) -> pd.DataFrame:
    late = frames["late"]
    stores = {int(s.location_id): s for s in frames["stores"].itertuples(index=False)}
    adjustments = [r for r in frames["exported"].to_dict("records") if r["kind"] == "adjustment"]
    rows = []
    for r in late.to_dict("records"):
        s = stores.get(int(r["location_id"]))
        if s is None:
            continue
        covers = str(r["covers_date"])[:10]
        by = [
            a
            for a in adjustments
            if int(a["location_id"]) == int(r["location_id"])
            and str(a["covers_date"])[:10] == covers
            and pd.Timestamp(a["created_at"]) >= pd.Timestamp(r["created_at"])
        ]
        rows.append(
            {
                "store": str(s.code),
                "covers": covers,
                "number": r["number"],
                "total": int(r["total"]),
                "placed_at": pd.Timestamp(r["placed_at"]).isoformat(),
                "recorded_at": pd.Timestamp(r["created_at"]).isoformat(),
                "posted_by": str(by[0]["reference"]) if by else "pending",
                "currency": str(s.currency),
                "workflow_id": r["workflow_id"],
                "workflow_link": workflow_link(
                    getattr(ctx, "ui_base", ""),
                    getattr(ctx, "namespace", "default"),
                    str(r["workflow_id"]),
                ),
            }
        )
    return pd.DataFrame(rows, columns=LATE_COLUMNS)


def balanced_entries(result: ReportResult) -> list[JournalEntry]:
    """The balanced entries of a built report (days and adjustments, in order) rebuilt from its
    sections, for the IIF / Xero / CSV writers. Unbalanced days are left out."""
    out: list[JournalEntry] = []
    for name in ("entries", "adjustments"):
        frame = result.section(name).frame
        if frame.empty:
            continue
        for ref, group in frame.groupby("reference", sort=False):
            first = group.iloc[0]
            if first["status"] == "unbalanced":
                continue
            out.append(
                JournalEntry(
                    store=str(first["store"]),
                    date=str(first["date"]),
                    covers=str(first["covers"]),
                    kind="day" if first["kind"] == "day" else "adjustment",
                    currency=str(first["currency"]),
                    lines=tuple(
                        JournalLine(
                            role="",
                            rate_bp=-1,
                            account_code=str(g["account_code"]),
                            account_name=str(g["account_name"]),
                            debit=int(g["debit"]),
                            credit=int(g["credit"]),
                            memo=str(g["memo"]),
                        )
                        for g in group.to_dict("records")
                    ),
                )
            )
            del ref
    return out
