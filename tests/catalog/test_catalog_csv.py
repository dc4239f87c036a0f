"""`tillflow catalog import / export` run in-process: a 2,000-row file with 3 bad rows changes
nothing and names all 3 rows; fixed, it applies in one go; the export round-trips."""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers.catalog import Codes
from sqlalchemy import func, select, update

from db.models import Price, Product, Variant
from db.models_catalog import CatalogChange
from db.repositories import catalog_outbox
from db.session import Database
from tillflow import catalog_cli

HEADER = [
    "product_code",
    "name",
    "category",
    "tax_category",
    "cost_price",
    "cost_currency",
    "sku",
    "variant_name",
    "attributes",
    "barcodes",
    "price",
    "currency",
    "price:location:BER",
]
PRODUCTS, VARIANTS = 400, 5  # 2,000 rows


def _rows(codes: Codes) -> list[list[str]]:
    rows = []
    for p in range(PRODUCTS):
        code = codes.code(f"{p:04d}")
        for v in range(VARIANTS):
            first = v == 0  # product columns on a product's first row only (later rows: same)
            rows.append(
                [
                    code,
                    f"CSV product {p}" if first else "",
                    "apparel" if first else "",
                    "standard" if first else "",
                    "4.20" if first else "",
                    "EUR" if first else "",
                    f"{code}-{v}",
                    f"Size {v}",
                    f"size={v}; colour=Blue",
                    codes.barcode(),
                    f"{10 + p % 7}.90",
                    "EUR",
                    "9.50" if p % 50 == 0 else "",
                ]
            )
    return rows


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _run(settings: Any, command: str, **args: Any) -> tuple[int, str]:
    out = io.StringIO()
    ns = argparse.Namespace(catalog_command=command, **args)
    if command == "import":
        rc = catalog_cli.cmd_import(settings, ns, out=out)
    else:
        rc = catalog_cli.cmd_export(settings, ns, out=out)
    return rc, out.getvalue()


def _count(db: Database, prefix: str) -> tuple[int, int, int]:
    with db.unit_of_work() as s:
        products = s.scalar(select(func.count()).where(Product.code.like(f"{prefix}%")))
        variants = s.scalar(select(func.count()).where(Variant.sku.like(f"{prefix}%")))
        changes = s.scalar(
            select(func.count()).where(CatalogChange.product_code.like(f"{prefix}%"))
        )
    return products or 0, variants or 0, changes or 0


def test_import_checks_every_row_then_applies_all_in_one_go(
    db: Database, database_url: str, test_settings: Any, tmp_path: Path
) -> None:
    settings = test_settings.model_copy(update={"database_url": database_url})
    codes = Codes()
    prefix = f"T{codes.tag}-"
    rows = _rows(codes)
    good = [list(r) for r in rows]
    # Three bad rows (spreadsheet row numbers: the header is row 1).
    bad_barcode, bad_tax, bad_price = 11, 802, 1999  # 802: a product's first row
    rows[bad_barcode - 2][9] = "4006381333932"  # wrong check digit
    assert rows[bad_tax - 2][3] == "standard"  # a product's first row
    rows[bad_tax - 2][3] = "luxury"
    rows[bad_price - 2][10] = "12.345"  # more decimals than EUR has
    path = _write(tmp_path / "catalogue.csv", HEADER, rows)

    rc, out = _run(settings, "import", file=str(path), dry_run=False)
    assert rc == 1, out
    problems = [line.strip() for line in out.splitlines() if line.strip().startswith("row ")]
    assert len(problems) == 3, out
    assert problems[0].startswith(f"row {bad_barcode} (barcodes)") and "bad_barcode" in problems[0]
    assert problems[1].startswith(f"row {bad_tax} (tax_category)") and "luxury" in problems[1]
    assert problems[2].startswith(f"row {bad_price} (price)") and "bad_amount" in problems[2]
    assert "nothing was changed" in out
    assert _count(db, prefix) == (0, 0, 0)

    fixed = _write(tmp_path / "fixed.csv", HEADER, good)
    rc, out = _run(settings, "import", file=str(fixed), dry_run=True)
    assert rc == 0 and "dry run" in out, out
    assert _count(db, prefix) == (0, 0, 0)
    rc, out = _run(settings, "import", file=str(fixed), dry_run=False)
    assert rc == 0, out
    assert f"{PRODUCTS} products created" in out
    assert _count(db, prefix) == (PRODUCTS, PRODUCTS * VARIANTS, PRODUCTS)  # one outbox row each
    with db.unit_of_work() as s:
        product = s.scalar(select(Product).where(Product.code == f"{prefix}0003"))
        assert product is not None and product.cost_price == 420 and product.category == "apparel"
        amounts = s.scalars(
            select(Price.amount)
            .join(Variant, Variant.id == Price.variant_id)
            .where(Variant.sku == f"{prefix}0000-1")
            .order_by(Price.amount)
        ).all()
        assert list(amounts) == [950, 1090]  # BER's own list and the default
        change = s.scalar(select(CatalogChange).where(CatalogChange.product_code == product.code))
        assert change is not None and change.action == "upsert" and "price" in change.fields
        assert change.source == "tillflow:import"

    # Export, keep this test's products, import again: nothing changes.
    exported = tmp_path / "export.csv"
    rc, out = _run(settings, "export", out=str(exported))
    assert rc == 0, out
    with exported.open(encoding="utf-8", newline="") as fh:
        table = list(csv.reader(fh))
    header, mine = table[0], [r for r in table[1:] if r[0].startswith(prefix)]
    assert len(mine) == PRODUCTS * VARIANTS and "price:location:BER" in header
    first = dict(zip(header, mine[1], strict=True))
    assert first["barcodes"] == good[1][9] and first["price"] == "10.90"
    assert first["attributes"] in ("size=1; colour=Blue", "colour=Blue; size=1")
    again = _write(tmp_path / "again.csv", header, mine)
    with db.unit_of_work() as s:
        before = catalog_outbox.latest_id(s)
    rc, out = _run(settings, "import", file=str(again), dry_run=False)
    assert rc == 0 and f"0 created, 0 updated, {PRODUCTS} unchanged" in out.replace(
        " products", ""
    ), out
    with db.unit_of_work() as s:
        assert [
            c for c in catalog_outbox.since(s, before) if c.product_code.startswith(prefix)
        ] == []

    # One change in the file: one product updated, one outbox row naming what changed.
    name_col = header.index("name")
    for row in mine[:VARIANTS]:  # a product's columns are the same on each of its rows
        row[name_col] = "Renamed by CSV"
    _write(again, header, mine)
    rc, out = _run(settings, "import", file=str(again), dry_run=False)
    assert rc == 0 and "1 updated" in out, out
    with db.unit_of_work() as s:
        changes = [c for c in catalog_outbox.since(s, before) if c.product_code.startswith(prefix)]
    assert [(c.product_code, c.fields) for c in changes] == [(mine[0][0], ["title"])]

    # Cleaned up: archived in the database, so the 400 products never reach the shops a later
    # test connects (a full catalogue resync goes through every active product).
    with db.unit_of_work() as s:
        s.execute(update(Product).where(Product.code.like(f"{prefix}%")).values(active=False))


class _Terminal(io.StringIO):
    """Standard error as a terminal (isatty true): where tqdm's bar is drawn."""

    def isatty(self) -> bool:
        return True


def test_the_progress_bar_shows_on_a_terminal_only(
    db: Database,
    database_url: str,
    test_settings: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = test_settings.model_copy(update={"database_url": database_url})
    codes = Codes()
    products = 3
    rows = [
        [
            codes.code(f"BAR{p}"),
            f"Bar product {p}",
            "apparel",
            "standard",
            "1.00",
            "EUR",
            f"{codes.code(f'BAR{p}')}-{v}",
            f"Size {v}",
            f"size={v}",
            codes.barcode(),
            "5.00",
            "EUR",
            "",
        ]
        for p in range(products)
        for v in range(2)
    ]
    path = _write(tmp_path / "small.csv", HEADER, rows)

    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    rc, out = _run(settings, "import", file=str(path), dry_run=False)
    assert rc == 0 and f"{products} products created" in out, out
    bar = terminal.getvalue()
    assert "importing: 100%" in bar and f"{products}/{products} " in bar, bar  # done / total
    assert "product/s" in bar

    piped = io.StringIO()  # a pipe or a log file: no bar, only the summary on stdout
    monkeypatch.setattr(sys, "stderr", piped)
    rc, out = _run(settings, "import", file=str(path), dry_run=False)
    assert rc == 0 and f"{products} unchanged" in out.replace(" products", ""), out
    assert piped.getvalue() == ""
