"""The back-office pages: plain server-rendered screens (no build step, no CDN) for head office and
store staff, like the fulfilment board.

Every screen is a page shell with nothing secret in it (`GET /backoffice/...`). Staff sign in on the
page (`POST /auth/login`); the token lives in sessionStorage and the page's one script
(`/backoffice/static/backoffice.js`) fetches the screen's fragment (`/backoffice/fragments/...`,
HTML rendered and escaped here, 401 without a token, 403 for another store) and turns its forms into
JSON calls to the back-office API that owns each write (`/catalog/...`, `/stock/...`), with an
`Idempotency-Key` on every write and `If-Match` where the data carries an ETag. The pages never
write anything themselves.

This module has the home screen, the script and style, and the store-floor look-up; the screens
live in `backoffice_products.py` and `backoffice_stock.py`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from api.deps import DbDep, PrincipalDep
from api.errors import error_responses
from api.permissions import CATALOG
from api.routes import backoffice_products, backoffice_stock
from api.routes.backoffice_assets import SCRIPT, STYLE
from api.routes.backoffice_layout import (
    FLOOR_ROLES,
    LocationCode,
    e,
    floor_location,
    fragment,
    heading,
    my_locations,
    shell,
)
from db.repositories import catalog
from db.repositories.users import Principal
from domain.errors import NotFound

router = APIRouter(prefix="/backoffice", tags=["back-office pages"])


@router.get("", response_class=HTMLResponse)
def home_page() -> HTMLResponse:
    """The back office's home: sign in, then the screens your role may use."""
    return shell("Back office", "/backoffice/fragments/home.html", screen="home")


@router.get("/static/backoffice.js", include_in_schema=False)
def script() -> Response:
    return Response(
        SCRIPT,
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/static/backoffice.css", include_in_schema=False)
def style() -> Response:
    return Response(
        STYLE,
        media_type="text/css",
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


# ---- home -------------------------------------------------------------------------------------

Tile = tuple[str, str, str]  # href, title, what it is for

# The store-floor screens of each location: (path under /backoffice/stores/{code}/, title, what
# it is for, managers only).
FLOOR_SCREENS: tuple[tuple[str, str, str, bool], ...] = (
    ("receive", "Goods in", "Book a delivery against a purchase order, or without one.", True),
    ("count", "Counts", "Start a cycle count, scan and enter what is on the shelf, submit.", False),
    ("transfers", "Transfers", "Request stock from another location, pick, receive.", False),
)


def _tiles(principal: Principal, places: list[tuple[str, str]]) -> list[tuple[str, list[Tile]]]:
    head: list[Tile] = []
    if principal.may(CATALOG):
        head.append(
            (
                "/backoffice/products",
                "Products",
                "Search by SKU, barcode or name; edit titles, flags, barcodes and prices.",
            )
        )
    head.append(
        (
            "/backoffice/stock",
            "Stock look-up",
            "One SKU across every location: on hand, reserved, in transit, quarantined, available.",
        )
    )
    groups: list[tuple[str, list[Tile]]] = [("Everywhere", head)]
    if principal.role in FLOOR_ROLES:
        manager = principal.role in ("admin", "manager")
        for code, name in places:
            tiles = [
                (f"/backoffice/stores/{code}/{path}", title, text)
                for path, title, text, managers_only in FLOOR_SCREENS
                if manager or not managers_only
            ]
            groups.append((f"{name} ({code})", tiles))
    return groups


@router.get("/fragments/home.html", response_class=HTMLResponse, responses=error_responses(401))
def home_fragment(principal: PrincipalDep, db: DbDep) -> HTMLResponse:
    """The screens the caller may use, grouped by location."""
    parts = [
        heading("Back office"),
        f"<p>Signed in as {e(principal.display_name)} ({e(principal.role)}).</p>",
    ]
    first = True
    for title, tiles in _tiles(principal, my_locations(db, principal)):
        links = "".join(
            f'<a href="{e(href)}"{" data-focus" if first and i == 0 else ""}>'
            f"<strong>{e(name)}</strong>{e(text)}</a>"
            for i, (href, name, text) in enumerate(tiles)
        )
        first = False
        parts.append(f'<section><h2>{e(title)}</h2><div class="tiles">{links}</div></section>')
    return fragment("".join(parts))


# ---- the line tables' look-up: what a scanned or typed code is at a location ------------------


class LookupOut(BaseModel):
    sku: str
    name: str
    barcodes: list[str]


@router.get(
    "/fragments/stores/{store}/lookup.json",
    response_model=LookupOut,
    responses=error_responses(401, 403, 404, 422),
)
def lookup(
    store: LocationCode,
    principal: PrincipalDep,
    db: DbDep,
    code: Annotated[str, Query(min_length=1, max_length=64, description="a barcode or a SKU")],
) -> LookupOut:
    """The item a barcode or SKU names (active items only), for the store-floor screens' lines."""
    ref = floor_location(db, principal, store)
    text = code.strip()
    with db.unit_of_work() as s:
        item = catalog.item_by_barcode(s, ref.id, text)
        if item is None:
            found = catalog.items_by_sku(s, ref.id, {text, text.upper()})
            item = found.get(text) or found.get(text.upper())
    if item is None:
        raise NotFound(f"No active item has the barcode or SKU {text}.", code="unknown_item")
    return LookupOut(sku=item.sku, name=item.name, barcodes=list(item.barcodes))


router.include_router(backoffice_products.router)
router.include_router(backoffice_stock.router)
