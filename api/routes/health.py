"""Health: can we reach PostgreSQL and Temporal, and is a worker polling the sales queue?"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import text
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

from api.deps import ClientDep, DbDep
from contracts.common import SALES_TASK_QUEUE

router = APIRouter(tags=["health"])


def _postgres(db: Any) -> dict[str, Any]:
    try:
        with db.unit_of_work() as s:
            s.execute(text("SELECT 1"))
        return {"ok": True}
    except Exception as err:  # noqa: BLE001 - health reports any failure as data
        return {"ok": False, "error": str(err).splitlines()[0]}


async def _temporal(client: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        await asyncio.wait_for(client.service_client.check_health(), timeout=3)
        desc = await asyncio.wait_for(
            client.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace=client.namespace,
                    task_queue=TaskQueue(name=SALES_TASK_QUEUE),
                    task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
                )
            ),
            timeout=3,
        )
    except Exception as err:  # noqa: BLE001
        return {"ok": False, "error": str(err)}, {"ok": False, "error": "Temporal unreachable"}
    pollers = sorted({p.identity for p in desc.pollers})
    return {"ok": True, "namespace": client.namespace}, {
        "ok": bool(pollers),
        "task_queue": SALES_TASK_QUEUE,
        "pollers": pollers,
    }


@router.get("/health", responses={503: {"description": "Something is down; the body says what"}})
async def health(db: DbDep, client: ClientDep) -> JSONResponse:
    """PostgreSQL, Temporal and worker reachability; 503 when any of them is down."""
    pg = await run_in_threadpool(_postgres, db)
    temporal, workers = await _temporal(client)
    ok = pg["ok"] and temporal["ok"] and workers["ok"]
    body = {
        "status": "ok" if ok else "degraded",
        "postgres": pg,
        "temporal": temporal,
        "workers": workers,
    }
    return JSONResponse(body, status_code=200 if ok else 503)
