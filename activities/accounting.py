"""The accounting export's one writer: a store's business day exported once as its balanced
journal entry, with the adjusting entries (dated this day) of what changed since in the days it
exported before. A re-run returns what the first run stored and writes nothing."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from temporalio import activity

from contracts.accounting import EXPORT_ACTIVITY, JournalExportCmd, JournalExportResult
from contracts.errors import encode_errors
from db.report_loaders import journal as loader
from db.report_loaders import scope as scopes
from db.session import Database
from domain.accounts import (
    AccountMap,
    JournalEntry,
    JournalLine,
    adjustment,
    day_entry,
    figures_by_day,
    postings,
)
from domain.errors import InvalidRequest


def _stored(row: Mapping[str, Any], store: str) -> JournalEntry:
    return JournalEntry(
        store=store,
        date=str(row["export_date"])[:10],
        covers=str(row["covers_date"])[:10],
        kind="day" if row["kind"] == "day" else "adjustment",
        currency=str(row["currency"]),
        lines=tuple(JournalLine.from_dict(d) for d in row["lines"]),
    )


@encode_errors
class AccountingActivities:
    """The journal export, built with the database and the account map."""

    def __init__(
        self,
        db: Database,
        account_map: Mapping[str, Any] | None = None,
        lookback_days: int = 35,
    ) -> None:
        self.db = db
        self.accounts = AccountMap.parse(account_map)
        self.lookback_days = lookback_days

    @activity.defn(name=EXPORT_ACTIVITY)
    def export(self, cmd: JournalExportCmd) -> JournalExportResult:
        """Export one store-day once (refused if it does not balance); adjust earlier days."""
        try:
            day = date.fromisoformat(cmd.day)
        except ValueError:
            raise InvalidRequest(
                f"{cmd.day!r} is not a day (YYYY-MM-DD).", code="bad_date"
            ) from None
        start = day - timedelta(days=self.lookback_days)
        with self.db.unit_of_work() as s:
            scope = scopes.resolve(s, start, day, stores=(cmd.store,))
            loc = scope.location_ids[0]
            currency = str(scope.stores["currency"].iloc[0])
            loader.lock_store(s, loc)
            rows = loader.exported(s, [loc], start, day).to_dict("records")
            mine_today = [r for r in rows if str(r["export_date"])[:10] == cmd.day]
            day_row = next((r for r in mine_today if r["kind"] == "day"), None)
            if day_row is not None:
                e = _stored(day_row, cmd.store)
                return JournalExportResult(
                    store=cmd.store,
                    day=cmd.day,
                    reference=e.ref,
                    content_hash=e.content_hash(),
                    lines=len(e.lines),
                    adjustments=tuple(
                        str(r["reference"]) for r in mine_today if r["kind"] == "adjustment"
                    ),
                    already_exported=True,
                )
            figs = figures_by_day(loader.figures(s, scope).to_dict("records"))
            entry = day_entry(
                cmd.store, cmd.day, currency, figs.get((loc, cmd.day), {}), self.accounts
            )
            by_covers: dict[str, list[JournalLine]] = {}
            for r in rows:
                by_covers.setdefault(str(r["covers_date"])[:10], []).extend(
                    JournalLine.from_dict(d) for d in r["lines"]
                )
            adjustments: list[JournalEntry] = []
            for covers in sorted(by_covers):
                if covers >= cmd.day or covers < start.isoformat():
                    continue  # out of the look-back window (or a later day exported first)
                now = postings(figs.get((loc, covers), {}), self.accounts)
                adj = adjustment(
                    cmd.store, cmd.day, covers, currency, now, by_covers[covers], self.accounts
                )
                if adj is not None:
                    adjustments.append(adj)
            loader.save(s, loc, [entry, *adjustments], cmd.workflow_id)
        return JournalExportResult(
            store=cmd.store,
            day=cmd.day,
            reference=entry.ref,
            content_hash=entry.content_hash(),
            lines=len(entry.lines),
            adjustments=tuple(a.ref for a in adjustments),
            already_exported=False,
        )


def accounting_activities(
    db: Database, account_map: Mapping[str, Any] | None = None, lookback_days: int = 35
) -> list[Any]:
    """The callables to register on the worker of contracts.accounting.TASK_QUEUE."""
    acts = AccountingActivities(db, account_map, lookback_days)
    return [acts.export]
