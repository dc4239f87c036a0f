"""The catalogue for head office and store managers: products, variants, barcodes, prices on price
lists, tax categories (/catalog/...).

Anyone signed in to the back office (manager, fulfilment, finance, admin) reads; an admin, or a
manager with the "catalog" permission, writes (a location's price list only at their own
locations). Every write takes an Idempotency-Key; a product's ETag is "v{version}" and a PATCH or
DELETE needs If-Match (428 without, 412 when stale). Every change is one catalogue outbox row."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Response
from fastapi.responses import JSONResponse

from api import idempotency
from api.deps import DbDep, IdempotencyKey, PrincipalDep
from api.errors import ApiError, error_responses
from api.permissions import CATALOG, require_location, require_permission, require_role
from api.schemas_catalog import (
    NULLABLE,
    PriceIn,
    PriceListOut,
    ProductIn,
    ProductOut,
    ProductPageOut,
    ProductPatchIn,
    TaxCategoryOut,
)
from db.repositories import bookkeeping, catalog_admin
from db.repositories.catalog_admin import ProductView
from db.repositories.users import Principal
from db.session import Database
from domain.catalog_rules import (
    PriceDraft,
    ProductDraft,
    ProductPatch,
    VariantDraft,
    VariantPatch,
    parse_price_list,
)
from domain.errors import CatalogInvalid, CatalogProblem, Conflict

router = APIRouter(prefix="/catalog", tags=["catalogue"])
READERS = ("manager", "fulfilment", "finance")  # and admin
ProductCode = Annotated[str, Path(min_length=1, max_length=64, description="product code")]
IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", max_length=200, description='the ETag you read, e.g. "v3"'),
]
IfNoneMatch = Annotated[str | None, Header(alias="If-None-Match", max_length=200)]
WRITE_ERRORS = error_responses(401, 403, 404, 409, 422)


def _may_read(principal: Principal) -> None:
    require_role(principal, *READERS)


def _may_write(principal: Principal) -> None:
    """An admin, or a manager holding the catalogue permission."""
    if principal.role != "admin":
        require_role(principal, "manager")
    require_permission(principal, CATALOG)


def etag(version: int) -> str:
    return f'"v{version}"'


def _expected_version(if_match: str | None, code: str) -> int | None:
    """The version If-Match names (None for "*"); 428 without one, 412 when unreadable."""
    if if_match is None or not if_match.strip():
        raise ApiError(
            428,
            "precondition_required",
            f"Changing {code} needs If-Match with the ETag you read (GET /catalog/products/"
            f"{code}), so a change made meanwhile is never overwritten.",
        )
    tag = if_match.split(",")[0].strip()
    if tag == "*":
        return None
    tag = tag.removeprefix("W/").strip('"')
    if not (tag.startswith("v") and tag[1:].isdigit()):
        raise ApiError(412, "precondition_failed", f"If-Match {if_match!r} is not an ETag of ours.")
    return int(tag[1:])


def _out(view: ProductView) -> dict[str, Any]:
    return ProductOut.model_validate(
        dict(
            code=view.code,
            name=view.name,
            description=view.description,
            category=view.category,
            tax_category=view.tax_category,
            store_only=view.store_only,
            online_only=view.online_only,
            tracks_stock=view.tracks_stock,
            serialized=view.serialized,
            lot_tracked=view.lot_tracked,
            cost_price=view.cost_price,
            cost_currency=view.cost_currency,
            active=view.active,
            version=view.version,
            updated_at=view.updated_at,
            variants=[
                {
                    "sku": v.sku,
                    "name": v.name,
                    "attributes": {str(k): str(x) for k, x in v.attributes.items()},
                    "active": v.active,
                    "barcodes": [{"code": b.code, "kind": b.kind} for b in v.barcodes],
                }
                for v in view.variants
            ],
            prices=[
                {
                    "price_list": p.price_list,
                    "sku": p.sku,
                    "amount": p.amount,
                    "currency": p.currency,
                    "valid_from": p.valid_from,
                    "valid_to": p.valid_to,
                }
                for p in view.prices
            ],
        )
    ).model_dump(mode="json")


def _problems(err: CatalogInvalid) -> JSONResponse:
    """A 422 naming every problem (field, code, message), not only the first."""
    problems = [
        p if isinstance(p, dict) else {"field": p.field, "code": p.code, "message": p.message}
        for p in err.problems
    ]
    return JSONResponse(
        {"error": {"code": err.code, "message": err.message, "problems": problems}},
        status_code=422,
    )


def _write(
    db: Database,
    principal: Principal,
    key: str | None,
    operation: str,
    request: Any,
    status: int,
    run: Callable[[], ProductView],
) -> JSONResponse:
    """Run a write once per Idempotency-Key (a replay answers the first result), answer the
    product with its ETag."""
    scope = f"{principal.user_id}:catalog:{operation}"
    digest = idempotency.request_hash(request)
    replayed = idempotency.replay(db, scope, key, digest)
    if replayed is not None:
        version = _version_of(replayed)
        if version is not None:
            replayed.headers["ETag"] = etag(version)
        return replayed
    try:
        view = run()
    except CatalogInvalid as err:
        return _problems(err)
    except Conflict as err:
        if err.code != catalog_admin.VERSION_MISMATCH:
            raise
        raise ApiError(412, "precondition_failed", err.message) from None
    payload = _out(view)
    idempotency.remember(db, scope, key, digest, status, payload)
    return JSONResponse(payload, status_code=status, headers={"ETag": etag(view.version)})


def _version_of(response: JSONResponse) -> int | None:
    try:
        data = json.loads(bytes(response.body))
    except ValueError:
        return None
    version = data.get("version") if isinstance(data, dict) else None
    return version if isinstance(version, int) else None


def _check_list_access(principal: Principal, db: Database, price_list: str) -> None:
    """A location's price list only by an admin or someone working at that location."""
    parsed = parse_price_list(price_list)
    if parsed is None or parsed[0] != "location" or principal.role == "admin":
        return
    code = parsed[1] or ""
    with db.unit_of_work() as s:
        location_id = catalog_admin.location_id(s, code)
    if location_id is not None:  # an unknown one is refused with the price itself
        require_location(principal, location_id, code)


def _price_draft(p: PriceIn) -> PriceDraft:
    return PriceDraft(
        price_list=p.price_list,
        sku=p.sku,
        amount=p.amount,
        currency=p.currency,
        valid_from=p.valid_from,
        valid_to=p.valid_to,
    )


# ---- reads --------------------------------------------------------------------------------


@router.get("/products", response_model=ProductPageOut, responses=error_responses(401, 403, 422))
def list_products(
    principal: PrincipalDep,
    db: DbDep,
    q: Annotated[
        str | None, Query(max_length=200, description="part of the name, code or a SKU")
    ] = None,
    sku: Annotated[
        str | None, Query(max_length=65, description="a SKU, or a prefix ending in *")
    ] = None,
    barcode: Annotated[str | None, Query(max_length=64, description="a barcode")] = None,
    archived: Annotated[bool, Query(description="true: only archived products")] = False,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Any:
    """Search the catalogue (every filter given must match), a page at a time, by product code."""
    _may_read(principal)
    with db.unit_of_work() as s:
        found = catalog_admin.search(
            s, q=q, sku=sku, barcode=barcode, archived=archived, page=page, per_page=per_page
        )
    return {
        "items": [_out(v) for v in found.items],
        "page": found.page,
        "per_page": found.per_page,
        "total": found.total,
    }


@router.get(
    "/products/{code}",
    response_model=ProductOut,
    responses={**error_responses(401, 403, 404, 422), 304: {"description": "Not modified"}},
)
def get_product(
    code: ProductCode,
    principal: PrincipalDep,
    db: DbDep,
    history: Annotated[bool, Query(description="include prices that no longer hold")] = False,
    if_none_match: IfNoneMatch = None,
) -> Any:
    """A product (archived ones too) with its variants, barcodes and its current and scheduled
    prices; the ETag header is what a PATCH or DELETE sends back in If-Match."""
    _may_read(principal)
    with db.unit_of_work() as s:
        view = catalog_admin.product(s, code, history=history)
    if view is None:
        raise ApiError(404, "not_found", f"There is no product {code}.")
    tag = etag(view.version)
    if if_none_match and tag in [t.strip() for t in if_none_match.split(",")]:
        return Response(status_code=304, headers={"ETag": tag})
    return JSONResponse(_out(view), headers={"ETag": tag})


@router.get("/price-lists", response_model=list[PriceListOut], responses=error_responses(401, 403))
def list_price_lists(principal: PrincipalDep, db: DbDep) -> Any:
    """Every price list: "default", "location:{CODE}" per location, "webstore:{CODE}" per web
    store. A web store charges its own list's price, else its pricing location's, else the
    default; a till its location's, else the default."""
    _may_read(principal)
    with db.unit_of_work() as s:
        return [PriceListOut(**vars(pl)) for pl in catalog_admin.price_lists(s)]


@router.get(
    "/tax-categories", response_model=list[TaxCategoryOut], responses=error_responses(401, 403)
)
def list_tax_categories(principal: PrincipalDep, db: DbDep) -> Any:
    """The tax categories a product can be in (each location has its rate for each)."""
    _may_read(principal)
    with db.unit_of_work() as s:
        return [TaxCategoryOut(code=t.code, name=t.name) for t in catalog_admin.tax_categories(s)]


# ---- writes -------------------------------------------------------------------------------


@router.post("/products", response_model=ProductOut, status_code=201, responses=WRITE_ERRORS)
def create_product(
    body: ProductIn, principal: PrincipalDep, db: DbDep, idempotency_key: IdempotencyKey = None
) -> Any:
    """A new product with its variants, barcodes and (optionally) prices.

    422 with every problem listed (`bad_barcode`, `bad_sku`, `channel_conflict`,
    `unknown_tax_category`, `bad_price_period`, …); 409 `duplicate_product`, `duplicate_sku` or
    `duplicate_barcode` when another product has that code, SKU or barcode."""
    _may_write(principal)
    for p in body.prices:
        _check_list_access(principal, db, p.price_list)
    draft = ProductDraft(
        code=body.code,
        name=body.name,
        tax_category=body.tax_category,
        description=body.description,
        category=body.category,
        store_only=body.store_only,
        online_only=body.online_only,
        tracks_stock=body.tracks_stock,
        serialized=body.serialized,
        lot_tracked=body.lot_tracked,
        cost_price=body.cost_price,
        cost_currency=body.cost_currency,
        active=body.active,
        variants=tuple(
            VariantDraft(
                sku=v.sku,
                name=v.name,
                attributes=dict(v.attributes),
                active=v.active,
                barcodes=tuple(v.barcodes),
            )
            for v in body.variants
        ),
    )
    prices = [_price_draft(p) for p in body.prices]

    def run() -> ProductView:
        with db.unit_of_work() as s:
            return catalog_admin.create_product(s, draft, prices)

    return _write(db, principal, idempotency_key, "create", body.model_dump(mode="json"), 201, run)


@router.patch("/products/{code}", response_model=ProductOut, responses=WRITE_ERRORS)
def update_product(
    code: ProductCode,
    body: ProductPatchIn,
    principal: PrincipalDep,
    db: DbDep,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Change the fields given; variants are upserted by SKU. Needs If-Match: 428 without it,
    412 `precondition_failed` when the product changed since it was read."""
    _may_write(principal)
    expected = _expected_version(if_match, code)
    given = body.model_fields_set - {"variants"}
    nulls = sorted(f for f in given if getattr(body, f) is None and f not in NULLABLE)
    if nulls:
        return _problems(
            CatalogInvalid([CatalogProblem(f, "required", f"{f} cannot be null.") for f in nulls])
        )
    changes = {f: getattr(body, f) for f in given}
    if "cost_price" in changes and changes["cost_price"] is None:
        changes["cost_currency"] = None  # no cost: no cost currency either
    variants = tuple(
        VariantPatch(
            sku=v.sku,
            changes={
                f: getattr(v, f) for f in v.model_fields_set - {"sku"} if getattr(v, f) is not None
            },
        )
        for v in body.variants or []
    )
    patch = ProductPatch(changes=changes, variants=variants)

    def run() -> ProductView:
        with db.unit_of_work() as s:
            return catalog_admin.update_product(s, code, patch, expected_version=expected)

    request = {"code": code, "if_match": if_match, "body": body.model_dump(mode="json")}
    return _write(db, principal, idempotency_key, f"update:{code}", request, 200, run)


@router.delete("/products/{code}", response_model=ProductOut, responses=WRITE_ERRORS)
def archive_product(
    code: ProductCode,
    principal: PrincipalDep,
    db: DbDep,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Archive a product: no longer sold on any channel (the web stores archive it too), its
    history kept; PATCH active=true brings it back. Needs If-Match like PATCH."""
    _may_write(principal)
    expected = _expected_version(if_match, code)

    def run() -> ProductView:
        with db.unit_of_work() as s:
            return catalog_admin.archive_product(s, code, expected_version=expected)

    request = {"code": code, "if_match": if_match}
    return _write(db, principal, idempotency_key, f"archive:{code}", request, 200, run)


@router.post("/products/{code}/prices", response_model=ProductOut, responses=WRITE_ERRORS)
def schedule_price(
    code: ProductCode,
    body: PriceIn,
    principal: PrincipalDep,
    db: DbDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Put a price on a price list from `valid_from` (default now; never in the past) until
    `valid_to` (default: open; after it, what held before resumes). Earlier prices are kept, so
    every sale can be priced as of its time. A location's list: only at your own locations."""
    _may_write(principal)
    _check_list_access(principal, db, body.price_list)
    draft = _price_draft(body)

    def run() -> ProductView:
        with db.unit_of_work() as s:
            view = catalog_admin.schedule_price(s, code, draft)
            bookkeeping.audit(
                s,
                action="catalog.price_scheduled",
                subject=f"product:{code}",
                actor_user_id=principal.user_id,
                detail={"by": principal.username, **body.model_dump(mode="json")},
            )
            return view

    request = {"code": code, "body": body.model_dump(mode="json")}
    return _write(db, principal, idempotency_key, f"price:{code}", request, 200, run)
