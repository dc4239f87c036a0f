"""Web store connections (admin) and the order exception queue (managers and admin)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from anyio import from_thread
from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool

from api.deps import ClientDep, DbDep, PrincipalDep, SettingsDep
from api.errors import ApiError, error_responses
from api.online import signal_retry
from api.routes.storefront import key_hash
from api.routes.webstore_webhooks import forget_store
from api.schemas_webstore import (
    ExceptionOut,
    RotateIn,
    RotateOut,
    StoreLocationIn,
    WebStoreIn,
    WebStoreOut,
)
from db.repositories import availability, bookkeeping, order_exceptions, webstores
from db.repositories.users import Principal
from domain.errors import Conflict, InvalidRequest, NotFound

router = APIRouter(prefix="/webstores", tags=["web stores"])
Code = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
EXCEPTION_ROLES = frozenset({"manager", "admin"})


def _admin(principal: Principal) -> None:
    if principal.role != "admin":
        raise ApiError(403, "forbidden", "Only an admin manages web store connections.")


def _out(store: webstores.StoreConfig, base: str, key: str | None = None) -> WebStoreOut:
    hook = {
        "shopify": f"{base}/webhooks/shopify/{store.code}",
        "woocommerce": f"{base}/webhooks/woocommerce/{store.code}",
        "magento": f"{base}/webhooks/magento/{store.code}",
    }.get(store.platform, "")
    return WebStoreOut(
        code=store.code,
        platform=store.platform,
        name=store.name,
        currency=store.currency,
        shop_domain=store.shop_domain,
        active=store.active,
        webhook_url=hook,
        storefront_key=key,
        locations=[
            StoreLocationIn(location=loc.code, external_id=loc.external_id)
            for loc in store.locations
        ],
    )


@router.post(
    "",
    response_model=WebStoreOut,
    status_code=201,
    responses=error_responses(401, 403, 404, 409, 422),
)
def add_store(
    body: WebStoreIn, principal: PrincipalDep, db: DbDep, request: Request
) -> WebStoreOut:
    """Connect a Shopify / WooCommerce store or our own storefront; a storefront key is shown
    once."""
    _admin(principal)
    key = (
        f"sfk_{secrets.token_urlsafe(24)}"
        if body.platform == "web" or body.storefront_key
        else None
    )
    with db.unit_of_work() as s:
        locations = []
        for loc in body.locations:
            loc_id = availability.location_id_by_code(s, loc.location)
            if loc_id is None:
                raise NotFound(f"There is no location {loc.location}.")
            locations.append((loc_id, loc.external_id))
        pricing = None
        if body.pricing_location:
            pricing = availability.location_id_by_code(s, body.pricing_location)
            if pricing is None:
                raise NotFound(f"There is no location {body.pricing_location}.")
        elif body.platform == "web":
            pricing = locations[0][0] if locations else None
            if pricing is None:
                raise InvalidRequest(
                    "Our storefront needs a pricing_location or at least one location."
                )
        store = webstores.add_store(
            s,
            webstores.NewStore(
                code=body.code,
                platform=body.platform,
                name=body.name,
                currency=body.currency,
                shop_domain=body.shop_domain,
                api_base_url=body.api_base_url,
                webhook_secret=body.webhook_secret,
                access_token=body.access_token,
                consumer_key=body.consumer_key,
                consumer_secret=body.consumer_secret,
                storefront_key_hash=key_hash(key) if key else None,
                pricing_location_id=pricing,
            ),
            locations,
        )
        if store is None:
            raise Conflict(f"A web store with code {body.code} exists already.")
        bookkeeping.audit(
            s,
            action="webstore.add",
            subject=f"webstore:{body.code}",
            actor_user_id=principal.user_id,
            detail={"platform": body.platform},
        )
    return _out(store, str(request.base_url).rstrip("/"), key)


@router.post(
    "/{code}/rotate", response_model=RotateOut, responses=error_responses(401, 403, 404, 422)
)
def rotate(
    code: Code, body: RotateIn, principal: PrincipalDep, db: DbDep, settings: SettingsDep
) -> RotateOut:
    """Replace the storefront key and / or the webhook secret without downtime: the previous
    ones stay valid for `overlap_hours` (default TILLFLOW_SECRET_ROTATION_HOURS), so the web store
    or storefront can switch over in its own time. The new storefront key is shown once."""
    _admin(principal)
    if not body.storefront_key and body.webhook_secret is None:
        raise InvalidRequest("Say what to rotate: storefront_key and / or webhook_secret.")
    hours = settings.secret_rotation_hours if body.overlap_hours is None else body.overlap_hours
    until = datetime.now(UTC) + timedelta(hours=hours)
    key = f"sfk_{secrets.token_urlsafe(24)}" if body.storefront_key else None
    with db.unit_of_work() as s:
        store = webstores.rotate_secrets(
            s,
            code,
            storefront_key_hash=key_hash(key) if key else None,
            webhook_secret=body.webhook_secret,
            previous_valid_until=until,
        )
        if store is None:
            raise NotFound(f"There is no web store {code}.")
        forget_store(code)
        bookkeeping.audit(
            s,
            action="webstore.rotate",
            subject=f"webstore:{code}",
            actor_user_id=principal.user_id,
            detail={
                "storefront_key": bool(key),
                "webhook_secret": body.webhook_secret is not None,
                "previous_valid_until": until.isoformat(),
            },
        )
    return RotateOut(code=code, storefront_key=key, previous_valid_until=until)


@router.get("", response_model=list[WebStoreOut], responses=error_responses(401, 403))
def list_stores(principal: PrincipalDep, db: DbDep, request: Request) -> list[WebStoreOut]:
    """Every connection (secrets are never shown)."""
    _admin(principal)
    with db.unit_of_work() as s:
        found = webstores.stores(s, active_only=False)
    return [_out(st, str(request.base_url).rstrip("/")) for st in found]


@router.delete("/{code}", status_code=204, responses=error_responses(401, 403, 404))
def disconnect(code: Code, principal: PrincipalDep, db: DbDep) -> None:
    """Disconnect a web store: its webhooks are refused and stock is no longer pushed to it."""
    _admin(principal)
    with db.unit_of_work() as s:
        if not webstores.set_active(s, code, False):
            raise NotFound(f"There is no web store {code}.")
        bookkeeping.audit(
            s,
            action="webstore.disconnect",
            subject=f"webstore:{code}",
            actor_user_id=principal.user_id,
        )


@router.get(
    "/exceptions", response_model=list[ExceptionOut], responses=error_responses(401, 403, 422)
)
def exceptions(
    principal: PrincipalDep,
    db: DbDep,
    status: Annotated[Literal["open", "resolved", "all"], Query()] = "open",
    order: Annotated[
        str | None, Query(max_length=200, description="an order's workflow id")
    ] = None,
) -> list[ExceptionOut]:
    """Online orders waiting for a person: unknown SKUs, no stock, a refused web store call."""
    if principal.role not in EXCEPTION_ROLES:
        raise ApiError(
            403, "forbidden", f"A {principal.role} cannot see the order exception queue."
        )
    with db.unit_of_work() as s:
        rows = order_exceptions.listing(
            s, status=None if status == "all" else status, workflow_id=order
        )
    return [
        ExceptionOut(
            id=r.id,
            workflow_id=r.workflow_id,
            source=r.source,
            store=r.store_code,
            external_id=r.external_id,
            kind=r.kind,
            sku=r.sku,
            reason=r.reason,
            status=r.status,
            created_at=r.created_at,
            detail=r.detail,
        )
        for r in rows
    ]


@router.post(
    "/exceptions/{exception_id}/retry",
    status_code=202,
    responses=error_responses(401, 403, 404, 409),
)
async def retry(
    exception_id: Annotated[int, Path(ge=1, le=2**63 - 1)],  # order_exceptions.id is a BIGINT
    principal: PrincipalDep,
    db: DbDep,
    client: ClientDep,
) -> Any:
    """After fixing the cause (catalogue, stock): let the order map and route again, and mark the
    entry resolved; when the order cannot be told (it has ended: 409), the entry stays open."""
    if principal.role not in EXCEPTION_ROLES:
        raise ApiError(
            403, "forbidden", f"A {principal.role} cannot act on the order exception queue."
        )

    def retry_and_resolve() -> order_exceptions.ExceptionView:
        # All or nothing: the row stays locked while the order is signalled, and it is marked
        # resolved only once the signal is in; a refused or failed signal rolls everything back.
        with db.unit_of_work() as s:
            found = order_exceptions.locked(s, exception_id)
            if found is None:
                raise NotFound(f"There is no exception {exception_id}.")
            if found.status != "open":
                raise Conflict(f"Exception {exception_id} is resolved already.")
            if not from_thread.run(signal_retry, client, found.workflow_id):
                raise Conflict("That order has ended; it cannot be retried.")
            order_exceptions.resolve(s, exception_id)
            bookkeeping.audit(
                s,
                action="webstore.exception_retry",
                subject=f"exception:{exception_id}",
                actor_user_id=principal.user_id,
                workflow_id=found.workflow_id,
            )
            return found

    found = await run_in_threadpool(retry_and_resolve)
    return {"retried": True, "workflow_id": found.workflow_id}
