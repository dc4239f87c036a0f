"""Catalogue sync with the web stores: a full resync on demand, and the conflict list (a web
store's admin changed what tillflow owns) with its resolution. Admins, and managers holding the
catalogue permission."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool

from api import idempotency
from api.deps import ClientDep, DbDep, IdempotencyKey, PrincipalDep, SettingsDep
from api.errors import error_responses
from api.permissions import CATALOG, require_permission, require_role
from api.schemas_catalog_sync import ConflictOut, ConflictPage, ResolveIn, ResyncIn, ResyncOut
from contracts.catalog import SOURCE_TILLFLOW, request_resync, signal_changed, sync_request
from db.repositories import bookkeeping, catalog_outbox, webstores
from db.repositories import catalog_sync as repo
from db.repositories.users import Principal
from db.session import Database
from domain import barcodes
from domain.errors import Conflict, InvalidRequest, NotFound

router = APIRouter(tags=["catalogue sync"])
Code = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
ConflictId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _may(principal: Principal) -> None:
    require_role(principal, "manager")
    require_permission(principal, CATALOG)


def _out(c: repo.ConflictView) -> ConflictOut:
    return ConflictOut(
        id=c.id,
        store=c.store,
        platform=c.platform,
        product_code=c.product_code,
        sku=c.sku,
        field=c.field,  # type: ignore[arg-type]  # the CHECK constraint keeps it one of these
        tillflow_value=c.tillflow_value,
        webstore_value=c.webstore_value,
        currency=c.currency,
        status=c.status,  # type: ignore[arg-type]  # as above
        resolution=c.resolution,
        detected_at=c.detected_at,
        resolved_at=c.resolved_at,
    )


async def _idempotent(db: Database, scope: str, key: str | None, payload: Any, run: Any) -> Any:
    async def answer() -> idempotency.Answer:
        return idempotency.Answer(*await run())

    return await idempotency.once(db, scope, key, payload, answer)


def _sync_store(db: Database, code: str, products: tuple[str, ...] = ()) -> webstores.StoreConfig:
    with db.unit_of_work() as s:
        store = webstores.store(s, code, active_only=True)
        unknown = repo.unknown_products(s, products)
    if unknown:
        raise InvalidRequest(f"No such product: {', '.join(unknown[:10])}.", code="unknown_product")
    if store is None:
        raise NotFound(f"There is no web store {code} connected.")
    if store.platform not in ("shopify", "woocommerce", "magento"):
        raise InvalidRequest(
            f"Web store {code} is tillflow's own storefront: it reads the catalogue directly.",
            code="no_catalog_sync",
        )
    return store


@router.post(
    "/webstores/{code}/catalog/resync",
    status_code=202,
    response_model=ResyncOut,
    responses=error_responses(401, 403, 404, 422, 503),
)
async def resync(
    code: Code,
    principal: PrincipalDep,
    db: DbDep,
    client: ClientDep,
    settings: SettingsDep,
    body: ResyncIn | None = None,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Send every product sold online (or the `products` given) to the web store again, whether
    or not they changed: its CatalogSync runs the resync next."""
    _may(principal)
    products = tuple(dict.fromkeys(body.products)) if body else ()

    async def run() -> tuple[int, dict[str, Any]]:
        store = await run_in_threadpool(_sync_store, db, code, products)
        workflow_id = await request_resync(
            client,
            sync_request(settings, store.code),
            principal.username,
            products=products,
            task_queue=settings.web_task_queue,
        )
        await run_in_threadpool(
            _audit, db, principal, "catalog.resync", f"webstore:{code}", {"products": products}
        )
        out = ResyncOut(store=store.code, workflow_id=workflow_id, products=list(products))
        return 202, out.model_dump(mode="json")

    return await _idempotent(
        db, f"catalog-resync:{code}", idempotency_key, {"code": code, "products": products}, run
    )


def _audit(
    db: Database, principal: Principal, action: str, subject: str, detail: dict[str, Any]
) -> None:
    with db.unit_of_work() as s:
        bookkeeping.audit(
            s, action=action, subject=subject, actor_user_id=principal.user_id, detail=detail
        )


@router.get(
    "/catalog/conflicts", response_model=ConflictPage, responses=error_responses(401, 403, 422)
)
def conflicts(
    principal: PrincipalDep,
    db: DbDep,
    status: Annotated[Literal["open", "resolved", "all"], Query()] = "open",
    store: Annotated[str | None, Query(max_length=64, description="a web store's code")] = None,
    product: Annotated[str | None, Query(max_length=64, description="a product code")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ConflictPage:
    """Changes made in a web store's own admin to what tillflow owns (price, barcode, and titles /
    descriptions unless the store owns them), products deleted there, and products made there that
    tillflow does not know; newest first."""
    _may(principal)
    with db.unit_of_work() as s:
        rows, total = repo.conflicts(
            s,
            status=None if status == "all" else status,
            store_code=store,
            product_code=product,
            limit=per_page,
            offset=(page - 1) * per_page,
        )
    return ConflictPage(items=[_out(r) for r in rows], page=page, per_page=per_page, total=total)


def _resolve(db: Database, principal: Principal, conflict_id: int, keep: str) -> ConflictOut:
    """All in one transaction: the value kept, the outbox row that sends it, the mark, the audit."""
    with db.unit_of_work() as s:
        found = repo.conflict_for_update(s, conflict_id)
        if found is None:
            raise NotFound(f"There is no catalogue conflict {conflict_id}.")
        if found.status != "open":
            raise Conflict(f"Conflict {conflict_id} is resolved already.", code="conflict_resolved")
        store = webstores.store(s, found.store)
        assert store is not None  # the conflict's foreign key
        if keep == "webstore":
            _keep_webstore(s, found, store)
        if found.product_code:
            catalog_outbox.record(
                s,
                found.product_code,
                "upsert",
                fields=[found.field],
                source=SOURCE_TILLFLOW,
                detail={"conflict": conflict_id, "keep": keep, "store": store.code},
            )
        repo.resolve_conflict(s, conflict_id, keep, principal.user_id)
        bookkeeping.audit(
            s,
            action="catalog.conflict_resolved",
            subject=f"catalog_conflict:{conflict_id}",
            actor_user_id=principal.user_id,
            detail={"keep": keep, "field": found.field, "product": found.product_code},
        )
        done = repo.conflict_for_update(s, conflict_id)
        assert done is not None
        return _out(done)


def _keep_webstore(s: Any, c: repo.ConflictView, store: webstores.StoreConfig) -> None:
    if c.field in ("title", "description"):
        repo.set_text(s, c.product_code, c.field, c.webstore_value)
    elif c.field == "price":
        repo.set_store_price(
            s, c.sku, store.id, int(c.webstore_value), c.currency or store.currency
        )
    elif c.field == "barcode":
        if not c.webstore_value:
            raise InvalidRequest(
                "The web store's barcode is empty; a variant keeps its barcode in tillflow.",
                code="bad_barcode",
            )
        try:
            checked = barcodes.check(c.webstore_value)
        except barcodes.BadBarcode as err:
            raise InvalidRequest(str(err), code="bad_barcode") from None
        repo.replace_barcode(s, c.sku, c.tillflow_value, checked.code, checked.kind)
    elif c.field == "deleted":
        repo.save_link(s, store.id, c.product_code, excluded=True)
    else:
        raise InvalidRequest(
            "tillflow does not know this product: create it in the catalogue first (it is then "
            "linked by its SKU), then resolve this with keep=tillflow.",
            code="unknown_product",
        )


@router.post(
    "/catalog/conflicts/{conflict_id}/resolve",
    response_model=ConflictOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def resolve(
    conflict_id: ConflictId,
    body: ResolveIn,
    principal: PrincipalDep,
    db: DbDep,
    client: ClientDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Decide a conflict: keep tillflow's value (sent to the store again) or the web store's
    (written to tillflow: a title or description to the product, a price to the store's own price
    list, a barcode to the variant; a deletion keeps the product off that store)."""
    _may(principal)

    async def run() -> tuple[int, dict[str, Any]]:
        out = await run_in_threadpool(_resolve, db, principal, conflict_id, body.keep)
        # CatalogSync finds the outbox row anyway; the nudge only saves it a poll.
        await signal_changed(client, out.store, "conflict resolved")
        return 200, out.model_dump(mode="json")

    return await _idempotent(
        db, f"catalog-conflict:{conflict_id}", idempotency_key, body.model_dump(), run
    )
