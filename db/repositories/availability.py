"""Available to promise per location, the inputs of routing, and mapping web-store SKUs onto
ours."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Barcode, Location, Product, StockLevel, Variant
from domain.routing import ProductFlags, Site


def resolve_skus(session: Session, codes: Iterable[str]) -> dict[str, str]:
    """Our SKU for each code a web store sent that is one of our SKUs or barcodes (active only)."""
    wanted = {c.strip() for c in codes if c and c.strip()}
    if not wanted:
        return {}
    found = {
        sku: sku
        for sku in session.scalars(
            select(Variant.sku)
            .join(Product, Product.id == Variant.product_id)
            .where(Variant.sku.in_(wanted), Variant.active, Product.active)
        )
    }
    rest = wanted - found.keys()
    if rest:
        rows = session.execute(
            select(Barcode.code, Variant.sku)
            .join(Variant, Variant.id == Barcode.variant_id)
            .join(Product, Product.id == Variant.product_id)
            .where(Barcode.code.in_(rest), Variant.active, Product.active)
        )
        found.update({code: sku for code, sku in rows})
    return found


def product_flags(session: Session, skus: Collection[str]) -> dict[str, ProductFlags]:
    rows = session.execute(
        select(Variant.sku, Product.store_only, Product.online_only)
        .join(Product, Product.id == Variant.product_id)
        .where(Variant.sku.in_(list(skus)))
    )
    return {sku: ProductFlags(bool(so), bool(oo)) for sku, so, oo in rows}


def sites(
    session: Session, skus: Collection[str], location_ids: Collection[int] | None = None
) -> list[Site]:
    """Every location (or those given) with what it has available to promise of each SKU."""
    q = select(Location).order_by(Location.code)
    if location_ids is not None:
        q = q.where(Location.id.in_(list(location_ids)))
    locations = list(session.scalars(q))
    atp: dict[int, dict[str, int]] = {loc.id: {} for loc in locations}
    if skus and locations:
        rows = session.execute(
            select(
                StockLevel.location_id,
                StockLevel.sku,
                StockLevel.on_hand - StockLevel.reserved - StockLevel.safety_stock,
            ).where(StockLevel.sku.in_(list(skus)), StockLevel.location_id.in_(list(atp)))
        )
        for loc_id, sku, available in rows:
            atp[loc_id][sku] = max(0, int(available))
    return [
        Site(
            loc.id,
            loc.code,
            loc.kind,
            loc.ship_from_store,
            atp[loc.id],
            loc.latitude,
            loc.longitude,
            loc.country,
        )
        for loc in locations
    ]


def location_names(session: Session, ids: Collection[int]) -> dict[int, str]:
    return dict(
        session.execute(select(Location.id, Location.name).where(Location.id.in_(list(ids)))).all()
    )


def location_id_by_code(session: Session, code: str) -> int | None:
    return session.scalar(select(Location.id).where(Location.code == code))


def location_codes(session: Session, ids: Collection[int]) -> dict[int, str]:
    return dict(
        session.execute(select(Location.id, Location.code).where(Location.id.in_(list(ids)))).all()
    )
