"""Our own storefront API for a custom website: availability, carts with short holds, checkout,
order status.

Auth: each web store connection may have a storefront key (`X-Storefront-Key`); it scopes every call
to that store's locations, and a cart or order of another store is simply not found.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.concurrency import run_in_threadpool

from api import idempotency, ratelimit, storefront_pricing
from api.deps import ClientDep, DbDep, IdempotencyKey, SettingsDep
from api.errors import ApiError, error_responses
from api.online import checkout_order, describe, open_cart, steer_cart
from api.schemas_webstore import (
    AvailabilityOut,
    CartIn,
    CartLineIn,
    CartLineOut,
    CartOut,
    CartQuantityIn,
    CheckoutIn,
    CheckoutOut,
    LocationAvailability,
    OrderOut,
    PlacedLineOut,
)
from contracts.cart import CartLineChange, CartRequest, CartState
from contracts.online import OnlineOrderRequest, PointsUse, online_order_workflow_id
from contracts.promotions import pin_to_json
from db.promotion_pricing import refuse_coupons
from db.repositories import (
    availability,
    carts,
    customers,
    loyalty,
    online_orders,
    reservations,
    webstores,
)
from db.session import Database
from domain import routing
from domain.errors import InvalidRequest, NotFound
from domain.online_orders import ExternalLine, ExternalOrder, ShippingAddress
from tillflow.settings import Settings

# Every call is rate limited per storefront key and per address (429 with Retry-After).
router = APIRouter(
    prefix="/storefront",
    tags=["storefront"],
    dependencies=[ratelimit.STOREFRONT],
    responses=ratelimit.RATE_LIMITED,
)
CartId = Annotated[str, Path(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
SkuPath = Annotated[str, Path(min_length=1, max_length=64)]


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def storefront_store(
    db: DbDep,
    x_storefront_key: Annotated[
        str | None, Header(description="the web store's storefront API key")
    ] = None,
) -> webstores.StoreConfig:
    if not x_storefront_key:
        raise ApiError(401, "unauthorized", "This needs the web store's 'X-Storefront-Key' header.")
    with db.unit_of_work() as s:
        store = webstores.store_by_key_hash(s, key_hash(x_storefront_key.strip()))
    if store is None:
        raise ApiError(
            401, "unauthorized", "This storefront key is unknown or its web store is disconnected."
        )
    return store


StoreDep = Annotated[webstores.StoreConfig, Depends(storefront_store)]


@router.get(
    "/availability", response_model=AvailabilityOut, responses=error_responses(401, 404, 422)
)
def availability_of(
    store: StoreDep,
    db: DbDep,
    sku: Annotated[str, Query(min_length=1, max_length=64, description="SKU or barcode")],
) -> Any:
    """Available to promise per location and in total (what this web store can sell now)."""
    with db.unit_of_work() as s:
        ours = availability.resolve_skus(s, [sku]).get(sku.strip())
        if ours is None:
            raise NotFound(f"No product has SKU or barcode {sku}.")
        flags = availability.product_flags(s, [ours]).get(ours, routing.ProductFlags())
        sites = availability.sites(s, [ours], store.location_ids or None)
        names = availability.location_names(s, [site.location_id for site in sites])
    out = []
    for site in sites:
        ships = routing.may_ship(site, flags)
        pickup = site.kind == routing.STORE and not (flags.store_only or flags.online_only)
        out.append(
            LocationAvailability(
                code=site.code,
                name=names.get(site.location_id, site.code),
                kind=site.kind,
                available=site.has(ours) if (ships or pickup) else 0,
                ships=ships,
                pickup=pickup,
            )
        )
    return AvailabilityOut(sku=ours, total=sum(loc.available for loc in out), locations=out)


def _cart_out(state: CartState, codes: dict[int, str]) -> dict[str, Any]:
    return CartOut(
        cart_id=state.cart_id,
        status=state.status,
        expires_at=state.expires_at,
        pickup_location=codes.get(state.pickup_location_id) if state.pickup_location_id else None,
        lines=[
            CartLineOut(sku=ln.sku, quantity=ln.quantity, location=ln.location_code)
            for ln in state.lines
        ],
    ).model_dump(mode="json")


def _codes(db: Database, ids: list[int | None]) -> dict[int, str]:
    with db.unit_of_work() as s:
        return availability.location_codes(s, [i for i in ids if i is not None])


# The shopper session open carts are capped by: the storefront's own session id in this header (a
# storefront that calls us from its server must send it, or all its shoppers share one address),
# else the caller's address. Only a hash of it is kept, scoped to the web store.
SHOPPER_HEADER = "X-Shopper-Session"
ShopperSession = Annotated[
    str | None,
    Header(
        alias=SHOPPER_HEADER,
        max_length=200,
        description="the shopper's session id on the storefront; caps open carts per shopper "
        "(without it, the caller's address stands for the shopper)",
    ),
]


def shopper_of(store: webstores.StoreConfig, session: str | None, request: Request) -> str:
    """A hash naming the shopper (session, else address) within this web store; never the raw
    value."""
    who = f"session:{session.strip()}" if session and session.strip() else None
    who = who or f"address:{ratelimit.address_of(request)}"
    return hashlib.sha256(f"{store.code}\n{who}".encode()).hexdigest()[:32]


def _cart_request(
    db: Database,
    store: webstores.StoreConfig,
    cart_id: str,
    pickup: str | None,
    settings: Settings,
    shopper: str = "",
) -> CartRequest:
    pickup_id = None
    if pickup:
        with db.unit_of_work() as s:
            pickup_id = availability.location_id_by_code(s, pickup)
        if pickup_id is None or (store.location_ids and pickup_id not in store.location_ids):
            raise NotFound(f"{pickup} is not a pickup store of this web store.")
    return CartRequest(
        cart_id=cart_id,
        store_code=store.code,
        store_id=store.id,
        location_ids=store.location_ids,
        pickup_location_id=pickup_id,
        ttl_s=settings.cart_ttl_minutes * 60,
        max_lifetime_s=settings.cart_max_lifetime_minutes * 60,
        max_lines=settings.cart_max_lines,
        max_line_units=settings.cart_max_line_units,
        max_open_per_store=settings.cart_max_open_per_store,
        max_open_per_shopper=settings.cart_max_open_per_shopper,
        shopper=shopper,
    )


def _own_cart(db: Database, store: webstores.StoreConfig, cart_id: str) -> carts.CartView:
    with db.unit_of_work() as s:
        view = carts.cart(s, cart_id)
    if view is None or view.store_id != store.id:
        raise NotFound(f"There is no cart {cart_id}.")
    return view


async def _idempotent(
    db: Database, scope: str, key: str | None, request: Any, status: int, run: Any
) -> Any:
    return await idempotency.once(db, scope, key, request, run, status=status)


@router.post(
    "/carts", response_model=CartOut, status_code=201, responses=error_responses(401, 404, 422)
)
async def create_cart(
    body: CartIn,
    store: StoreDep,
    db: DbDep,
    client: ClientDep,
    settings: SettingsDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
    shopper_session: ShopperSession = None,
) -> Any:
    """A new cart (pickup store optional); lines are held for `TILLFLOW_CART_TTL_MINUTES` after each
    change, never longer than `TILLFLOW_CART_MAX_LIFETIME_MINUTES` after the cart opened.

    429 `limit_reached` when this shopper (`X-Shopper-Session`, else the caller's address) or the
    web store has as many open carts as allowed."""
    shopper = shopper_of(store, shopper_session, request)

    async def run() -> dict[str, Any]:
        req = await run_in_threadpool(
            _cart_request, db, store, uuid.uuid4().hex, body.pickup_location, settings, shopper
        )
        state = await open_cart(client, req, settings.web_task_queue)
        return _cart_out(state, await run_in_threadpool(_codes, db, [req.pickup_location_id]))

    return await _idempotent(
        db, f"storefront:{store.code}:carts", idempotency_key, body.model_dump(), 201, run
    )


@router.get("/carts/{cart_id}", response_model=CartOut, responses=error_responses(401, 404, 422))
def get_cart(cart_id: CartId, store: StoreDep, db: DbDep) -> Any:
    """The cart and what it holds."""
    view = _own_cart(db, store, cart_id)
    codes = _codes(db, [view.pickup_location_id])
    return CartOut(
        cart_id=view.cart_id,
        status=view.status,
        expires_at=view.expires_at,
        pickup_location=codes.get(view.pickup_location_id) if view.pickup_location_id else None,
        lines=[
            CartLineOut(sku=ln.sku, quantity=ln.quantity, location=ln.location_code)
            for ln in view.lines
        ],
    )


async def _change(
    db: Database,
    client: Any,
    store: webstores.StoreConfig,
    cart_id: str,
    change: CartLineChange,
    key: str | None,
    request: Any,
) -> Any:
    view = await run_in_threadpool(_own_cart, db, store, cart_id)

    async def run() -> dict[str, Any]:
        state = await steer_cart(client, store.code, cart_id, change)
        return _cart_out(state, await run_in_threadpool(_codes, db, [view.pickup_location_id]))

    return await _idempotent(db, f"storefront:{store.code}:cart:{cart_id}", key, request, 200, run)


@router.post(
    "/carts/{cart_id}/lines", response_model=CartOut, responses=error_responses(401, 404, 409, 422)
)
async def add_line(
    cart_id: CartId,
    body: CartLineIn,
    store: StoreDep,
    db: DbDep,
    client: ClientDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Add units of a SKU; they are held at once, or 409 with how many can be held."""
    return await _change(
        db,
        client,
        store,
        cart_id,
        CartLineChange(sku=body.sku, quantity=body.quantity, mode="add"),
        idempotency_key,
        {"add": body.model_dump()},
    )


@router.put(
    "/carts/{cart_id}/lines/{sku}",
    response_model=CartOut,
    responses=error_responses(401, 404, 409, 422),
)
async def set_line(
    cart_id: CartId,
    sku: SkuPath,
    body: CartQuantityIn,
    store: StoreDep,
    db: DbDep,
    client: ClientDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Set a line's quantity (0 removes it)."""
    return await _change(
        db,
        client,
        store,
        cart_id,
        CartLineChange(sku=sku, quantity=body.quantity, mode="set"),
        idempotency_key,
        {"set": sku, **body.model_dump()},
    )


@router.delete(
    "/carts/{cart_id}/lines/{sku}",
    response_model=CartOut,
    responses=error_responses(401, 404, 409, 422),
)
async def remove_line(
    cart_id: CartId,
    sku: SkuPath,
    store: StoreDep,
    db: DbDep,
    client: ClientDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Remove a line; its units are released at once."""
    return await _change(
        db,
        client,
        store,
        cart_id,
        CartLineChange(sku=sku, quantity=0, mode="set"),
        idempotency_key,
        {"remove": sku},
    )


def _points_use(db: Database, body: CheckoutIn) -> PointsUse | None:
    """The points the shopper pays with: the checkout email's customer, proven by the code on
    their card (403 `points_refused` otherwise). Their balance is checked when they are taken."""
    if body.points is None:
        return None
    digest = customers.code_digest(body.points.card_code)
    with db.unit_of_work() as s:
        owner = loyalty.customer_of_email(s, body.email)
        if owner is None or not customers.digest_matches(s, owner, digest):
            raise ApiError(
                403,
                "points_refused",
                "That is not the code on the loyalty card of this email's customer.",
            )
    return PointsUse(customer_id=owner, amount=body.points.amount, proof=f"customer:{digest}")


def _test_mode(settings: Settings) -> bool:
    return not settings.stripe_api_key or settings.stripe_api_key.startswith("sk_test_")


@router.post(
    "/carts/{cart_id}/checkout",
    response_model=CheckoutOut,
    status_code=201,
    responses=error_responses(401, 404, 409, 422),
)
async def checkout(
    cart_id: CartId,
    body: CheckoutIn,
    store: StoreDep,
    db: DbDep,
    client: ClientDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Turn the cart into an order: its holds become the order's, a PaymentIntent is made for the
    total.

    Confirm the card on the storefront with Stripe.js and the `client_secret`; the order goes on
    when Stripe says the payment is authorized. Calling this again returns the same order.

    `points` pays part or all of it with loyalty points: those of the customer who owns the
    checkout's `email`, proven with the `card_code` on their loyalty card (403 `points_refused`);
    they are taken before the card (409 `insufficient_points` when short), the PaymentIntent is
    for the rest (`points_paid` says how much), and a cancelled or failed order gives them back.
    """
    if body.payment_method and not _test_mode(settings):
        raise InvalidRequest(
            "payment_method is for Stripe test mode only; confirm cards with Stripe.js."
        )
    view = await run_in_threadpool(_own_cart, db, store, cart_id)
    points = await run_in_threadpool(_points_use, db, body)

    async def run() -> dict[str, Any]:
        state = await steer_cart(client, store.code, cart_id, None)
        codes = await run_in_threadpool(_codes, db, [view.pickup_location_id])
        order = ExternalOrder(
            external_id=cart_id,
            number="",
            currency=store.currency,
            lines=tuple(
                ExternalLine(str(n), ln.sku, ln.quantity)
                for n, ln in enumerate(state.lines, start=1)
            ),
            email=body.email,
            customer_name=body.name,
            country=(body.address.country if body.address else body.country).upper(),
            address=ShippingAddress(
                name=body.address.name or body.name,
                lines=tuple(body.address.lines),
                city=body.address.city.strip(),
                postcode=body.address.postcode.strip(),
                region=body.address.region.strip(),
                country=body.address.country.upper(),
                phone=body.address.phone.strip(),
            )
            if body.address
            else None,
            latitude=body.latitude,
            longitude=body.longitude,
            pickup_location=codes.get(view.pickup_location_id, "")
            if view.pickup_location_id
            else "",
        )
        pinned = await run_in_threadpool(
            storefront_pricing.checkout_pin, db, store, view.pickup_location_id
        )
        req = OnlineOrderRequest(
            source="web",
            store_code=store.code,
            order=order,
            cart_id=cart_id,
            payment_method=body.payment_method,
            payment_timeout_s=settings.checkout_payment_minutes * 60,
            allow_split=settings.routing_allow_split,
            stores_first=settings.routing_stores_first,
            ship_to_store=settings.routing_ship_to_store,
            points=points,
            coupon_codes=tuple(body.coupon_codes),
            promotions=json.dumps(pin_to_json(pinned)),
        )
        if body.coupon_codes:  # a coupon it cannot honour: 409 before any order exists
            priced = await run_in_threadpool(
                storefront_pricing.price_cart, db, store, view, req.coupon_codes, pinned
            )
            refuse_coupons(priced.promoted)
        answer = await checkout_order(
            client, online_order_workflow_id("web", cart_id), req, settings.web_task_queue
        )
        return CheckoutOut(order_id=cart_id, **describe(answer)).model_dump(mode="json")

    return await _idempotent(
        db,
        f"storefront:{store.code}:checkout:{cart_id}",
        idempotency_key,
        body.model_dump(),
        201,
        run,
    )


@router.get("/orders/{order_id}", response_model=OrderOut, responses=error_responses(401, 404, 422))
def get_order(order_id: CartId, store: StoreDep, db: DbDep) -> Any:
    """An order placed through this storefront (its id is the cart id), with where it is held."""
    workflow_id = online_order_workflow_id("web", order_id)
    with db.unit_of_work() as s:
        summary = online_orders.summary(s, workflow_id)
        if summary is None or summary.external_id != f"{store.code}:{order_id}":
            raise NotFound(f"There is no order {order_id}.")
        held = reservations.holds(s, kind=reservations.ORDER, reference=workflow_id)
        codes = availability.location_codes(s, {h.location_id for h in held})
    return OrderOut(
        order_id=order_id,
        order_number=summary.number,
        status=summary.status,
        currency=summary.currency,
        total=summary.total,
        fulfilment=summary.fulfilment_type,
        warnings=list(summary.warnings),
        lines=[
            PlacedLineOut(sku=h.sku, quantity=h.quantity, location=codes.get(h.location_id, ""))
            for h in held
        ],
    )
