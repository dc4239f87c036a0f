"""The daily report pack: its workflow (one per business day), the schedule that starts it after
the last store's closing time, and the payloads of its activities."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)

from contracts.common import CENTRAL_TASK_QUEUE, upsert_schedule

TASK_QUEUE = CENTRAL_TASK_QUEUE
PACK_WORKFLOW = "DailyReports"
PACK_SCHEDULE_ID = "reports-daily"
PACK_FORMATS = ("xlsx", "html", "json")  # each day-close report is kept in these
# Business days cross the Temporal boundary as ISO dates ("2026-11-30"): the JSON payload
# converter has datetimes, not dates.


def pack_workflow_id(day: date) -> str:
    return f"reports-pack:{day.isoformat()}"


def iso_day(value: str) -> date:
    return date.fromisoformat(value)


@dataclass(frozen=True, kw_only=True)
class PackRequest:
    business_date: str | None = None  # ISO date; None: the last day every store has closed
    grace_minutes: int = 60
    stripe_sync_margin_hours: int = 1  # Stripe's balance is copied for the day ± this first


@dataclass(frozen=True, kw_only=True)
class PackPlanCmd:
    business_date: str | None
    at: datetime
    grace_minutes: int


@dataclass(frozen=True, kw_only=True)
class PackPlan:
    business_date: str
    ready_at: datetime  # the last store closed + the grace: the pack waits until then
    reports: tuple[str, ...]  # the day-close reports, by name
    stores: tuple[str, ...] = ()  # the stores whose day is exported to the journal


@dataclass(frozen=True, kw_only=True)
class PackFileCmd:
    workflow_id: str
    business_date: str
    report: str


@dataclass(frozen=True, kw_only=True)
class PackFileDone:
    report: str
    files: tuple[str, ...]  # the formats stored now (empty: the pack had them already)
    rows: int


@dataclass(frozen=True, kw_only=True)
class PackResult:
    business_date: str
    files: tuple[PackFileDone, ...]
    exported: tuple[
        str, ...
    ] = ()  # journal entries of the day (J-{store}-{day}), and adjusting ones
    not_exported: tuple[str, ...] = ()  # "STORE: why" (e.g. an unbalanced day, left for a person)


async def start_pack_schedule(
    client: Client,
    req: PackRequest,
    *,
    cron: str,
    timezone: str,
    task_queue: str = TASK_QUEUE,
    schedule_id: str = PACK_SCHEDULE_ID,
) -> None:
    """The daily schedule of the pack, at `cron` in `timezone`; an existing schedule gets the
    spec again (the stores' hours may have changed). Call at worker start-up."""
    spec = ScheduleSpec(cron_expressions=[cron], time_zone_name=timezone)
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            PACK_WORKFLOW, req, id=schedule_id, task_queue=task_queue
        ),
        spec=spec,
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    await upsert_schedule(client, schedule_id, schedule)


async def run_pack(client: Client, req: PackRequest, *, task_queue: str = TASK_QUEUE) -> PackResult:
    """Make (or finish) one day's pack now and wait for it; the same day runs once."""
    from temporalio.common import WorkflowIDConflictPolicy

    assert req.business_date is not None
    return await client.execute_workflow(
        PACK_WORKFLOW,
        req,
        id=pack_workflow_id(iso_day(req.business_date)),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        result_type=PackResult,
    )
