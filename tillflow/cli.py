"""`tillflow`: run the whole local stack, or one part of it."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys

from temporalio.worker import Worker

from tillflow import admin_cli, audit_cli, catalog_cli, fiscal_cli, logs, report_cli
from tillflow.runtime import freeze_startup_objects, run_loop
from tillflow.settings import Settings, get_settings

log = logging.getLogger("tillflow")


def cmd_migrate(settings: Settings, _: argparse.Namespace) -> int:
    from db import migrate

    migrate.upgrade(_database_url(settings))
    print("database migrated to head")
    return 0


def cmd_seed(settings: Settings, _: argparse.Namespace) -> int:
    from api.auth import hash_secret
    from db import migrate
    from db.seed import seed_demo
    from db.session import Database

    url = _database_url(settings)
    migrate.upgrade(url)
    db = Database(url)
    with db.unit_of_work() as s:
        created = seed_demo(
            s, hash_secret=hash_secret, receipts_dir=settings.receipts_dir.resolve()
        )
    db.dispose()
    print("demo retailer seeded" if created else "demo retailer already there; nothing to do")
    return 0


def cmd_api(settings: Settings, _: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app
    from tillflow.metrics import enable_sdk_metrics

    settings = settings.model_copy(update={"database_url": _database_url(settings)})
    enable_sdk_metrics()  # the in-process sale worker's temporal_* metrics on /metrics (issue 18)
    uvicorn.run(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_config=None,
        access_log=False,
        # Per-address rate limits need the client's address: trust X-Forwarded-For only from
        # the TLS proxy.
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )
    return 0


def cmd_worker(settings: Settings, _: argparse.Namespace) -> int:
    from db.session import Database
    from tillflow.adapters import payment_gateway, return_policy, storefront_factory
    from tillflow.metrics import enable_sdk_metrics, start_worker_metrics
    from tillflow.temporal import connect, ensure_search_attributes
    from tillflow.workers import (
        backoffice_worker,
        fulfilment_worker,
        ownership,
        sales_worker,
        start_catalog_syncs,
        start_event_deliveries,
        start_fiscal_catch_up_schedule,
        start_loyalty_expiry_schedule,
        start_magento_schedule,
        start_message_drain_schedule,
        start_reorder_schedule,
        start_report_schedule,
        start_stock_sync,
        webstore_worker,
    )

    if settings.worker_nice:
        # Online orders, fulfilment and stock sync are background work: on a busy machine the
        # API's answers (and its in-process sale worker) go first. Sales polled here still run.
        os.nice(settings.worker_nice)

    async def run() -> None:
        enable_sdk_metrics()  # before the first Client: temporal_* worker metrics (issue 18)
        client = await connect(_temporal_address(settings), settings.temporal_namespace)
        await ensure_search_attributes(client)
        db = Database(_database_url(settings))
        start_worker_metrics(settings, settings.worker_metrics_port, db)  # /metrics (issue 18)
        gateway = payment_gateway(settings)
        # The web-store link (online orders, carts, stock sync) runs beside the sales worker.
        web = webstore_worker(
            client,
            db,
            gateway,
            storefront_factory(db, settings),
            task_queue=settings.web_task_queue,
            ownership=ownership(settings),
            transfer_queue=settings.backoffice_task_queue,
            settings=settings,
        )
        web_task = asyncio.create_task(web.run())
        # Bopis and ShipFromStore, the online orders' children, on the fulfilment queue.
        fulfil = fulfilment_worker(client, db, settings)
        fulfil_task = asyncio.create_task(fulfil.run())
        # The back office's stock workflows: receipts, adjustments, reorder drafts, transfers,
        # counts.
        office = backoffice_worker(
            client, db, task_queue=settings.backoffice_task_queue, settings=settings
        )
        office_task = asyncio.create_task(office.run())
        # Offline journals on their own queue, when TILLFLOW_OFFLINE_REPLAY_TASK_QUEUE names one.
        from tillflow.replay_worker import offline_replay_worker

        policy = return_policy(settings)
        replay = offline_replay_worker(client, db, gateway, settings, policy=policy)
        others = [
            ("web", web, web_task),
            ("fulfilment", fulfil, fulfil_task),
            ("back office", office, office_task),
        ]
        if replay is not None:
            others.append(("offline replay", replay, asyncio.create_task(replay.run())))
        await start_stock_sync(client, settings, task_queue=settings.web_task_queue)
        await start_catalog_syncs(client, db, settings)
        await start_event_deliveries(client, db, settings)
        await start_reorder_schedule(client, settings)
        await start_report_schedule(client, db, settings)
        await start_loyalty_expiry_schedule(client, settings)
        await start_message_drain_schedule(client, settings)
        await start_magento_schedule(client, settings)
        await start_fiscal_catch_up_schedule(client, settings)
        freeze_startup_objects()
        log.info("central worker polling", extra={"task_queue": "tillflow-sales"})
        try:
            await _serve(sales_worker(client, db, gateway, policy=policy))
        finally:
            for name, w, task in others:
                try:
                    await asyncio.wait_for(w.shutdown(), timeout=5)
                except TimeoutError:
                    log.info("%s worker stopped without waiting for its open polls", name)
                task.cancel()

    run_loop(run())
    return _exit_now()


def cmd_devices(settings: Settings, args: argparse.Namespace) -> int:
    from devices.worker import build_device_worker
    from tillflow.metrics import enable_sdk_metrics, start_worker_metrics
    from tillflow.temporal import connect
    from tillflow.temporal_tls import temporal_tls

    # The printer is the one stored for the till (`configure-till --printer`, the back office),
    # read again as it changes; --printer overrides it, the receipts file stands in for none.
    fallback = f"file:{settings.receipts_dir.resolve() / f'{args.till}.bin'}"
    journal = settings.var_dir.resolve() / "devices" / f"{args.till}.jobs.sqlite"
    journal.parent.mkdir(parents=True, exist_ok=True)

    async def run() -> None:
        enable_sdk_metrics()  # before the first Client: temporal_* worker metrics (issue 18)
        start_worker_metrics(settings, settings.devices_metrics_port)  # /metrics (issue 18)
        # A till machine reaches Temporal through the proxy with its own client certificate.
        client = await connect(
            _temporal_address(settings),
            settings.temporal_namespace,
            tls=temporal_tls(settings) or False,
        )
        log.info(
            "device worker polling",
            extra={"till": args.till, "printer": args.printer or "the till's record"},
        )
        worker = build_device_worker(
            client,
            args.till,
            args.printer,
            journal,
            refresh_s=settings.devices_printer_refresh_s,
            fallback_url=fallback,
        )
        freeze_startup_objects()
        await _serve(worker)

    run_loop(run())
    return _exit_now()


def cmd_configure_till(settings: Settings, args: argparse.Namespace) -> int:
    from db.repositories.catalog import configure_till
    from db.session import Database

    if args.card_reader and not (
        args.card_reader == "simulated" or args.card_reader.startswith("tmr_")
    ):
        raise SystemExit("--card-reader must be 'simulated' or a Stripe Terminal reader id (tmr_…)")
    db = Database(_database_url(settings))
    with db.unit_of_work() as s:
        found = configure_till(s, args.till, card_reader=args.card_reader, printer_url=args.printer)
    db.dispose()
    if not found:
        raise SystemExit(f"There is no till {args.till}.")
    print(f"till {args.till} configured")
    return 0


def cmd_till(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from devices.printers import PrinterConfig
    from devices.scanner import ScannerConfig
    from tills.agent import create_agent_app
    from tills.config import AgentConfig

    printer = args.printer or f"file:{settings.receipts_dir.resolve() / f'{args.till}.bin'}"
    try:
        PrinterConfig.parse(printer)
        if args.scanner:
            ScannerConfig.parse(args.scanner)
    except ValueError as err:
        raise SystemExit(str(err)) from None
    config = AgentConfig(
        till=args.till,
        api_url=args.api or f"http://{settings.api_host}:{settings.api_port}",
        data_dir=settings.var_dir.resolve() / "tills",
        port=args.port,
        printer_url=printer,
        scanner=args.scanner,
        cash_timeout=settings.till_cash_timeout_s,
        card_timeout=settings.till_card_timeout_s,
    )
    print(
        f"till {args.till}: http://{config.host}:{config.port}/ (central API {config.api_url})",
        flush=True,
    )
    uvicorn.run(
        create_agent_app(config),
        host=config.host,
        port=config.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=3,
    )
    return 0


def cmd_up(settings: Settings, _: argparse.Namespace) -> int:
    from tillflow.stack import run_stack

    return run_stack(settings)


async def _serve(worker: Worker, grace: float = 5.0) -> None:
    """Run a worker until SIGINT/SIGTERM, then give in-flight tasks a few seconds to finish."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    running = asyncio.create_task(worker.run())
    waiter = asyncio.create_task(stop.wait())
    await asyncio.wait({running, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if running.done():
        running.result()  # the worker died on its own: raise why
        return
    try:
        await asyncio.wait_for(worker.shutdown(), timeout=grace)
    except TimeoutError:
        # Long polls can hold shutdown for a minute; unfinished tasks are retried by Temporal.
        log.info("worker stopped without waiting for its open polls")


def _exit_now() -> int:
    """Leave without joining the SDK's native threads, which may sit in a long poll."""
    logging.shutdown()
    sys.stdout.flush()
    os._exit(0)


def _database_url(settings: Settings) -> str:
    from tillflow.databases import database_url

    return database_url(settings)


def _temporal_address(settings: Settings) -> str:
    if not settings.temporal_address:
        raise SystemExit(
            "TILLFLOW_TEMPORAL_ADDRESS is not set (tillflow up sets it for its children)."
        )
    return settings.temporal_address


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tillflow", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("up", help="start everything locally: PostgreSQL, Temporal + UI, workers, API")
    sub.add_parser("api", help="run the HTTP API (with an in-process sale worker)")
    sub.add_parser("worker", help="run the central Temporal worker")
    dev = sub.add_parser("devices", help="run the device worker of one till (printer, drawer)")
    dev.add_argument("--till", required=True, help="till code, e.g. BER1")
    dev.add_argument(
        "--printer", help="file:PATH | tcp://HOST:9100 | serial:/dev/ttyUSB0 | usb:VID:PID"
    )
    till = sub.add_parser(
        "till", help="run a till agent: the till page on 127.0.0.1, selling offline too"
    )
    till.add_argument("--till", required=True, help="till code, e.g. BER1")
    till.add_argument(
        "--api", help="central API URL (default: http://TILLFLOW_API_HOST:TILLFLOW_API_PORT)"
    )
    till.add_argument("--port", type=int, default=8100, help="port of the till page (default 8100)")
    till.add_argument(
        "--scanner",
        help="serial scanner: /dev/ttyACM0[?baudrate=9600&terminator=CR] or a pyserial URL",
    )
    till.add_argument(
        "--printer",
        help="receipt printer for offline sales, as for `devices` (add ?status=on "
        "to read paper status)",
    )
    conf = sub.add_parser("configure-till", help="set a till's card reader and printer")
    conf.add_argument("--till", required=True, help="till code, e.g. BER1")
    conf.add_argument("--card-reader", help="'simulated' or a Stripe Terminal reader id (tmr_…)")
    conf.add_argument("--printer", help="printer URL stored for the till")
    sub.add_parser("seed", help="migrate and seed the demo retailer (once)")
    sub.add_parser("migrate", help="apply database migrations")
    catalog_cli.add_parsers(sub)  # tillflow catalog import | export
    admin_cli.add_parsers(sub)  # tillflow admin create
    audit_cli.add_parsers(sub)  # tillflow audit verify
    report_cli.add_parsers(sub)  # tillflow report NAME --from --to …
    fiscal_cli.add_parsers(sub)  # tillflow fiscal export --location --from --to (issue 20)
    return p


COMMANDS = {
    "up": cmd_up,
    "api": cmd_api,
    "worker": cmd_worker,
    "devices": cmd_devices,
    "till": cmd_till,
    "seed": cmd_seed,
    "migrate": cmd_migrate,
    "configure-till": cmd_configure_till,
    **catalog_cli.COMMANDS,
    **admin_cli.COMMANDS,
    **audit_cli.COMMANDS,
    **report_cli.COMMANDS,
    **fiscal_cli.COMMANDS,
}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = get_settings()
    except ValueError as err:  # pydantic's ValidationError: name the settings, no traceback
        raise SystemExit(f"tillflow: the settings are refused:\n{err}") from None
    logs.configure(settings.log_level, settings.log_format)
    return COMMANDS[args.command](settings, args)


if __name__ == "__main__":
    sys.exit(main())
