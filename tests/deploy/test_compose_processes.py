"""`tillflow migrate`, `admin create`, `api` and `worker` started as subprocesses with ONLY the
environment docker-compose.yml gives their containers (rendered from a filled-in .env.example),
against the test session's PostgreSQL and Temporal: an empty database becomes a shop with its
first admin (no demo seed), the API answers /health and signs the admin in, the worker polls its
task queues, and both stop cleanly on SIGTERM.

The rendered environment is used as is, except for what names the compose network: the database
host (postgres:5432 -> the embedded server, a scratch database), the Temporal address
(temporal:7233 -> the dev server), the bind address and ports (0.0.0.0:8000 / :9464 -> 127.0.0.1 on
free ports) and TILLFLOW_VAR_DIR (/app/var -> a temporary directory). The namespace is a fresh one
(TEMPORAL_NAMESPACE in .env), so these processes never take another test's tasks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from compose_render import load, service_environment
from filled_env import filled_env
from google.protobuf.duration_pb2 import Duration
from helpers.webstore import eventually
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeTaskQueueRequest,
    RegisterNamespaceRequest,
)
from temporalio.client import Client

from tillflow.temporal import ensure_search_attributes

ADMIN_PASSWORD = "correct-horse-battery-staple-" + uuid.uuid4().hex[:6]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rewrite_db_url(compose_url: str, test_url: str) -> str:
    """The compose URL with the test server's host, port and credentials (same database role
    scheme, the scratch database)."""
    assert urlsplit(compose_url).hostname == "postgres"
    return test_url


@pytest.fixture(scope="module")
async def namespace(temporal_client: Client) -> str:
    name = f"deploy-{uuid.uuid4().hex[:8]}"
    await temporal_client.workflow_service.register_namespace(
        RegisterNamespaceRequest(
            namespace=name, workflow_execution_retention_period=Duration(seconds=86400)
        )
    )
    # As the temporal-namespace job does (create-namespace.sh): the search attributes, once.
    target = temporal_client.service_client.config.target_host
    await ensure_search_attributes(await Client.connect(target, namespace=name))
    return name


@pytest.fixture(scope="module")
def compose_env(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    namespace: str, scratch_database, temporal_client: Client, tmp_path_factory
) -> dict[str, dict[str, str]]:
    """Service -> the environment its container gets, with the test's addresses."""
    dotenv = {**filled_env(), "TEMPORAL_NAMESPACE": namespace}
    compose = load(dotenv)
    url = scratch_database("tillflow_deploy")
    var = tmp_path_factory.mktemp("deploy-var")
    out: dict[str, dict[str, str]] = {}
    for service in ("migrate", "api", "worker"):
        env = service_environment(compose, service, {".env": dotenv})
        env["TILLFLOW_DATABASE_URL"] = _rewrite_db_url(env["TILLFLOW_DATABASE_URL"], url)
        assert env["TILLFLOW_TEMPORAL_ADDRESS"] == "temporal:7233"
        env["TILLFLOW_TEMPORAL_ADDRESS"] = temporal_client.service_client.config.target_host
        assert env["TILLFLOW_VAR_DIR"] == "/app/var"
        env["TILLFLOW_VAR_DIR"] = str(var)
        if service == "api":
            assert (env["TILLFLOW_API_HOST"], env["TILLFLOW_API_PORT"]) == ("0.0.0.0", "8000")
            env["TILLFLOW_API_HOST"] = "127.0.0.1"
            env["TILLFLOW_API_PORT"] = str(_free_port())
            env["TILLFLOW_FORWARDED_ALLOW_IPS"] = "127.0.0.1"
        if service == "worker":
            assert env["TILLFLOW_WORKER_METRICS_PORT"] == "9464"
            env["TILLFLOW_METRICS_HOST"] = "127.0.0.1"
            env["TILLFLOW_WORKER_METRICS_PORT"] = str(_free_port())
        out[service] = env
    return out


def _process_env(env: dict[str, str], home: Path) -> dict[str, str]:
    """The container's environment plus what any process needs; proxies point nowhere, so a call
    to an outside host (Stripe) fails at once instead of leaving the machine."""
    return {
        **env,
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost",
    }


def _run(args: list[str], env: dict[str, str], cwd: Path, stdin: str = "") -> str:
    done = subprocess.run(
        [sys.executable, "-m", "tillflow.cli", *args],
        env=_process_env(env, cwd),
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, f"tillflow {' '.join(args)}: {done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def started(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    compose_env: dict[str, dict[str, str]], tmp_path_factory
) -> Iterator[dict[str, Any]]:
    """The migrate job, the first admin, then the API and the worker, as compose runs them."""
    cwd = tmp_path_factory.mktemp("deploy-cwd")  # no .env here: only the environment counts
    assert "migrated" in _run(["migrate"], compose_env["migrate"], cwd)
    created = _run(
        ["admin", "create", "--username", "owner", "--display-name", "Shop Owner"],
        compose_env["api"],  # `docker compose run --rm -T api tillflow admin create …`
        cwd,
        stdin=ADMIN_PASSWORD + "\n",
    )
    assert "admin owner created" in created
    procs: dict[str, Any] = {}
    logs: dict[str, Path] = {}
    try:
        for service in ("api", "worker"):
            logs[service] = cwd / f"{service}.log"
            with logs[service].open("wb") as log:
                procs[service] = subprocess.Popen(
                    [sys.executable, "-m", "tillflow.cli", service],
                    env=_process_env(compose_env[service], cwd),
                    cwd=cwd,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
        yield {"procs": procs, "logs": logs, "env": compose_env}
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)


def _pollers(client: Client, namespace: str, queue: str, pid: int) -> Any:
    async def check() -> bool:
        got = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=namespace,
                task_queue=TaskQueue(name=queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            )
        )
        return any(p.identity.startswith(f"{pid}@") for p in got.pollers)

    return check


async def test_api_and_worker_run_on_the_compose_environment_and_stop_cleanly(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    started, namespace: str, temporal_client: Client
) -> None:
    procs, logs, env = started["procs"], started["logs"], started["env"]
    base = f"http://127.0.0.1:{env['api']['TILLFLOW_API_PORT']}"

    async def healthy() -> Any:
        for name, proc in procs.items():
            assert proc.poll() is None, f"{name} exited:\n{logs[name].read_text()}"
        try:
            async with httpx.AsyncClient(base_url=base, timeout=5, trust_env=False) as http:
                got = await http.get("/health")
        except httpx.TransportError:
            return None
        return got if got.status_code == 200 else None

    health = await eventually(healthy, timeout=90, interval=0.5)
    assert health.json()["status"] == "ok"

    # The worker polls the sales, web, fulfilment and back-office queues of its namespace, and so
    # does the API's in-process sale worker (its own pid).
    for queue in ("tillflow-sales", "tillflow-web", "tillflow-central"):
        await eventually(
            _pollers(temporal_client, namespace, queue, procs["worker"].pid), timeout=60
        )
    await eventually(
        _pollers(temporal_client, namespace, "tillflow-sales", procs["api"].pid), timeout=30
    )
    metrics_port = int(env["worker"]["TILLFLOW_WORKER_METRICS_PORT"])
    socket.create_connection(("127.0.0.1", metrics_port), timeout=5).close()  # its healthcheck

    # The first admin signs in on the production API; no demo user exists.
    async with httpx.AsyncClient(base_url=base, timeout=10, trust_env=False) as http:
        ok = await http.post("/auth/login", json={"username": "owner", "password": ADMIN_PASSWORD})
        assert ok.status_code == 200, ok.text
        demo = await http.post("/auth/login", json={"username": "mia", "password": "manager-demo"})
        assert demo.status_code == 401

    for proc in procs.values():
        proc.send_signal(signal.SIGTERM)
    # The worker exits 0; uvicorn shuts down gracefully and then re-raises the SIGTERM it caught,
    # so the API ends "killed by SIGTERM" (exit 143 in a container: a normal stop for Docker).
    assert procs["worker"].wait(timeout=60) == 0, logs["worker"].read_text()
    assert procs["api"].wait(timeout=60) in (0, -signal.SIGTERM), logs["api"].read_text()
    assert "Application shutdown complete." in logs["api"].read_text()
    text = logs["api"].read_text() + logs["worker"].read_text()
    assert "Traceback" not in text, text
