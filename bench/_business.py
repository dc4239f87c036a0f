"""Shared parts of the business benchmarks (stock sync lag, storefront, scale-out): the app
started with extra settings and any number of API / central worker processes, localstripe, the
admin's token, web-store connections, and tills selling on a fixed schedule."""

from __future__ import annotations

import asyncio
import random
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from _stack import (
    HOST,
    Stack,
    StackError,
    child_env,
    free_port,
    log_tail,
    spawn,
    wait_healthy,
)
from _tills import SaleFailed, SaleTiming, TillSession, basket, ring_up

ADMIN = {"username": "admin", "password": "admin-demo"}
LOCALSTRIPE_KEY = "sk_test_localstripe"


@dataclass
class Apps:
    """The API processes (each with its own port and in-process sale worker) and central workers."""

    api_urls: list[str] = field(default_factory=list)
    workers: int = 0


def app_env(stack: Stack, api_port: int, extra: dict[str, str]) -> dict[str, str]:
    """`child_env` plus the benchmark's settings; no /metrics ports (several workers, and other
    benchmarks on this machine, would fight over 9464/9465)."""
    return {
        **child_env(stack, api_port),
        "TILLFLOW_WORKER_METRICS_PORT": "0",
        "TILLFLOW_DEVICES_METRICS_PORT": "0",
        **extra,
    }


def start_apps(
    stack: Stack,
    tills: Sequence[str],
    extra: dict[str, str],
    *,
    apis: int = 1,
    workers: int = 1,
) -> Apps:
    """`workers` central workers, one device worker per till and `apis` API processes, each API
    on its own port; all with the settings in `extra` (TILLFLOW_* names)."""
    apps = Apps()
    base = app_env(stack, 0, extra)
    for n in range(workers):
        spawn(stack, "worker" if n == 0 else f"worker-{n + 1}", ["worker"], base)
    apps.workers = workers
    for till in tills:
        spawn(stack, f"devices-{till}", ["devices", "--till", till], base)
    for n in range(apis):
        port = free_port()
        spawn(stack, "api" if n == 0 else f"api-{n + 1}", ["api"], app_env(stack, port, extra))
        apps.api_urls.append(f"http://{HOST}:{port}")
    stack.api_url = apps.api_urls[0]
    for url in apps.api_urls:
        wait_healthy(stack, timeout=300, url=url)
    return apps


def start_localstripe(stack: Stack) -> str:
    """localstripe (the Stripe emulator the tests use) on a free loopback port; its URL. Stopped
    with the rest of the stack."""
    port = free_port()
    out = (stack.logs / "localstripe.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tillflow.localstripe", "--port", str(port)],
        cwd=stack.var_dir,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    out.close()
    stack.children.append(("localstripe", proc))
    deadline = time.monotonic() + 30
    while True:
        with socket.socket() as sock:
            if sock.connect_ex((HOST, port)) == 0:
                return f"http://{HOST}:{port}"
        if time.monotonic() > deadline or proc.poll() is not None:
            log = stack.logs / "localstripe.log"
            raise StackError(f"localstripe did not start; {log}:\n{log_tail(log)}")
        time.sleep(0.1)


def admin_headers(api_url: str) -> dict[str, str]:
    r = httpx.post(f"{api_url}/auth/login", json=ADMIN, timeout=30)
    if r.status_code != 200:
        raise StackError(f"admin sign-in failed: {r.status_code} {r.text[:300]}")
    return {"Authorization": f"Bearer {r.json()['token']}"}


def connect_store(api_url: str, body: dict[str, object]) -> dict[str, object]:
    """POST /webstores as the admin; the answer (with the storefront key, if one was asked for)."""
    r = httpx.post(f"{api_url}/webstores", headers=admin_headers(api_url), json=body, timeout=30)
    if r.status_code != 201:
        raise StackError(
            f"connecting web store {body.get('code')} failed: {r.status_code} {r.text}"
        )
    answer: dict[str, object] = r.json()
    return answer


async def sell_at_rate(
    api_urls: Sequence[str],
    sessions: Sequence[TillSession],
    rate: float,
    seconds: float,
    prices: dict[str, int],
    seed: int,
    tag: str,
    skus: Sequence[str] | None = None,
    max_in_flight: int = 16,
) -> tuple[list[tuple[SaleTiming, tuple[tuple[str, int], ...], str]], float, int]:
    """Open loop: one sale every 1/`rate` s for `seconds`, tills in turn, API processes in turn;
    at most `max_in_flight` at once (a machine that cannot keep up sells less: the achieved rate
    is len(sales) / wall). Each sale with its basket and till; the wall time; failures."""
    rng = random.Random(seed)
    pool = sorted(skus or prices)
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=max_in_flight)
    clients = [httpx.AsyncClient(base_url=u, timeout=120, limits=limits) for u in api_urls]
    done: list[tuple[SaleTiming, tuple[tuple[str, int], ...], str]] = []
    failures: list[str] = []
    gate = asyncio.Semaphore(max_in_flight)

    async def one(http: httpx.AsyncClient, session: TillSession, n: int) -> None:
        items = basket(rng, prices, pool)
        try:
            timing = await ring_up(http, session, items, f"{tag}-{n}")
        except (SaleFailed, httpx.HTTPError) as err:
            failures.append(repr(err))
            return
        finally:
            gate.release()
        done.append((timing, items.lines, session.till))

    t0 = time.perf_counter()
    tasks = []
    n = 0
    try:
        while (due := t0 + n / rate) < t0 + seconds:
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await gate.acquire()
            if time.perf_counter() > t0 + seconds:
                gate.release()
                break
            client, session = clients[n % len(clients)], sessions[n % len(sessions)]
            tasks.append(asyncio.create_task(one(client, session, n)))
            n += 1
        await asyncio.gather(*tasks)
    finally:
        for c in clients:
            await c.aclose()
    wall = time.perf_counter() - t0
    if failures and not done:
        raise SaleFailed(f"all {len(failures)} sales failed, e.g. {failures[0]}")
    return done, wall, len(failures)


def uptime() -> str:
    """The load averages, for the figures' context."""
    return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def activity_times(
    temporal_address: str, query: str, since: float = 0.0
) -> dict[str, tuple[int, float, float]]:
    """{activity type: (count, median queued s, median run s)} over the histories of the workflows
    `query` finds (all their runs), counting activities scheduled after `since` (time.time())."""
    import statistics

    from temporalio.api.enums.v1 import EventType

    from tillflow.temporal import connect

    client = await connect(temporal_address)
    queued: dict[str, list[float]] = {}
    ran: dict[str, list[float]] = {}
    async for wf in client.list_workflows(query):
        history = await client.get_workflow_handle(wf.id, run_id=wf.run_id).fetch_history()
        scheduled: dict[int, tuple[str, float]] = {}
        started: dict[int, float] = {}
        for e in history.events:
            t = e.event_time.ToDatetime().timestamp()
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                scheduled[e.event_id] = (
                    e.activity_task_scheduled_event_attributes.activity_type.name,
                    t,
                )
            elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                sid = e.activity_task_started_event_attributes.scheduled_event_id
                started[sid] = t
            elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                sid = e.activity_task_completed_event_attributes.scheduled_event_id
                if sid in scheduled and sid in started and scheduled[sid][1] >= since:
                    name, at = scheduled[sid]
                    queued.setdefault(name, []).append(started[sid] - at)
                    ran.setdefault(name, []).append(t - started[sid])
    return {k: (len(v), statistics.median(queued[k]), statistics.median(v)) for k, v in ran.items()}


def stop_apps(stack: Stack) -> None:
    """Stop the API, worker and device processes (not the services or localstripe), so the next
    set can start against the same PostgreSQL and Temporal."""
    from _stack import stop_processes

    apps = [(n, p) for n, p in stack.children if n.split("-")[0] in ("api", "worker", "devices")]
    stop_processes(list(reversed(apps)))
    stack.children[:] = [(n, p) for n, p in stack.children if (n, p) not in apps]
