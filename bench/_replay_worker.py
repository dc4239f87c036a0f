"""The offline replay's worker as a process of its own, for bench/offline_replay.py while
`tillflow worker` does not run it yet (tillflow/replay_worker.py; the lead wires it in).

    TILLFLOW_OFFLINE_REPLAY_TASK_QUEUE=... .venv/bin/python bench/_replay_worker.py

Reads the same TILLFLOW_* settings as the central worker and lowers its CPU priority the same way
(TILLFLOW_WORKER_NICE).
"""

from __future__ import annotations

import asyncio
import os

from db.session import Database
from tillflow.adapters import payment_gateway, return_policy
from tillflow.databases import database_url
from tillflow.replay_worker import run_offline_replay_worker
from tillflow.settings import get_settings
from tillflow.temporal import connect


def main() -> None:
    """Poll the replay queue until killed."""
    settings = get_settings()
    if settings.worker_nice:
        os.nice(settings.worker_nice)

    async def run() -> None:
        client = await connect(settings.temporal_address or "", settings.temporal_namespace)
        db = Database(database_url(settings))
        await run_offline_replay_worker(
            client, db, payment_gateway(settings), settings, policy=return_policy(settings)
        )

    asyncio.run(run())


if __name__ == "__main__":
    main()
