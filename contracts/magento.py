"""Magento 2 / Adobe Commerce order pull (issue 19): names, payloads, the schedule's start helper.

A Temporal Schedule starts MagentoPull every minute (one at a time); it asks each active Magento
store for the orders updated since the last state it stored and hands each new state to its
OnlineOrder, as the web store webhooks do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)

from contracts.common import WEB_TASK_QUEUE, upsert_schedule

TASK_QUEUE = WEB_TASK_QUEUE
PULL_WORKFLOW = "MagentoPull"
PULL_SCHEDULE_ID = "magento-pull"
PROVIDER = "magento"  # the webhook inbox's provider and the OnlineOrder source
PULL_TOPIC = "magento.order.pulled"  # the inbox topic of a pulled order state


@dataclass(frozen=True, kw_only=True)
class PullRequest:
    """Which stores to pull (empty: every active Magento store)."""

    stores: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class StorePull:
    store_code: str


@dataclass(frozen=True, kw_only=True)
class StorePulled:
    store_code: str
    seen: int  # order states Magento returned
    new: int  # of them, not stored before (handed to their OnlineOrder)
    unparsed: int = 0  # stored but unusable (parked in the inbox as `unparsed`)
    cursor: str = ""  # the `updated_at` asked from


@dataclass(frozen=True, kw_only=True)
class PullResult:
    stores: tuple[StorePulled, ...] = ()
    errors: tuple[str, ...] = ()  # stores that could not be pulled this round (next round retries)


def pull_workflow_id(schedule_id: str = PULL_SCHEDULE_ID) -> str:
    return schedule_id


async def start_magento_pull(
    client: Client,
    *,
    every: timedelta = timedelta(minutes=1),
    task_queue: str = TASK_QUEUE,
    schedule_id: str = PULL_SCHEDULE_ID,
) -> None:
    """The pull every `every` (a run still going makes the next skip); an existing schedule gets
    the spec again. Call at worker start-up."""
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            PULL_WORKFLOW,
            PullRequest(),
            id=pull_workflow_id(schedule_id),
            task_queue=task_queue,
            execution_timeout=timedelta(minutes=10),
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    await upsert_schedule(client, schedule_id, schedule)
