"""`tillflow fiscal export --location CODE --from D --to D [--till T] --out FILE`: the file a
location's tax office reads (Germany: the DSFinV-K ZIP; Portugal: the SAF-T (PT) XML), built by the
location's signer from its signed records, as GET /fiscal/{code}/export gives it. Issue 20."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from tillflow.databases import database_url
from tillflow.report_cli import EXIT_BAD_INPUT, EXIT_OK, Command, day_arg
from tillflow.settings import Settings


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fiscal",
        help="fiscal exports for the tax office (DSFinV-K, SAF-T (PT))",
        description="Fiscal compliance (issue 20). `export` writes the file a location's tax "
        "office reads for a range of days in the store's own timezone.",
    )
    fsub = p.add_subparsers(dest="fiscal_command", required=True)
    e = fsub.add_parser("export", help="write a location's fiscal export into a file")
    e.add_argument("--location", required=True, metavar="CODE", help="the store, e.g. BER")
    e.add_argument("--from", dest="date_from", type=day_arg, required=True, help="YYYY-MM-DD")
    e.add_argument("--to", dest="date_to", type=day_arg, required=True, help="YYYY-MM-DD, included")
    e.add_argument("--till", default="", metavar="CODE", help="one till only (DSFinV-K)")
    e.add_argument("--out", type=Path, help="the file to write (default: the export's own name)")


def cmd_fiscal(settings: Settings, args: argparse.Namespace) -> int:
    from db.session import Database
    from domain.errors import DomainError

    if args.date_to < args.date_from:
        print("tillflow fiscal export: --to is before --from.", file=sys.stderr)
        return EXIT_BAD_INPUT
    db = Database(database_url(settings), pool_size=1)
    try:
        out, size = asyncio.run(_export(settings, db, args))
    except DomainError as err:
        print(f"tillflow fiscal export: {err.message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        db.dispose()
    print(f"{out}: {size} bytes")
    return EXIT_OK


async def _export(settings: Settings, db: object, args: argparse.Namespace) -> tuple[Path, int]:
    from contracts.fiscal import FiscalExportRequest
    from db.repositories import fiscal
    from db.session import Database
    from domain.errors import InvalidRequest
    from tillflow.adapters import fiscal_signers

    assert isinstance(db, Database)
    with db.unit_of_work() as s:
        unit = fiscal.unit_by_code(s, args.location)
    if unit is None:
        raise InvalidRequest(
            f"Location {args.location} has no fiscal unit: there is nothing to export.",
            code="no_fiscal_unit",
        )
    exported = await (
        fiscal_signers(settings, db)
        .for_unit(unit)
        .export(
            unit,
            FiscalExportRequest(
                location_code=unit.location_code,
                date_from=args.date_from,
                date_to=args.date_to,
                till_code=args.till,
            ),
        )
    )
    out: Path = args.out or Path(exported.filename)
    out.write_bytes(exported.content)
    return out, len(exported.content)


COMMANDS: dict[str, Command] = {"fiscal": cmd_fiscal}
