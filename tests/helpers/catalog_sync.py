"""Catalogue edits for the catalogue sync tests, written as the back office writes them: the change
and its outbox row in one transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from db.models import Barcode, Product, Variant
from db.models_catalog_sync import CatalogConflict, CatalogSyncProduct
from db.repositories import catalog, catalog_outbox
from db.session import Database
from domain.barcodes import make_ean13


def publish(db: Database, code: str, action: str = "upsert", fields: Sequence[str] = ()) -> None:
    with db.unit_of_work() as s:
        catalog_outbox.record(s, code, action, fields=fields)  # type: ignore[arg-type]  # tests pass the literal


def rename(db: Database, code: str, name: str) -> None:
    with db.unit_of_work() as s:
        product = s.scalar(select(Product).where(Product.code == code))
        assert product is not None
        product.name = name
        product.version += 1
        catalog_outbox.record(s, code, "upsert", fields=["title"])


def reprice(db: Database, sku: str, amount: int, code: str | None = None) -> None:
    with db.unit_of_work() as s:
        catalog.change_price(s, sku, amount, "EUR")
        catalog_outbox.record(s, code or sku, "upsert", fields=["price"])


def new_barcode() -> str:
    return make_ean13(f"4{uuid.uuid4().int % 10**11:011d}")


def rebarcode(db: Database, sku: str, code: str | None = None) -> str:
    new = new_barcode()
    with db.unit_of_work() as s:
        variant = s.scalar(select(Variant).where(Variant.sku == sku))
        assert variant is not None
        for old in s.scalars(select(Barcode).where(Barcode.variant_id == variant.id)):
            s.delete(old)
        s.flush()
        s.add(Barcode(code=new, variant_id=variant.id, kind="EAN13"))
        catalog_outbox.record(s, code or sku, "upsert", fields=["barcode"])
    return new


def archive(db: Database, code: str) -> None:
    with db.unit_of_work() as s:
        product = s.scalar(select(Product).where(Product.code == code))
        assert product is not None
        product.active = False
        catalog_outbox.record(s, code, "delete")


def product(db: Database, code: str) -> tuple[str, str, int]:
    """(name, description, version)."""
    with db.unit_of_work() as s:
        p = s.scalar(select(Product).where(Product.code == code))
        assert p is not None
        return p.name, p.description, p.version


def conflicts(db: Database, code: str, status: str = "open") -> list[dict[str, Any]]:
    with db.unit_of_work() as s:
        return [
            {
                "id": c.id,
                "field": c.field,
                "sku": c.sku,
                "ours": c.tillflow_value,
                "theirs": c.webstore_value,
            }
            for c in s.scalars(
                select(CatalogConflict)
                .where(CatalogConflict.product_code == code, CatalogConflict.status == status)
                .order_by(CatalogConflict.id)
            )
        ]


def store_conflicts(db: Database, store_id: int) -> list[dict[str, Any]]:
    """Every open conflict of one web store (a product made in the store has no product code)."""
    with db.unit_of_work() as s:
        return [
            {"field": c.field, "sku": c.sku, "product": c.product_code, "theirs": c.webstore_value}
            for c in s.scalars(
                select(CatalogConflict)
                .where(CatalogConflict.store_id == store_id, CatalogConflict.status == "open")
                .order_by(CatalogConflict.id)
            )
        ]


def link_error(db: Database, store_id: int, code: str) -> str:
    with db.unit_of_work() as s:
        row = s.get(CatalogSyncProduct, (store_id, code))
        return row.last_error if row else ""


def with_variants(
    db: Database, code: str, extra: Sequence[tuple[str, dict[str, str], int]]
) -> None:
    """Give the product (made by new_product, one variant) sizes: the first variant gets
    attributes too, and each (sku, attributes, price) becomes a variant with a barcode."""
    from db.models import Price

    with db.unit_of_work() as s:
        p = s.scalar(select(Product).where(Product.code == code))
        assert p is not None
        first = s.scalar(select(Variant).where(Variant.product_id == p.id))
        assert first is not None
        first.attributes = {"Size": "S"}
        first.name = "S"
        for sku, attributes, amount in extra:
            v = Variant(
                product_id=p.id,
                sku=sku,
                name="/".join(attributes.values()),
                attributes=attributes,
                active=True,
            )
            s.add(v)
            s.flush()
            s.add(Barcode(code=new_barcode(), variant_id=v.id, kind="EAN13"))
            s.add(Price(variant_id=v.id, location_id=None, amount=amount, currency="EUR"))
        catalog_outbox.record(s, code, "upsert", fields=["variants"])
