"""Health: can we reach PostgreSQL and Temporal, and is a worker polling the sales queue?

Anyone may ask, and hears only ok / degraded per dependency (and how many workers poll): no host
name, worker identity, namespace or database error text. An admin's token adds the details."""

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

from api.auth import authenticate
from api.deps import AuthorizationHeader, ClientDep, DbDep
from api.errors import error_responses
from api.permissions import require_role
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
        return {"ok": False, "error": str(err) or type(err).__name__}, {
            "ok": False,
            "error": "Temporal unreachable",
        }
    pollers = sorted({p.identity for p in desc.pollers})
    return {"ok": True, "namespace": client.namespace}, {
        "ok": bool(pollers),
        "task_queue": SALES_TASK_QUEUE,
        "pollers": pollers,
    }


def _plain(check: dict[str, Any]) -> dict[str, Any]:
    """What an anonymous caller may see of one check: ok or not, nothing about the hosts."""
    return {"ok": bool(check["ok"]), "status": "ok" if check["ok"] else "degraded"}


def _is_admin(db: Any, authorization: str) -> None:
    with db.unit_of_work() as s:
        principal = authenticate(s, authorization)
    require_role(principal)  # an admin only


@router.get(
    "/health",
    responses={
        **error_responses(401, 403),
        503: {"description": "Something is down; the body says which dependency"},
    },
)
async def health(
    db: DbDep, client: ClientDep, authorization: AuthorizationHeader = None
) -> JSONResponse:
    """PostgreSQL, Temporal and worker reachability; 503 when any of them is down.

    Without a token the answer is only `ok` / `degraded` per dependency and the number of workers
    polling the sales queue. With an admin's token (`Authorization: Bearer …`) it adds the
    details: the database's error, Temporal's namespace and error, the workers' identities. Any
    other token is a 401 (unknown) or 403 (not an admin)."""
    if authorization is not None:
        await run_in_threadpool(_is_admin, db, authorization)
    pg = await run_in_threadpool(_postgres, db)
    temporal, workers = await _temporal(client)
    ok = pg["ok"] and temporal["ok"] and workers["ok"]
    status = 200 if ok else 503
    if authorization is not None:
        body = {
            "status": "ok" if ok else "degraded",
            "postgres": pg,
            "temporal": temporal,
            "workers": workers,
        }
        return JSONResponse(body, status_code=status)
    plain_workers = _plain(workers) | {"pollers": len(workers.get("pollers", []))}
    body = {
        "status": "ok" if ok else "degraded",
        "postgres": _plain(pg),
        "temporal": _plain(temporal),
        "workers": plain_workers,
    }
    return JSONResponse(body, status_code=status)
