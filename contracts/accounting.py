"""The accounting export's Temporal boundary: the activity that exports one store's business day
as its journal entry (and the adjusting entries of what arrived late for days exported before),
run by the daily report pack before it renders `journal`, and its payloads."""

from __future__ import annotations

from dataclasses import dataclass

from contracts.common import CENTRAL_TASK_QUEUE

TASK_QUEUE = CENTRAL_TASK_QUEUE  # beside the report pack's workflow
EXPORT_ACTIVITY = "accounting.export"


@dataclass(frozen=True, kw_only=True)
class JournalExportCmd:
    """Export `store`'s business day `day` (YYYY-MM-DD, in the store's timezone); `workflow_id`
    (the pack's) is kept with each stored entry."""

    store: str
    day: str
    workflow_id: str = ""


@dataclass(frozen=True, kw_only=True)
class JournalExportResult:
    store: str
    day: str
    reference: str  # the day's entry: J-{store}-{YYYYMMDD}
    content_hash: str  # of the day's entry (the same on every re-run)
    lines: int
    adjustments: tuple[str, ...]  # references of the adjusting entries posted on this day
    already_exported: bool  # True: a re-run; nothing was written
