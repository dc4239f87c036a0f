"""`tillflow catalog import FILE.csv [--dry-run]` and `tillflow catalog export [--out FILE.csv]`.

The import reads the whole file and checks every row (its own format, the catalogue's rules, the
database: tax categories, SKUs and barcodes of other products, price lists) and prints every
problem with its row number, exit code 1, nothing changed; else it applies everything in one
transaction (a progress bar on a terminal), one catalogue outbox row per product that changed.
The format is in docs/catalogue.md and domain/catalog_csv.py. Heavy imports stay inside the
commands: `tillflow` imports this module at every start."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TextIO

from tillflow.settings import Settings

Command = Callable[[Settings, argparse.Namespace], int]


def _database_url(settings: Settings) -> str:
    from tillflow.databases import database_url

    return database_url(settings)


def cmd_import(settings: Settings, args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Check every row, then apply all of it in one transaction (or nothing)."""
    import csv

    from tqdm import tqdm

    from db.repositories import catalog_admin
    from db.session import Database
    from domain import catalog_csv

    out = out or sys.stdout
    try:
        with open(args.file, encoding="utf-8-sig", newline="") as fh:
            parsed = catalog_csv.parse(csv.reader(fh))
    except OSError as err:
        print(f"Cannot read {args.file}: {err.strerror or err}", file=out)
        return 1
    except (csv.Error, UnicodeDecodeError) as err:
        print(f"{args.file} is not a UTF-8 CSV file: {err}", file=out)
        return 1
    problems = list(parsed.problems)
    by_code = {p.code: p for p in parsed.products}
    items = [catalog_admin.ImportItem(p.code, p.patch(), tuple(p.prices)) for p in parsed.products]
    db = Database(_database_url(settings))
    try:
        with db.unit_of_work() as s:
            for found in catalog_admin.check_import(s, items):
                problems.append(
                    catalog_csv.problems_of(by_code[found.code], found.sku, found.problem)
                )
            if problems:
                problems.sort(key=lambda p: (p.row, p.column))
                rows = len({p.row for p in problems})
                print(
                    f"{args.file}: {len(problems)} problem(s) on {rows} row(s); nothing was "
                    "changed. Fix them and import again:",
                    file=out,
                )
                for p in problems:
                    print(f"  {p}", file=out)
                s.rollback()
                return 1
            if args.dry_run:
                print(
                    f"{args.file}: {parsed.rows} rows, {len(items)} products, all valid "
                    "(dry run: nothing was changed).",
                    file=out,
                )
                s.rollback()
                return 0
            with tqdm(
                total=len(items),
                unit="product",
                desc="importing",
                disable=not sys.stderr.isatty(),
            ) as bar:
                outcome = catalog_admin.apply_import(s, items, progress=bar.update)
    finally:
        db.dispose()
    print(
        f"{args.file}: {parsed.rows} rows applied in one transaction: {outcome.created} products "
        f"created, {outcome.updated} updated, {outcome.unchanged} unchanged, "
        f"{outcome.prices_changed} SKUs repriced.",
        file=out,
    )
    return 0


def cmd_export(settings: Settings, args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Every product (archived too), one row per variant, with the prices valid now."""
    import csv

    from db.repositories import catalog_admin
    from db.session import Database
    from domain import catalog_csv

    db = Database(_database_url(settings))
    try:
        with db.unit_of_work() as s:
            products = list(catalog_admin.all_products(s))
            now = catalog_admin.database_now(s)
    finally:
        db.dispose()

    def valid_now(p: catalog_admin.PriceView) -> bool:
        return p.valid_from <= now and (p.valid_to is None or p.valid_to > now)

    lists = sorted(
        {p.price_list for prod in products for p in prod.prices if valid_now(p)} - {"default"}
    )
    table: list[list[str]] = [catalog_csv.header(lists)]
    for prod in products:
        current: dict[str, dict[str, tuple[int, str]]] = {}
        for p in prod.prices:
            if valid_now(p):
                current.setdefault(p.sku, {})[p.price_list] = (p.amount, p.currency)
        fields = {
            "code": prod.code,
            "name": prod.name,
            "description": prod.description,
            "category": prod.category,
            "tax_category": prod.tax_category,
            "store_only": prod.store_only,
            "online_only": prod.online_only,
            "tracks_stock": prod.tracks_stock,
            "serialized": prod.serialized,
            "lot_tracked": prod.lot_tracked,
            "cost_price": prod.cost_price,
            "cost_currency": prod.cost_currency,
            "active": prod.active,
        }
        for v in prod.variants:
            variant = {
                "sku": v.sku,
                "name": v.name,
                "attributes": v.attributes,
                "active": v.active,
                "barcodes": [b.code for b in v.barcodes],
            }
            table.append(catalog_csv.export_row(fields, variant, current.get(v.sku, {}), lists))
    if not args.out:
        csv.writer(out or sys.stdout).writerows(table)
        return 0
    with open(args.out, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(table)
    print(
        f"{len(products)} products, {len(table) - 1} rows written to {args.out}",
        file=out or sys.stdout,
    )
    return 0


def cmd_catalog(settings: Settings, args: argparse.Namespace) -> int:
    if args.catalog_command == "import":
        return cmd_import(settings, args)
    return cmd_export(settings, args)


COMMANDS: dict[str, Command] = {"catalog": cmd_catalog}


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add this module's sub-commands to `tillflow`'s parser."""
    cat = sub.add_parser("catalog", help="import or export the catalogue as CSV")
    commands = cat.add_subparsers(dest="catalog_command", required=True, metavar="SUBCOMMAND")
    imp = commands.add_parser(
        "import",
        help="check every row of a CSV file, then apply all of it in one transaction",
        description="Upserts products by product_code and variants by sku. Every row is checked "
        "first; any problem is printed with its row number and nothing is changed (exit 1).",
    )
    imp.add_argument("file", help="the CSV file (UTF-8; columns in docs/catalogue.md)")
    imp.add_argument("--dry-run", action="store_true", help="check only; change nothing")
    exp = commands.add_parser(
        "export", help="write every product as CSV (one row per variant, prices valid now)"
    )
    exp.add_argument("--out", help="file to write (default: standard output)")
