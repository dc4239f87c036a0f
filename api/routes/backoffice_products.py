"""Back-office product screens: the product list with search and paging, and the edit form.

The fragments read through the catalogue repository the `/catalog` API reads through (one source
of truth); every write goes from the page to that API: `PATCH /catalog/products/{code}` with
`If-Match` (the fragment carries the product's ETag) and `POST /catalog/products/{code}/prices`,
each with an `Idempotency-Key`.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse

from api.deps import DbDep, PrincipalDep, SettingsDep
from api.errors import error_responses
from api.permissions import CATALOG, require_permission
from api.routes.backoffice_layout import e, fragment, heading, money, shell, when
from db.repositories import catalog_admin
from db.repositories.catalog_admin import PriceView, ProductPage, ProductView
from domain.errors import NotFound
from domain.money import exponent, format_minor

router = APIRouter()

ProductCode = Annotated[str, Path(min_length=1, max_length=64, description="product code")]
FLAGS = (
    ("store_only", "Store only", "not sold online"),
    ("online_only", "Online only", "not sold at the tills"),
    ("tracks_stock", "Tracks stock", "sales take it from stock"),
    ("serialized", "Serial numbers", "each unit has one"),
    ("lot_tracked", "Lot tracked", "batches with a lot number"),
    ("active", "Active", "untick to archive: sold nowhere, history kept"),
)
_BARCODE = re.compile(r"^\d{8}$|^\d{12,14}$")


# ---- shells -------------------------------------------------------------------------------------


@router.get("/products", response_class=HTMLResponse)
def products_page() -> HTMLResponse:
    """Products: search by SKU, barcode or name; open one to edit it."""
    return shell("Products", "/backoffice/fragments/products.html", screen="products")


@router.get("/products/{code}", response_class=HTMLResponse)
def product_page(code: ProductCode) -> HTMLResponse:
    """One product's edit form."""
    return shell(f"Product {code}", f"/backoffice/fragments/products/{code}.html", screen="product")


# ---- the list -----------------------------------------------------------------------------------


def _now_price(prices: tuple[PriceView, ...], sku: str | None = None) -> PriceView | None:
    """The default list's price that holds now (of the first SKU that has one)."""
    now = datetime.now(UTC)
    valid = [
        p
        for p in prices
        if p.price_list == "default"
        and (sku is None or p.sku == sku)
        and p.valid_from <= now
        and (p.valid_to is None or p.valid_to > now)
    ]
    return max(valid, key=lambda p: p.valid_from) if valid else None


def _find(db: DbDep, q: str, archived: bool, page: int, per_page: int) -> ProductPage:
    """A barcode-shaped search looks for the barcode first; anything else (or no barcode hit)
    matches name, code and SKU."""
    with db.unit_of_work() as s:
        if _BARCODE.match(q):
            found = catalog_admin.search(
                s, barcode=q, archived=archived, page=page, per_page=per_page
            )
            if found.total:
                return found
        return catalog_admin.search(s, q=q or None, archived=archived, page=page, per_page=per_page)


def _query(q: str, archived: bool, page: int) -> str:
    parts = [f"q={e(q)}"] if q else []
    if archived:
        parts.append("archived=true")
    parts.append(f"page={page}")
    return "?" + "&amp;".join(parts)


def _product_row(p: ProductView) -> str:
    skus = ", ".join(e(v.sku) for v in p.variants)
    codes = " ".join(f"<span>{e(b.code)}</span>" for v in p.variants for b in v.barcodes)
    flags = "".join(
        f'<span class="badge">{label}</span>'
        for key, label, _ in FLAGS[:-1]
        if getattr(p, key) and key != "tracks_stock"
    )
    if not p.active:
        flags += '<span class="badge off">Archived</span>'
    price = _now_price(p.prices)
    return (
        f'<tr data-code="{e(p.code)}"><td><a href="/backoffice/products/{e(p.code)}">'
        f"{e(p.name)}</a></td><td>{e(p.code)}</td><td>{skus}</td><td>{codes}</td>"
        f"<td>{e(p.category)}</td><td>{flags}</td>"
        f'<td class="num">{money(price.amount, price.currency) if price else "—"}</td></tr>'
    )


@router.get(
    "/fragments/products.html",
    response_class=HTMLResponse,
    responses=error_responses(401, 403, 422),
)
def products_fragment(
    principal: PrincipalDep,
    db: DbDep,
    settings: SettingsDep,
    q: Annotated[str, Query(max_length=100, description="SKU, barcode, code or name")] = "",
    archived: Annotated[bool, Query(description="archived products instead")] = False,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """The product list: a search form, one page of products, and the pager."""
    require_permission(principal, CATALOG)
    q = q.strip()
    per_page = settings.backoffice_page_size
    found = _find(db, q, archived, page, per_page)
    pages = max(1, math.ceil(found.total / per_page))
    rows = "".join(_product_row(p) for p in found.items)
    table = (
        '<table aria-label="Products"><thead><tr><th>Name</th><th>Code</th><th>SKUs</th>'
        '<th>Barcodes</th><th>Category</th><th>Flags</th><th class="num">Price</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
        if found.items
        else f'<p class="empty">No {"archived " if archived else ""}product matches '
        f"{e(q) or 'yet'}.</p>"
    )
    pager = ['<nav class="pager" aria-label="Pages">']
    if page > 1:
        pager.append(
            f'<a data-nav data-page="prev" '
            f'href="/backoffice/products{_query(q, archived, page - 1)}">'
            "← Previous <kbd>p</kbd></a>"
        )
    pager.append(
        f'<span id="page-info">Page {page} of {pages} · {found.total} '
        f"product{'s' if found.total != 1 else ''}</span>"
    )
    if page < pages:
        pager.append(
            f'<a data-nav data-page="next" '
            f'href="/backoffice/products{_query(q, archived, page + 1)}">'
            "Next <kbd>n</kbd> →</a>"
        )
    pager.append("</nav>")
    search = (
        '<form class="card row" role="search" data-search="/backoffice/products">'
        '<label>SKU, barcode or name <input type="search" name="q" id="q" data-focus '
        f'data-shortcut="/" value="{e(q)}" autocomplete="off" size="32"></label>'
        '<label class="inline"><input type="checkbox" name="archived" value="true"'
        f"{' checked' if archived else ''}> Archived</label>"
        '<button type="submit">Search</button><span class="muted">Press <kbd>/</kbd> to search, '
        "<kbd>?</kbd> for every shortcut</span></form>"
    )
    return fragment(
        heading("Products", ("/backoffice", "Back office")) + search + table + "".join(pager)
    )


# ---- the edit form ------------------------------------------------------------------------------


def _checkbox(name: str, label: str, hint: str, on: bool) -> str:
    return (
        f'<label class="inline"><input type="checkbox" name="{name}"{" checked" if on else ""}> '
        f'{e(label)} <span class="muted">({e(hint)})</span></label>'
    )


def _details_form(p: ProductView, taxes: list[tuple[str, str]]) -> str:
    original = {
        "name": p.name,
        "description": p.description,
        "category": p.category,
        "tax_category": p.tax_category,
        "cost_price": p.cost_price,
        "cost_currency": p.cost_currency,
        **{key: getattr(p, key) for key, _, _ in FLAGS},
    }
    tax_options = "".join(
        f'<option value="{e(code)}"{" selected" if code == p.tax_category else ""}>'
        f"{e(name)} ({e(code)})</option>"
        for code, name in taxes
    )
    cost_currency = p.cost_currency or "EUR"
    cost = "" if p.cost_price is None else format_minor(p.cost_price, cost_currency)
    variants = "".join(
        f'<fieldset data-variant="{e(v.sku)}" '
        f'data-barcodes="{e(json.dumps([b.code for b in v.barcodes]))}">'
        f"<legend>Variant {e(v.sku)}{'' if v.active else ' (retired)'}</legend>"
        '<label>Variant name <input type="text" data-variant-name data-skip '
        f'name="vname:{e(v.sku)}" value="{e(v.name)}" size="30"></label>'
        f'<label data-name="Barcodes">Barcodes (EAN-13, UPC-A or EAN-8; one a line) '
        f'<textarea data-barcodes data-type="lines" data-skip data-field-name="barcodes" '
        f'name="barcodes:{e(v.sku)}" rows="2">'
        f"{e(chr(10).join(b.code for b in v.barcodes))}</textarea></label></fieldset>"
        for v in p.variants
    )
    flags = "".join(_checkbox(key, label, hint, getattr(p, key)) for key, label, hint in FLAGS)
    return (
        f'<form id="product-form" class="card" data-api="/catalog/products/{e(p.code)}" '
        f'data-method="PATCH" data-request="product" data-etag="&quot;v{p.version}&quot;" '
        f'data-original="{e(json.dumps(original))}" data-done="Saved." '
        'data-codes="bad_barcode:barcodes duplicate_barcode:barcodes '
        'unknown_tax_category:tax_category version_mismatch:name" '
        'aria-labelledby="details-title">'
        '<h2 id="details-title">Details</h2>'
        '<p class="form-error" role="alert"></p><p class="form-ok" role="status"></p>'
        f'<label>Title <input type="text" name="name" id="name" data-focus value="{e(p.name)}" '
        'required maxlength="200" class="wide"></label>'
        '<label>Description <textarea name="description" rows="3">'
        f"{e(p.description)}</textarea></label>"
        '<div class="row">'
        f'<label>Category <input type="text" name="category" value="{e(p.category)}"></label>'
        f'<label>Tax category <select name="tax_category">{tax_options}</select></label>'
        f'<label data-name="Cost price">Cost price <input type="text" name="cost_price" '
        f'data-type="money" data-exponent="{exponent(cost_currency)}" value="{e(cost)}" '
        'inputmode="decimal" size="10"></label>'
        '<label>Cost currency <input type="text" name="cost_currency" data-optional '
        f'value="{e(p.cost_currency or "")}" size="4" maxlength="3"></label></div>'
        f"<fieldset><legend>Flags</legend>{flags}</fieldset>"
        f"{variants}"
        '<p><button type="submit">Save changes</button> '
        '<span class="muted"><kbd>Enter</kbd> in a field saves</span></p></form>'
    )


def _price_rows(p: ProductView) -> str:
    now = datetime.now(UTC)
    rows = []
    for x in sorted(p.prices, key=lambda x: (x.price_list, x.sku, x.valid_from)):
        state = "scheduled" if x.valid_from > now else "now"
        rows.append(
            f'<tr data-list="{e(x.price_list)}" data-sku="{e(x.sku)}" data-state="{state}">'
            f"<td>{e(x.price_list)}</td><td>{e(x.sku)}</td>"
            f'<td class="num">{money(x.amount, x.currency)}</td>'
            f"<td>{when(x.valid_from)}</td><td>{when(x.valid_to) or 'open'}</td>"
            f"<td>{'Scheduled' if state == 'scheduled' else 'Current'}</td></tr>"
        )
    if not rows:
        return '<p class="empty">No price yet: this product cannot be sold.</p>'
    return (
        '<table aria-label="Prices"><thead><tr><th>Price list</th><th>SKU</th>'
        '<th class="num">Amount</th><th>Valid from</th><th>Valid to</th><th></th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _price_form(p: ProductView, lists: list[tuple[str, str, str | None]]) -> str:
    currency = next((x.currency for x in p.prices), "EUR")
    options = "".join(
        f'<option value="{e(i)}" data-currency="{e(c or "")}">{e(name)} ({e(i)})</option>'
        for i, name, c in lists
    )
    skus = "".join(f'<option value="{e(v.sku)}">{e(v.sku)}</option>' for v in p.variants)
    return (
        f'<form id="price-form" class="card" data-api="/catalog/products/{e(p.code)}/prices" '
        'data-method="POST" data-done="Price scheduled." '
        'data-codes="bad_price_period:valid_to bad_price_list:price_list unknown_sku:sku"'
        ' aria-labelledby="price-title">'
        '<h2 id="price-title">Schedule a price</h2>'
        '<p class="form-error" role="alert"></p><p class="form-ok" role="status"></p>'
        '<div class="row">'
        f'<label>Price list <select name="price_list" data-sets-currency>{options}</select></label>'
        f'<label>SKU <select name="sku">{skus}</select></label>'
        '<label data-name="Amount">Amount <input type="text" name="amount" data-type="money" '
        f'data-exponent="{exponent(currency)}" inputmode="decimal" size="10" required></label>'
        f'<label>Currency <input type="text" name="currency" value="{e(currency)}" size="4" '
        'maxlength="3" required></label>'
        '<label>Valid from <input type="datetime-local" name="valid_from" data-type="instant">'
        "</label>"
        '<label>Valid to <input type="datetime-local" name="valid_to" data-type="instant">'
        "</label>"
        '<button type="submit">Schedule</button></div>'
        '<p class="muted">Empty “valid from” means now; empty “valid to” means until the next '
        "price. Times are your browser's local time. Past prices are kept, never overwritten.</p>"
        "</form>"
    )


@router.get(
    "/fragments/products/{code}.html",
    response_class=HTMLResponse,
    responses=error_responses(401, 403, 404, 422),
)
def product_fragment(code: ProductCode, principal: PrincipalDep, db: DbDep) -> HTMLResponse:
    """One product's edit form, its prices and the form to schedule a price."""
    require_permission(principal, CATALOG)
    with db.unit_of_work() as s:
        p = catalog_admin.product(s, code)
        taxes = [(t.code, t.name) for t in catalog_admin.tax_categories(s)]
        lists = [(x.id, x.name, x.currency) for x in catalog_admin.price_lists(s)]
    if p is None:
        raise NotFound(f"There is no product {code}.", code="unknown_product")
    status = "" if p.active else ' <span class="badge off">Archived</span>'
    return fragment(
        heading(
            f"{p.name}",
            ("/backoffice", "Back office"),
            ("/backoffice/products", "Products"),
        )
        + f'<p class="muted">Product {e(p.code)} · version {p.version} · last changed '
        f"{when(p.updated_at)}{status}</p>"
        + _details_form(p, taxes)
        + '<section class="card" aria-labelledby="prices-title">'
        '<h2 id="prices-title">Prices now and scheduled</h2>'
        + _price_rows(p)
        + "</section>"
        + _price_form(p, lists)
    )
