"""`tillflow report NAME --from … --to … [--store …] --format csv|xlsx|html|json --out FILE`:
a finance report on the command line, with the same parameters as GET /reports/{name}; the CLI
runs as the operator (every store). `tillflow report --list` names them."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

from tillflow.databases import database_url
from tillflow.settings import Settings

Command = Callable[[Settings, argparse.Namespace], int]
EXIT_OK, EXIT_BAD_INPUT = 0, 2


def day_arg(value: str) -> date:
    """An argparse type: a YYYY-MM-DD business day (the report and fiscal commands)."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a date (YYYY-MM-DD)") from None


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="run a finance report into a file (CSV, XLSX, HTML or JSON)",
        description="Run a finance report for a range of business days (each store's own "
        "timezone). The same parameters as GET /reports/{name}. Several --store / --till / "
        "--channel values narrow it; none means every one. CSV of a report with several "
        "sections is a ZIP with a CSV each (or pick one with --section).",
    )
    p.add_argument("name", nargs="?", help="the report, e.g. sales (see --list)")
    p.add_argument("--list", action="store_true", help="list the reports and exit")
    p.add_argument("--from", dest="date_from", type=day_arg, help="first business day, YYYY-MM-DD")
    p.add_argument("--to", dest="date_to", type=day_arg, help="last business day (included)")
    p.add_argument("--store", action="append", default=[], metavar="CODE")
    p.add_argument("--till", action="append", default=[], metavar="CODE")
    p.add_argument("--channel", action="append", default=[], metavar="CHANNEL")
    p.add_argument(
        "--format",
        choices=("csv", "xlsx", "html", "json", "iif", "xero"),
        default="csv",
        help="iif (QuickBooks) and xero are the journal's accounting files",
    )
    p.add_argument("--section", help="CSV: only this section")
    p.add_argument("--out", type=Path, help="the file to write (default: NAME-FROM-TO.EXT)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def cmd_report(settings: Settings, args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from db.session import Database
    from domain.errors import DomainError
    from reports import registry
    from reports.base import ReportParams
    from tillflow.adapters import report_context

    if args.list:
        for spec in registry.all_specs():
            pack = " (daily pack)" if spec.day_close else ""
            print(f"{spec.name:<16} {spec.title}{pack}\n{'':<16} {spec.description}")
        return EXIT_OK
    if not args.name or args.date_from is None or args.date_to is None:
        print("tillflow report: give NAME, --from and --to (or --list).", file=sys.stderr)
        return EXIT_BAD_INPUT
    show = not args.no_progress and sys.stderr.isatty()
    db = Database(database_url(settings), pool_size=1)
    try:
        with tqdm(total=3, desc=args.name, unit="step", disable=not show, file=sys.stderr) as bar:
            params = ReportParams(
                args.date_from,
                args.date_to,
                tuple(args.store),
                tuple(args.till),
                tuple(args.channel),
            )
            bar.set_postfix_str("loading")
            ctx = report_context(settings)
            with db.unit_of_work() as s:
                result = registry.run(s, args.name, params, ctx)
            bar.update()
            bar.set_postfix_str("rendering")
            data, ext, _ = registry.render_as(args.name, result, args.format, ctx, args.section)
            bar.update()
            out = args.out or Path(f"{args.name}-{args.date_from}-{args.date_to}.{ext}")
            out.write_bytes(data)
            bar.update()
    except DomainError as err:
        print(f"tillflow report: {err.message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        db.dispose()
    rows = sum(len(sec.frame) for sec in result.sections)
    print(f"{out}: {result.title}, {len(result.sections)} section(s), {rows} row(s)")
    return EXIT_OK


COMMANDS: dict[str, Command] = {"report": cmd_report}
