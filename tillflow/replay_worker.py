"""The offline replay's own worker (issue 21): a till's journal replays beside live sales, not in
front of them.

With TILLFLOW_OFFLINE_REPLAY_TASK_QUEUE set, the API starts OfflineReplay there and the replay
starts its Sales there too (api/routes/till_offline.py). This worker polls that queue only, in the
central worker's process (at TILLFLOW_WORKER_NICE, so the API and its in-process sale worker get
the cores first), with at most TILLFLOW_OFFLINE_REPLAY_MAX_TASKS workflow tasks at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor

from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from db.session import Database
from domain.returns import ReturnPolicy
from integrations.payments import PaymentGateway
from tillflow.settings import Settings
from tillflow.workers import sale_activities, sandbox_runner
from workflows.replay import OfflineReplayWorkflow
from workflows.sale import SaleWorkflow


def offline_replay_worker(
    client: Client,
    db: Database,
    gateway: PaymentGateway,
    settings: Settings,
    *,
    policy: ReturnPolicy | None = None,
) -> Worker | None:
    """OfflineReplay and the Sales it replays, on TILLFLOW_OFFLINE_REPLAY_TASK_QUEUE; None when
    that is unset (journals then replay on the sales queue, as before)."""
    queue = settings.offline_replay_task_queue
    if not queue:
        return None
    tasks = settings.offline_replay_max_tasks
    runner = sandbox_runner()
    return Worker(
        client,
        task_queue=queue,
        workflows=[OfflineReplayWorkflow, SaleWorkflow],
        activities=sale_activities(db, gateway, policy=policy),
        activity_executor=ThreadPoolExecutor(max_workers=2 * tasks),
        workflow_runner=runner,
        unsandboxed_workflow_runner=UnsandboxedWorkflowRunner(),
        max_concurrent_workflow_tasks=tasks,
        max_concurrent_workflow_task_polls=2,
        max_concurrent_local_activities=2 * tasks,
        max_concurrent_activities=2 * tasks,
        max_concurrent_activity_task_polls=1,
    )


async def run_offline_replay_worker(
    client: Client,
    db: Database,
    gateway: PaymentGateway,
    settings: Settings,
    *,
    policy: ReturnPolicy | None = None,
) -> None:
    """Run the replay worker until cancelled (returns at once when the queue is unset)."""
    worker = offline_replay_worker(client, db, gateway, settings, policy=policy)
    if worker is None:
        return
    task = asyncio.create_task(worker.run())
    try:
        await task
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(worker.shutdown(), timeout=5)
        task.cancel()
