"""Back-office stock screens: the stock look-up (one SKU everywhere), and per location the goods
receipt, count and transfer screens for store staff.

Each fragment reads through the JSON route that owns the data (`/stock/levels/{sku}`,
`/purchasing/orders`, `/stock/receipts/{id}`, `/stock/counts`, `/stock/transfers`), called here
as a function with the caller's own principal, so the page shows exactly what the API would show
that person, with the same refusals. Every write goes from the page to those routes with an
`Idempotency-Key`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from api.deps import ClientDep, DbDep, PrincipalDep
from api.errors import error_responses
from api.routes import counts as count_routes
from api.routes import purchasing as purchasing_routes
from api.routes import stock_ops as stock_ops_routes
from api.routes import stock_view as stock_view_routes
from api.routes import transfers as transfer_routes
from api.routes.backoffice_layout import (
    LocationCode,
    e,
    floor_location,
    fragment,
    heading,
    shell,
    when,
)
from api.schemas_stock_ops import OrderOut, ReceiptOut
from api.schemas_transfers import CountOut, TransferOut
from db.repositories import catalog, catalog_admin, places_admin, purchasing
from db.repositories.fulfilment import LocationRef
from db.repositories.users import Principal
from db.session import Database
from domain import barcodes
from domain.errors import NotFound

router = APIRouter()

Sku = Annotated[str, Query(max_length=64, description="a SKU or a barcode")]
DocId = Annotated[str, Query(max_length=64, pattern=r"^[A-Za-z0-9_.:-]*$")]
_DIGITS = re.compile(r"^\d{8,14}$")
COLUMNS = (
    ("on_hand", "On hand"),
    ("reserved", "Reserved"),
    ("safety_stock", "Safety stock"),
    ("in_transit", "In transit"),
    ("quarantined", "Quarantined"),
    ("available", "Available"),
)
OPEN_ORDERS = ("sent", "partially_received")


def _crumbs(ref: LocationRef) -> tuple[tuple[str, str], ...]:
    return (("/backoffice", "Back office"),)


# ---- shells -------------------------------------------------------------------------------------


@router.get("/stock", response_class=HTMLResponse)
def stock_page() -> HTMLResponse:
    """Stock look-up: one SKU (or barcode) across every location you may see."""
    return shell("Stock look-up", "/backoffice/fragments/stock.html", screen="stock")


@router.get("/stores/{store}/receive", response_class=HTMLResponse)
def receive_page(store: LocationCode) -> HTMLResponse:
    """Goods receipt at a location: against a purchase order or free."""
    return shell(
        f"Goods in · {store}",
        f"/backoffice/fragments/stores/{store}/receive.html",
        screen="receive",
    )


@router.get("/stores/{store}/count", response_class=HTMLResponse)
def count_page(store: LocationCode) -> HTMLResponse:
    """Cycle counts at a location: start one, enter what you count, submit."""
    return shell(
        f"Counts · {store}", f"/backoffice/fragments/stores/{store}/count.html", screen="count"
    )


@router.get("/stores/{store}/transfers", response_class=HTMLResponse)
def transfers_page(store: LocationCode) -> HTMLResponse:
    """Transfers from and to a location: request, pick, receive."""
    return shell(
        f"Transfers · {store}",
        f"/backoffice/fragments/stores/{store}/transfers.html",
        screen="transfers",
    )


# ---- shared pieces ------------------------------------------------------------------------------


def _items(db: Database, ref: LocationRef, skus: Sequence[str]) -> dict[str, catalog.CatalogItem]:
    with db.unit_of_work() as s:
        return catalog.items_by_sku(s, ref.id, skus)


def _line_row(
    sku: str,
    item: catalog.CatalogItem | None,
    cells: Sequence[str],
    *,
    quantity: int | None = None,
) -> str:
    """A row of a line table the page's script fills by scanning (fixed: it is on the document)."""
    codes = " ".join(item.barcodes) if item else ""
    value = "" if quantity is None else str(quantity)
    extra = "".join(f'<td class="num">{c}</td>' for c in cells)
    return (
        f'<tr data-sku="{e(sku)}" data-barcodes="{e(codes)}"><td>{e(sku)}</td>'
        f"<td>{e(item.name if item else '')}</td>{extra}"
        f'<td class="num"><input type="number" min="0" data-type="int" data-optional '
        f'data-field="quantity" value="{value}" aria-label="Quantity of {e(sku)}" size="6"></td>'
        "</tr>"
    )


def _scanner(label: str = "Scan or type a SKU or barcode") -> str:
    return (
        '<div class="row scan">'
        f'<label>{e(label)} <input type="text" data-scan data-focus data-shortcut="/" '
        'autocomplete="off" size="24"></label>'
        '<label>Quantity <input type="number" data-scan-qty min="1" value="1" size="4"></label>'
        '<span class="muted" data-last aria-live="polite"></span></div>'
        '<p class="muted"><kbd>Enter</kbd> adds the scan (<kbd>3*code</kbd> adds three); '
        "<kbd>Ctrl</kbd>+<kbd>Enter</kbd> sends the form.</p>"
    )


def _lines_box(
    store: str,
    head: Sequence[str],
    rows: str,
    *,
    fixed: bool = False,
    keep_zero: bool = False,
    no_qty: bool = False,
) -> str:
    ths = "".join(f"<th>{e(h)}</th>" for h in head)
    flags = "".join(
        f" data-{name}"
        for name, on in (("fixed", fixed), ("keep-zero", keep_zero), ("no-qty", no_qty))
        if on
    )
    return (
        f'<div data-lines="lines" data-lookup="/backoffice/fragments/stores/{e(store)}/lookup.json'
        f'?code={{code}}"{flags}>'
        f"{_scanner()}"
        f"<table><thead><tr>{ths}</tr></thead><tbody>{rows}</tbody></table></div>"
    )


def _form_head() -> str:
    return '<p class="form-error" role="alert"></p><p class="form-ok" role="status"></p>'


# ---- the stock look-up --------------------------------------------------------------------------


def _resolve(db: Database, text: str) -> str:
    """The SKU a barcode names (a SKU stays as it is)."""
    if not _DIGITS.match(text):
        return text
    spellings = set(barcodes.same_item_codes(barcodes.compact(text)))
    with db.unit_of_work() as s:
        found = catalog_admin.search(s, barcode=text, archived=False, per_page=5)
        found_archived = catalog_admin.search(s, barcode=text, archived=True, per_page=5)
    for p in [*found.items, *found_archived.items]:
        for v in p.variants:
            if any(b.code in spellings for b in v.barcodes):
                return v.sku
    return text


@router.get(
    "/fragments/stock.html", response_class=HTMLResponse, responses=error_responses(401, 404, 422)
)
def stock_fragment(principal: PrincipalDep, db: DbDep, sku: Sku = "") -> HTMLResponse:
    """The look-up form and, for a SKU, its stock at every location the caller may see."""
    text = sku.strip()
    form = (
        '<form class="card row" role="search" data-search="/backoffice/stock">'
        '<label>SKU or barcode <input type="search" name="sku" id="sku" data-focus '
        f'data-shortcut="/" value="{e(text)}" autocomplete="off" size="28"></label>'
        '<button type="submit">Look up</button></form>'
    )
    parts = [heading("Stock look-up", ("/backoffice", "Back office")), form]
    if text:
        code = _resolve(db, text)
        try:
            found = stock_view_routes.sku_levels(code, principal, db)
        except NotFound:
            parts.append(
                f'<p class="empty" role="status">No SKU or barcode {e(text)} is known.</p>'
            )
            return fragment("".join(parts))
        rows = []
        totals = dict.fromkeys((c for c, _ in COLUMNS), 0)
        for loc in found.locations:
            cells = ""
            for col, _ in COLUMNS:
                n = int(getattr(loc, col))
                totals[col] += n
                cells += f'<td class="num" data-col="{col}">{n}</td>'
            rows.append(
                f'<tr data-location="{e(loc.location)}"><th scope="row">{e(loc.location_name)} '
                f"({e(loc.location)})</th>{cells}</tr>"
            )
        total = "".join(f'<td class="num" data-col="{c}">{totals[c]}</td>' for c, _ in COLUMNS)
        head = "".join(f'<th class="num" scope="col">{e(t)}</th>' for _, t in COLUMNS)
        parts.append(
            f'<section class="card" aria-labelledby="stock-title" data-sku="{e(found.sku)}">'
            f'<h2 id="stock-title">{e(found.name)} · {e(found.sku)}</h2>'
            + (
                f'<table aria-label="Stock of {e(found.sku)}"><thead><tr><th>Location</th>{head}'
                f'</tr></thead><tbody>{"".join(rows)}</tbody><tfoot><tr class="total">'
                f"<th scope='row'>All shown</th>{total}</tr></tfoot></table>"
                if rows
                else '<p class="empty">No stock record at any location you can see.</p>'
            )
            + '<p class="muted">Available = on hand − reserved − safety stock. In transit is on '
            "its way to that location and not sellable yet; quarantined is returned stock "
            "awaiting inspection.</p></section>"
        )
    return fragment("".join(parts))


# ---- counts -------------------------------------------------------------------------------------

COUNT_STATES = {
    "counting": "Counting",
    "review": "Waiting for a recount or a manager",
    "applied": "Applied to stock",
    "cancelled": "Cancelled",
}


def _signed(n: int | None) -> str:
    return "—" if n is None else f"{n:+d}"


def _is_manager(principal: Principal, ref: LocationRef) -> bool:
    return principal.role == "admin" or (
        principal.role == "manager" and ref.id in principal.location_ids
    )


def _count_list(db: Database, principal: Principal, ref: LocationRef) -> str:
    found = count_routes.list_counts(principal, db, status=None, page=1, per_page=200)
    mine = [c for c in found.items if c.location == ref.code][:30]
    if not mine:
        return '<p class="empty">No counts here yet.</p>'
    rows = "".join(
        f'<tr data-count="{e(c.count_id)}"><td><a data-nav href="/backoffice/stores/'
        f'{e(ref.code)}/count?id={e(c.count_id)}">{e(c.count_id)}</a></td>'
        f"<td>{e(COUNT_STATES.get(c.status, c.status))}</td><td>{len(c.lines)}</td>"
        f"<td>{when(c.started_at)}</td><td>{e(c.note)}</td></tr>"
        for c in mine
    )
    return (
        "<table><thead><tr><th>Count</th><th>Status</th><th>SKUs</th><th>Started</th>"
        f"<th>Note</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _start_count_form(ref: LocationRef) -> str:
    return (
        f'<form id="start-count" class="card" data-api="/stock/counts" data-request="count" '
        f'data-then="/backoffice/stores/{e(ref.code)}/count?id={{count_id}}" '
        'data-done="Count started: count the shelf and enter what you find." '
        'aria-labelledby="start-title"><h2 id="start-title">Start a count</h2>'
        + _form_head()
        + f'<input type="hidden" name="location" value="{e(ref.code)}">'
        '<p class="muted">Scan or type each SKU to count. Sales go on while you count: '
        "what sells after the count starts is taken into account.</p>"
        + _lines_box(ref.code, ("SKU", "Item", ""), "", no_qty=True)
        + '<label>Note <input type="text" name="note" size="40" maxlength="500"></label>'
        '<p><button type="submit">Start the count</button></p></form>'
    )


def _count_detail(count: CountOut, ref: LocationRef, manager: bool, db: Database) -> str:
    items = _items(db, ref, [ln.sku for ln in count.lines])
    open_ = count.status in ("counting", "review")
    review = count.status == "review"
    parts = [
        f'<p class="muted" id="count-status" data-status="{e(count.status)}">'
        f"Count {e(count.count_id)} · {e(COUNT_STATES.get(count.status, count.status))} · "
        f"started {when(count.started_at)}" + (f" · {e(count.note)}" if count.note else "") + "</p>"
    ]
    if count.message:
        parts.append(f'<p role="status">{e(count.message)}</p>')
    if open_:
        rows = "".join(
            _line_row(
                ln.sku,
                items.get(ln.sku),
                [
                    "—" if ln.counted is None else str(ln.counted),
                    *(
                        [str(ln.expected if ln.expected is not None else "—"), str(ln.variance)]
                        if review
                        else []
                    ),
                ],
            ).replace("<tr ", '<tr class="review" ' if ln.needs_review else "<tr ", 1)
            for ln in count.lines
        )
        head = ["SKU", "Item", "Counted so far", *(["Expected", "Variance"] if review else [])]
        parts.append(
            f'<form id="count-form" class="card" data-api="/stock/counts/{e(count.count_id)}/lines"'
            ' data-request="entries" data-done="Counts saved." aria-labelledby="enter-title">'
            + '<h2 id="enter-title">'
            + ("Recount the marked lines" if review else "Enter what you count")
            + "</h2>"
            + _form_head()
            + '<label>Bin or shelf <input type="text" name="bin" size="12" maxlength="64" '
            'placeholder="optional"></label>'
            + _lines_box(ref.code, [*head, "Count now"], rows, fixed=True, keep_zero=True)
            + '<p class="muted">Type 0 for an empty shelf. A SKU entered again in the same bin '
            "replaces what was entered before.</p>"
            '<p><button type="submit">Save counts</button></p></form>'
        )
        if manager and count.status == "counting":
            parts.append(
                f'<form id="submit-count" class="card" data-api="/stock/counts/'
                f'{e(count.count_id)}/submit" data-done="Count submitted." '
                'data-confirm="Submit the count? Lines not counted are left as they are.">'
                "<h2>Finish</h2>" + _form_head() + '<p><button type="submit">Submit the count'
                "</button></p></form>"
            )
        if manager and review:
            parts.append(
                f'<form id="approve-count" class="card" data-api="/stock/counts/'
                f'{e(count.count_id)}/approve" data-done="Decision recorded.">'
                "<h2>Manager decision</h2>" + _form_head() + '<div class="row">'
                '<label>Decision <select name="decision"><option value="approve">Approve the '
                'counts as they are</option><option value="reject">Reject (recount)</option>'
                '</select></label><label>Note <input type="text" name="note" size="30" '
                'maxlength="500"></label><button type="submit">Record</button></div></form>'
            )
    else:
        rows = "".join(
            f'<tr data-sku="{e(ln.sku)}"><td>{e(ln.sku)}</td>'
            f"<td>{e(items[ln.sku].name if ln.sku in items else '')}</td>"
            f'<td class="num">{ln.snapshot_on_hand}</td>'
            f'<td class="num">{"—" if ln.counted is None else ln.counted}</td>'
            f'<td class="num">{"—" if ln.expected is None else ln.expected}</td>'
            f'<td class="num" data-col="delta">{_signed(ln.applied_delta)}</td></tr>'
            for ln in count.lines
        )
        parts.append(
            '<section class="card"><h2>Result</h2><table><thead><tr><th>SKU</th><th>Item</th>'
            '<th class="num">At the snapshot</th><th class="num">Counted</th>'
            '<th class="num">Expected</th><th class="num">Booked</th></tr></thead>'
            f"<tbody>{rows}</tbody></table></section>"
        )
    return "".join(parts)


@router.get(
    "/fragments/stores/{store}/count.html",
    response_class=HTMLResponse,
    responses=error_responses(401, 403, 404, 422),
)
async def count_fragment(
    store: LocationCode,
    principal: PrincipalDep,
    db: DbDep,
    client: ClientDep,
    id: DocId = "",  # noqa: A002  # the page's query string names it so
) -> HTMLResponse:
    """A location's counts, the form to start one; with `id`, one count to enter and submit."""
    ref = floor_location(db, principal, store)
    manager = _is_manager(principal, ref)
    crumbs = _crumbs(ref)
    if id:
        count = await count_routes.get_count(id, principal, db, client)
        if count.location != ref.code:
            raise NotFound(f"There is no count {id} at {ref.code}.")
        return fragment(
            heading(
                f"Count {count.count_id} · {ref.name}",
                *crumbs,
                (f"/backoffice/stores/{ref.code}/count", f"Counts at {ref.code}"),
            )
            + _count_detail(count, ref, manager, db)
        )
    return fragment(
        heading(f"Counts · {ref.name} ({ref.code})", *crumbs)
        + (_start_count_form(ref) if manager else "")
        + '<section class="card"><h2>Counts here</h2>'
        + _count_list(db, principal, ref)
        + "</section>"
    )


# ---- transfers ----------------------------------------------------------------------------------

TRANSFER_STATES = {
    "requested": "Requested: to pick at the source",
    "picked": "Picked: on its way",
    "received": "Received",
    "cancelled": "Cancelled",
}


def _places(db: Database) -> list[tuple[str, str]]:
    with db.unit_of_work() as s:
        return [(loc.code, loc.name) for loc in places_admin.locations(s, include_inactive=False)]


def _transfer_list(db: Database, principal: Principal, ref: LocationRef) -> str:
    found = transfer_routes.list_transfers(
        principal, db, location=ref.code, status=None, page=1, per_page=30
    )
    if not found.items:
        return '<p class="empty">No transfers from or to here yet.</p>'
    rows = "".join(
        f'<tr data-transfer="{e(t.transfer_id)}" data-status="{e(t.status)}"><td><a data-nav '
        f'href="/backoffice/stores/{e(ref.code)}/transfers?id={e(t.transfer_id)}">'
        f"{e(t.transfer_id)}</a></td><td>{e(t.source)}</td><td>{e(t.destination)}</td>"
        f"<td>{e(TRANSFER_STATES.get(t.status, t.status))}</td>"
        f'<td class="num">{sum(ln.requested for ln in t.lines)}</td>'
        f"<td>{when(t.requested_at)}</td></tr>"
        for t in found.items
    )
    return (
        "<table><thead><tr><th>Transfer</th><th>From</th><th>To</th><th>Status</th>"
        f'<th class="num">Units</th><th>Requested</th></tr></thead><tbody>{rows}</tbody></table>'
    )


def _request_form(db: Database, ref: LocationRef) -> str:
    places = _places(db)

    def options(selected: str) -> str:
        return "".join(
            f'<option value="{e(code)}"{" selected" if code == selected else ""}>'
            f"{e(name)} ({e(code)})</option>"
            for code, name in places
        )

    other = next((code for code, _ in places if code != ref.code), "")
    return (
        '<form id="request-transfer" class="card" data-api="/stock/transfers" '
        f'data-then="/backoffice/stores/{e(ref.code)}/transfers?id={{transfer_id}}" '
        'data-done="Transfer requested." aria-labelledby="request-title">'
        '<h2 id="request-title">Request a transfer</h2>' + _form_head() + '<div class="row">'
        f'<label>From <select name="source">{options(other)}</select></label>'
        f'<label>To <select name="destination">{options(ref.code)}</select></label>'
        '<label>Note <input type="text" name="note" size="30" maxlength="500"></label></div>'
        + _lines_box(ref.code, ("SKU", "Item", "Quantity", ""), "")
        + '<p><button type="submit">Request</button></p></form>'
    )


def _transfer_detail(t: TransferOut, ref: LocationRef, db: Database, manager: bool) -> str:
    items = _items(db, ref, [ln.sku for ln in t.lines])
    at_source, at_destination = t.source == ref.code, t.destination == ref.code
    parts = [
        f'<p class="muted" id="transfer-status" data-status="{e(t.status)}">'
        f"{e(t.transfer_id)} · from {e(t.source)} to {e(t.destination)} · "
        f"{e(TRANSFER_STATES.get(t.status, t.status))} · requested {when(t.requested_at)}"
        + (f" · {e(t.note)}" if t.note else "")
        + (f" · for order {e(t.order)}" if t.order else "")
        + "</p>"
    ]
    summary = "".join(
        f'<tr data-sku="{e(ln.sku)}"><td>{e(ln.sku)}</td>'
        f"<td>{e(items[ln.sku].name if ln.sku in items else '')}</td>"
        f'<td class="num">{ln.requested}</td>'
        f'<td class="num">{"—" if ln.picked is None else ln.picked}</td>'
        f'<td class="num" data-col="in_transit">{ln.in_transit}</td>'
        f'<td class="num" data-col="received">{ln.received}</td>'
        f'<td class="num" data-col="short">{ln.short}</td></tr>'
        for ln in t.lines
    )
    parts.append(
        '<section class="card"><h2>Lines</h2><table><thead><tr><th>SKU</th><th>Item</th>'
        '<th class="num">Requested</th><th class="num">Picked</th><th class="num">In transit'
        '</th><th class="num">Received</th><th class="num">Short</th></tr></thead>'
        f"<tbody>{summary}</tbody></table></section>"
    )
    base = f"/stock/transfers/{e(t.transfer_id)}"
    if t.status == "requested" and at_source:
        rows = "".join(
            _line_row(ln.sku, items.get(ln.sku), [str(ln.requested)], quantity=ln.requested)
            for ln in t.lines
        )
        parts.append(
            f'<form id="pick-form" class="card" data-api="{base}/pick" data-done="Picked: the '
            'goods are in transit." aria-labelledby="pick-title"><h2 id="pick-title">Pick</h2>'
            + _form_head()
            + '<p class="muted">Set what you actually picked (fewer than requested is fine; 0 for '
            "none). Picked stock leaves sellable stock here.</p>"
            + _lines_box(
                ref.code, ("SKU", "Item", "Requested", "Picked"), rows, fixed=True, keep_zero=True
            )
            + '<p><button type="submit">Confirm the pick</button></p></form>'
        )
    if t.status == "picked" and at_destination:
        rows = "".join(
            _line_row(ln.sku, items.get(ln.sku), [str(ln.in_transit)])
            for ln in t.lines
            if ln.in_transit > 0
        )
        parts.append(
            f'<form id="receive-form" class="card" data-api="{base}/receive" '
            'data-done="Delivery received." aria-labelledby="receive-title">'
            '<h2 id="receive-title">Receive</h2>'
            + _form_head()
            + '<p class="muted">Scan what arrived. A partial delivery is fine: send the rest when '
            "it comes, or tick “nothing more will come” to book what is missing as a shortage at "
            "the source.</p>"
            + _lines_box(ref.code, ("SKU", "Item", "In transit", "Arrived"), rows, fixed=True)
            + '<label class="inline"><input type="checkbox" name="close"> Nothing more will '
            "come</label>"
            '<p><button type="submit">Book the delivery</button></p></form>'
        )
    if t.status == "requested" and manager:
        parts.append(
            f'<form id="cancel-transfer" class="card" data-api="{base}/cancel" '
            'data-done="Transfer cancelled." data-confirm="Cancel this transfer?">'
            "<h2>Cancel</h2>" + _form_head() + '<div class="row"><label>Reason <input type="text"'
            ' name="reason" size="30" maxlength="500"></label><button type="submit" '
            'class="secondary">Cancel the transfer</button></div></form>'
        )
    return "".join(parts)


@router.get(
    "/fragments/stores/{store}/transfers.html",
    response_class=HTMLResponse,
    responses=error_responses(401, 403, 404, 422),
)
def transfers_fragment(
    store: LocationCode,
    principal: PrincipalDep,
    db: DbDep,
    id: DocId = "",  # noqa: A002  # the page's query string names it so
) -> HTMLResponse:
    """Transfers from and to a location and the request form; with `id`, one transfer to pick,
    receive or cancel."""
    ref = floor_location(db, principal, store)
    manager = _is_manager(principal, ref)
    crumbs = _crumbs(ref)
    if id:
        t = transfer_routes.get_transfer(id, principal, db)
        if ref.code not in (t.source, t.destination):
            raise NotFound(f"There is no transfer {id} from or to {ref.code}.")
        return fragment(
            heading(
                f"Transfer {t.transfer_id}",
                *crumbs,
                (f"/backoffice/stores/{ref.code}/transfers", f"Transfers at {ref.code}"),
            )
            + _transfer_detail(t, ref, db, manager)
        )
    return fragment(
        heading(f"Transfers · {ref.name} ({ref.code})", *crumbs)
        + (_request_form(db, ref) if manager else "")
        + '<section class="card"><h2>From and to here</h2>'
        + _transfer_list(db, principal, ref)
        + "</section>"
    )


# ---- goods receipt ------------------------------------------------------------------------------

ORDER_STATES = {
    "draft": "Draft",
    "sent": "Sent to the supplier",
    "partially_received": "Partly received",
    "received": "Received",
    "closed_short": "Closed short",
    "cancelled": "Cancelled",
}


def _order_state(status: str | None) -> str:
    return ORDER_STATES.get(status or "", status or "")


def _receipt_form(
    ref: LocationRef, rows: str, head: Sequence[str], *, order: OrderOut | None, suppliers: str
) -> str:
    then = f"/backoffice/stores/{e(ref.code)}/receive?receipt={{receipt_id}}"
    title = f"Receive order {e(order.number)}" if order else "Receive goods without an order"
    return (
        f'<form id="receipt-form" class="card" data-api="/stock/receipts" data-then="{then}" '
        f'data-order="{e(order.number) if order else ""}" '
        'data-done="Delivery booked: the goods are sellable now." '
        f'aria-labelledby="receipt-title"><h2 id="receipt-title">{title}</h2>'
        + _form_head()
        + f'<input type="hidden" name="location" value="{e(ref.code)}">'
        + (
            f'<input type="hidden" name="purchase_order" value="{e(order.number)}">'
            if order
            else f'<label>Supplier <select name="supplier" data-optional><option value="">'
            f"(none)</option>{suppliers}</select></label>"
        )
        + _lines_box(ref.code, head, rows)
        + '<label>Delivery note <input type="text" name="delivery_note" size="30" '
        'maxlength="200" placeholder="the supplier\'s delivery note number"></label>'
        + (
            '<label class="inline"><input type="checkbox" name="close_short"> Nothing more will '
            "come for this order (close it short)</label>"
            if order
            else ""
        )
        + '<p><button type="submit">Book the delivery</button></p></form>'
    )


def _receipt_view(r: ReceiptOut) -> str:
    rows = "".join(
        f'<tr data-sku="{e(ln.sku)}"><td>{e(ln.sku)}</td>'
        f'<td class="num">{"—" if ln.expected is None else ln.expected}</td>'
        f'<td class="num" data-col="quantity">{ln.quantity}</td>'
        f'<td class="num" data-col="over">{ln.over}</td>'
        f'<td class="num" data-col="short">{ln.short}</td></tr>'
        for ln in r.lines
    )
    order = (
        f" · order {e(r.purchase_order)} ({e(_order_state(r.purchase_order_status))})"
        if r.purchase_order
        else " · no order"
    )
    return (
        f'<section class="card" id="receipt" data-receipt="{e(r.receipt_id)}">'
        f'<h2>Delivery {e(r.receipt_id)}</h2><p class="muted">Booked {when(r.received_at)}'
        f"{order}{' · supplier ' + e(r.supplier) if r.supplier else ''}"
        f"{' · note ' + e(r.delivery_note) if r.delivery_note else ''}</p>"
        '<table><thead><tr><th>SKU</th><th class="num">Expected</th><th class="num">Arrived'
        '</th><th class="num">Over</th><th class="num">Short</th></tr></thead>'
        f"<tbody>{rows}</tbody></table></section>"
    )


@router.get(
    "/fragments/stores/{store}/receive.html",
    response_class=HTMLResponse,
    responses=error_responses(401, 403, 404, 422),
)
def receive_fragment(
    store: LocationCode,
    principal: PrincipalDep,
    db: DbDep,
    po: DocId = "",
    receipt: DocId = "",
) -> HTMLResponse:
    """Open purchase orders and recent deliveries at a location, and the receipt form (against
    the order `po`, or free); with `receipt`, what one delivery booked."""
    ref = floor_location(db, principal, store)
    crumbs = _crumbs(ref)
    top = (f"/backoffice/stores/{ref.code}/receive", f"Goods in at {ref.code}")
    if not _is_manager(principal, ref):
        return fragment(
            heading(f"Goods in · {ref.name} ({ref.code})", *crumbs)
            + '<p class="empty">Deliveries are booked by a manager of this location.</p>'
        )
    if receipt:
        r = stock_ops_routes.get_receipt(receipt, principal, db)
        return fragment(
            heading(f"Delivery {r.receipt_id}", *crumbs, top)
            + _receipt_view(r)
            + f'<p><a data-nav href="/backoffice/stores/{e(ref.code)}/receive" data-focus>'
            "Book another delivery</a></p>"
        )
    with db.unit_of_work() as s:
        suppliers = "".join(
            f'<option value="{e(x.code)}">{e(x.name)} ({e(x.code)})</option>'
            for x in purchasing.suppliers(s)
        )
    if po:
        order = purchasing_routes.get_order(po, principal, db)
        if order.location != ref.code:
            raise NotFound(f"There is no purchase order {po} for {ref.code}.")
        items = _items(db, ref, [ln.sku for ln in order.lines])
        rows = "".join(
            _line_row(
                ln.sku,
                items.get(ln.sku),
                [str(ln.quantity_ordered), str(ln.quantity_received), str(ln.outstanding)],
            )
            for ln in order.lines
        )
        head = ("SKU", "Item", "Ordered", "Received", "Outstanding", "Arrived now")
        return fragment(
            heading(f"Order {order.number} · {order.supplier}", *crumbs, top)
            + f'<p class="muted">{e(ORDER_STATES.get(order.status, order.status))}'
            + (f" · expected {e(order.expected_on.isoformat())}" if order.expected_on else "")
            + "</p>"
            + _receipt_form(ref, rows, head, order=order, suppliers=suppliers)
        )
    orders = [
        o
        for o in purchasing_routes.list_orders(
            principal, db, location=ref.code, status=None, supplier=None
        )
        if o.status in OPEN_ORDERS
    ]
    order_rows = "".join(
        f'<tr data-order="{e(o.number)}"><td><a data-nav href="/backoffice/stores/'
        f'{e(ref.code)}/receive?po={e(o.number)}">{e(o.number)}</a></td><td>{e(o.supplier)}</td>'
        f"<td>{e(ORDER_STATES.get(o.status, o.status))}</td>"
        f'<td class="num">{sum(ln.outstanding for ln in o.lines)}</td>'
        f"<td>{e(o.expected_on.isoformat() if o.expected_on else '')}</td></tr>"
        for o in orders
    )
    recent = stock_ops_routes.list_receipts(principal, db, location=ref.code, purchase_order=None)
    recent_rows = "".join(
        f'<tr data-receipt="{e(r.receipt_id)}"><td><a data-nav href="/backoffice/stores/'
        f'{e(ref.code)}/receive?receipt={e(r.receipt_id)}">{e(r.receipt_id)}</a></td>'
        f"<td>{e(r.purchase_order or '—')}</td>"
        f'<td class="num">{sum(ln.quantity for ln in r.lines)}</td>'
        f"<td>{when(r.received_at)}</td></tr>"
        for r in recent[:10]
    )
    return fragment(
        heading(f"Goods in · {ref.name} ({ref.code})", *crumbs)
        + '<section class="card"><h2>Purchase orders to receive</h2>'
        + (
            "<table><thead><tr><th>Order</th><th>Supplier</th><th>Status</th>"
            '<th class="num">Units outstanding</th><th>Expected</th></tr></thead>'
            f"<tbody>{order_rows}</tbody></table>"
            if order_rows
            else '<p class="empty">No order is waiting for a delivery here.</p>'
        )
        + "</section>"
        + _receipt_form(ref, "", ("SKU", "Item", "Quantity", ""), order=None, suppliers=suppliers)
        + '<section class="card"><h2>Recent deliveries</h2>'
        + (
            '<table><thead><tr><th>Delivery</th><th>Order</th><th class="num">Units</th>'
            f"<th>Booked</th></tr></thead><tbody>{recent_rows}</tbody></table>"
            if recent_rows
            else '<p class="empty">None yet.</p>'
        )
        + "</section>"
    )
