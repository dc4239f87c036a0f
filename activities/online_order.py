"""The OnlineOrder's database steps: map, route, reserve, re-source, consume, status, exceptions.

Each runs as a local activity in one transaction and is idempotent: reservations are set to a
target (not added to), ledger rows and exception entries carry unique keys.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy.orm import Session
from temporalio import activity

from contracts.common import CENTRAL_TASK_QUEUE, FULFILMENT_TASK_QUEUE
from contracts.errors import encode_errors
from contracts.online import (
    Accepted,
    AcceptRequest,
    ConsumeRequest,
    ExceptionRequest,
    MappedLine,
    Move,
    OnlineOrderRequest,
    OrderRef,
    PlacedLine,
    ReserveRequest,
    Resourced,
    ResourceRequest,
    Routed,
    RouteRequest,
    ShipToStorePlan,
    StatusRequest,
    TransferLink,
)
from contracts.promotions import PromotionReservation, pinned_json
from contracts.transfer import CancelIn, cancel_transfer, transfer_workflow_id
from db.location_pricing import promoted_at_location, web_scope
from db.promotion_pricing import NOTHING, Promoted, line_promotions, refuse_coupons
from db.repositories import (
    addresses,
    availability,
    carts,
    customers,
    endless_aisle,
    online_orders,
    order_exceptions,
    orders,
    promotions,
    reservations,
    transfers,
    webstores,
)
from db.repositories.reservations import CART, ORDER, OutOfStock
from db.session import Database
from domain import routing
from domain.errors import Conflict, DomainError
from domain.online_orders import ExternalLine


@encode_errors
class OnlineOrderActivities:
    """Mapping, routing, reservations and the order record of online orders."""

    def __init__(
        self,
        db: Database,
        fulfilment_queue: str = FULFILMENT_TASK_QUEUE,
        transfer_queue: str = CENTRAL_TASK_QUEUE,
    ) -> None:
        self.db = db
        self.fulfilment_queue = fulfilment_queue
        self.transfer_queue = transfer_queue

    @activity.defn(name="online.accept")
    def accept(self, req: AcceptRequest) -> Accepted:
        """Map the web store's lines onto our SKUs / barcodes; unknown ones go to the exception
        queue."""
        r, o = req.request, req.request.order
        with self.db.unit_of_work() as s:
            store = (
                endless_aisle.till_store(s, r.till_code)  # issue 19: sold at a till, shipped
                if r.source == "store"
                else webstores.store(s, r.store_code)
            )
            if store is None:
                raise DomainError(f"There is no web store {r.store_code}.")
            mapped = availability.resolve_skus(s, [ln.sku for ln in o.lines])
            problems: list[tuple[str, str, str]] = []  # kind, sku, reason
            for ln in o.lines:
                if ln.sku not in mapped:
                    what = f"'{ln.sku}'" if ln.sku else "(no SKU)"
                    problems.append(
                        (
                            "unknown_sku",
                            ln.sku,
                            f"Line {ln.line_id} {ln.title!r}: SKU {what} is "
                            "neither one of our SKUs nor a barcode; "
                            "map it in the catalogue, then retry.",
                        )
                    )
            pickup_id = None
            if o.pickup_location:
                pickup_id = availability.location_id_by_code(s, o.pickup_location)
                if pickup_id is None:
                    problems.append(
                        (
                            "unknown_location",
                            "",
                            f"Pickup store {o.pickup_location!r} does not exist.",
                        )
                    )
            for kind, sku, reason in problems if r.source != "store" else ():  # a till hears it
                order_exceptions.raise_exception(
                    s,
                    order_exceptions.NewException(
                        req.workflow_id,
                        r.source,
                        r.store_code,
                        o.external_id,
                        kind,
                        sku,
                        reason,
                        {"order_number": o.number, "lines": [ln.__dict__ for ln in o.lines]},
                    ),
                )
            if problems:
                return Accepted(
                    ok=False,
                    lines=(),
                    order_number="",
                    currency=o.currency,
                    total=o.total,
                    location_ids=store.location_ids,
                    pickup_location_id=pickup_id,
                    problems=tuple(p[2] for p in problems),
                    fulfilment_queue=self.fulfilment_queue,
                    transfer_queue=self.transfer_queue,
                )
            lines, promoted = self._price(
                s,
                r,
                store.pricing_location_id
                or pickup_id
                or (store.location_ids[0] if store.location_ids else None),
                mapped,
                store.id or None,
                req.placed_at,
            )
            # The customer of its (web-store-verified) email, else a new one: one profile
            customer_id = customers.link_for_order(s, o.email, o.customer_name, "")
            number = online_orders.record(
                s,
                orders.NewOrder(
                    workflow_id=req.workflow_id,
                    number_prefix=online_orders.PREFIX.get(r.source, "WEB"),
                    channel=r.source,
                    fulfilment_type=o.fulfilment,
                    status="received",
                    location_id=pickup_id,
                    till_id=None,
                    cashier_id=None,
                    currency=o.currency,
                    subtotal=sum(ln.net for ln in lines),
                    tax_total=sum(ln.tax for ln in lines),
                    total=sum(ln.gross for ln in lines),
                    change_due=0,
                    warnings=[],
                    placed_at=req.placed_at,
                    # A till's ship order: its cash is in the drawer, so it counts in the shift.
                    shift_id=endless_aisle.till_shift(s, r.till_code)
                    if r.source == "store"
                    else None,
                    customer_id=customer_id,
                    lines=[
                        orders.NewOrderLine(
                            no,
                            ln.sku,
                            ln.name,
                            ln.quantity,
                            ln.unit_price,
                            ln.net,
                            ln.tax,
                            ln.gross,
                            ln.tax_code,
                            ln.tax_rate_bp,
                            discount=ln.discount,
                        )
                        for no, ln in enumerate(lines, start=1)
                    ],
                    line_promotions=line_promotions(promoted.lines) if promoted.lines else None,
                ),
                source=r.source,
                external_id=f"{r.store_code}:{o.external_id}",
            )
            if o.address is not None:  # issue 19: where it ships, with the order
                addresses.save(s, number, o.address)
            if r.source == "store":  # the till's cash, once, with the order (tender keys)
                endless_aisle.record_till_cash(
                    s,
                    req.workflow_id,
                    r.till_code,
                    sum(ln.gross for ln in lines),
                    o.currency,
                    r.till_cash,
                )
            if promoted.takes:  # budgets and coupons, with the order (given back by `release`)
                promotions.take(
                    s,
                    PromotionReservation(
                        key=req.workflow_id, takes=promoted.takes, customer_id=customer_id
                    ),
                )
            if req.retry:
                order_exceptions.resolve_for_order(s, req.workflow_id)
        return Accepted(
            ok=True,
            lines=lines,
            order_number=number,
            currency=o.currency,
            total=sum(ln.gross for ln in lines),
            location_ids=store.location_ids,
            pickup_location_id=pickup_id,
            fulfilment_queue=self.fulfilment_queue,
            transfer_queue=self.transfer_queue,
        )

    def _price(
        self,
        s: Session,
        r: OnlineOrderRequest,
        location_id: int | None,
        mapped: dict[str, str],
        web_store_id: int | None,
        at: datetime,
    ) -> tuple[tuple[MappedLine, ...], Promoted]:
        o = r.order
        if r.source in ("web", "store") or any(ln.unit_price == 0 for ln in o.lines):
            if location_id is None:
                raise DomainError(
                    f"Web store {r.store_code} has no location to price its orders at."
                )
            # Our storefront: our promotions (those pinned at checkout). A web store's order with
            # lines to price from our catalogue: its own discounts are the web store's business.
            scope = (
                web_scope(s, location_id, pinned_json(r.promotions), r.coupon_codes, at)
                if r.source == "web"
                else endless_aisle.store_scope(s, r.till_code, at)
                if r.source == "store"
                else None
            )
            # The web store's own price list wins, then the location's, then the default.
            priced = promoted_at_location(
                s,
                location_id,
                [(mapped[ln.sku], ln.quantity) for ln in o.lines],
                web_store_id=web_store_id,
                scope=scope,
            )
            refuse_coupons(priced.promoted)
            return tuple(
                MappedLine(
                    sku=q.sku,
                    quantity=q.quantity,
                    name=q.name,
                    unit_price=q.unit_price,
                    net=q.net,
                    tax=q.tax,
                    gross=q.gross,
                    tax_code=q.tax_code,
                    tax_rate_bp=q.tax_rate_bp,
                    external_line_id=ln.line_id,
                    discount=q.discount,
                )
                for q, ln in zip(priced.quote.lines, o.lines, strict=True)
            ), priced.promoted
        return tuple(_external(ln, mapped[ln.sku], o.prices_include_tax) for ln in o.lines), NOTHING

    @activity.defn(name="online.route")
    def route(self, req: RouteRequest) -> Routed:
        """Choose locations with the routing rules; a cart's (or this order's) holds count as
        available."""
        skus = sorted({ln.sku for ln in req.lines})
        with self.db.unit_of_work() as s:
            sites = availability.sites(s, skus, req.location_ids or None)  # none mapped = all
            flags = availability.product_flags(s, skus)
            held = reservations.holds(s, kind=ORDER, reference=req.workflow_id)
            if req.cart_id:
                held += reservations.holds(s, kind=CART, reference=req.cart_id)
            codes = {site.location_id: site.code for site in sites}
        sites = [_plus(site, held) for site in sites]
        try:
            plan = routing.route(
                [routing.Need(ln.sku, ln.quantity) for ln in req.lines],
                sites,
                flags,
                destination=routing.Destination(req.country or None, req.latitude, req.longitude),
                pickup_location_id=req.pickup_location_id,
                rules=routing.RoutingRules(req.allow_split, req.stores_first),
                exclude=req.exclude,
            )
        except routing.Unroutable as err:
            return Routed(ok=False, lines=(), message=err.message, shortfalls=err.shortfalls)
        return Routed(
            ok=True,
            lines=tuple(
                PlacedLine(
                    location_id=a.location_id,
                    location_code=codes[a.location_id],
                    sku=a.sku,
                    quantity=a.quantity,
                )
                for a in plan.allocations
            ),
        )

    @activity.defn(name="online.plan_ship_to_store")
    def plan_ship_to_store(self, req: RouteRequest) -> ShipToStorePlan:
        """A pickup its store cannot fill: hold what the store has and name one location (any of
        ours, not only the web store's) that sends the rest by transfer."""
        assert req.pickup_location_id is not None
        skus = sorted({ln.sku for ln in req.lines})
        with self.db.unit_of_work() as s:
            sites = availability.sites(s, skus, None)
            flags = availability.product_flags(s, skus)
            held = reservations.holds(s, kind=ORDER, reference=req.workflow_id)
            if req.cart_id:
                held += reservations.holds(s, kind=CART, reference=req.cart_id)
        sites = [_plus(site, held) for site in sites]
        codes = {site.location_id: site.code for site in sites}
        plan = routing.ship_to_store(
            [routing.Need(ln.sku, ln.quantity) for ln in req.lines],
            sites,
            flags,
            req.pickup_location_id,
        )
        if plan is None:
            return ShipToStorePlan(ok=False)
        here = req.pickup_location_id
        return ShipToStorePlan(
            ok=True,
            held=tuple(
                PlacedLine(
                    location_id=here, location_code=codes[here], sku=a.sku, quantity=a.quantity
                )
                for a in plan.held_here
            ),
            source_location_id=plan.source_location_id,
            source_code=plan.source_code,
            destination_location_id=here,
            destination_code=codes[here],
            transfer=tuple((n.sku, n.quantity) for n in plan.transfer),
        )

    @activity.defn(name="online.drop_transfer")
    async def drop_transfer(self, link: TransferLink) -> str:
        """Compensation of a ship-to-store transfer: cancelled while it is not picked (its hold
        given back); once picked the goods still travel, but arrive on the shelf, not for this
        order."""
        try:
            await cancel_transfer(
                activity.client(),
                link.transfer_id,
                CancelIn(cancelled_by=None, reason="The order it was for was cancelled."),
                "closed",
            )
            return "cancelled"
        except Conflict:
            await asyncio.to_thread(self._unlink, link)
            return "unlinked"

    def _unlink(self, link: TransferLink) -> None:
        with self.db.unit_of_work() as s:
            transfers.unlink_order(
                s, transfer_workflow_id(link.transfer_id), link.order_workflow_id
            )

    @activity.defn(name="online.reserve")
    def reserve(self, req: ReserveRequest) -> tuple[PlacedLine, ...]:
        """Hold exactly the routed lines (taking over the cart's holds); all or nothing."""
        with self.db.unit_of_work() as s:
            if req.cart_id:
                reservations.adopt(
                    s,
                    from_kind=CART,
                    from_reference=req.cart_id,
                    to_kind=ORDER,
                    to_reference=req.workflow_id,
                    workflow_id=req.workflow_id,
                )
                carts.set_status(s, req.cart_id, "checked_out", only_from=("open", "checked_out"))
            want = {(ln.location_id, ln.sku): ln.quantity for ln in req.lines}
            have = {
                (h.location_id, h.sku)
                for h in reservations.holds(s, kind=ORDER, reference=req.workflow_id)
            }
            if not have and all(q > 0 for q in want.values()):
                # Nothing held yet (the first attempt): every line held as routed, two statements
                # a line, all or nothing (OutOfStock rolls the lot back), as the loop below.
                reservations.reserve(
                    s,
                    kind=ORDER,
                    reference=req.workflow_id,
                    holds=[reservations.Hold(loc, sku, q) for (loc, sku), q in want.items()],
                    expires_at=None,
                    workflow_id=req.workflow_id,
                )
                want = {}
            for loc, sku in sorted(want.keys() | have, key=lambda k: (k[1], k[0])):
                reservations.set_quantity(
                    s,
                    kind=ORDER,
                    reference=req.workflow_id,
                    location_id=loc,
                    sku=sku,
                    quantity=want.get((loc, sku), 0),
                    expires_at=None,
                    workflow_id=req.workflow_id,
                )
            if req.status:
                online_orders.set_status(s, req.workflow_id, req.status)
        return req.lines

    @activity.defn(name="online.release")
    def release(self, ref: OrderRef) -> int:
        """Compensation: give back everything the order holds (and the promotion budgets and
        coupons it took); once."""
        with self.db.unit_of_work() as s:
            promotions.release(s, ref.workflow_id)
            endless_aisle.void_till_cash(s, ref.workflow_id)  # a till's ship order: cash back
            return sum(
                h.quantity for h in reservations.release(s, kind=ORDER, reference=ref.workflow_id)
            )

    @activity.defn(name="online.resource")
    def resource(self, req: ResourceRequest) -> Resourced:
        """A till sold units this order held: move the hold to the next best location that has
        them."""
        with self.db.unit_of_work() as s:
            mine = {
                (h.location_id, h.sku): h.quantity
                for h in reservations.holds(s, kind=ORDER, reference=req.workflow_id)
            }
            held_here = mine.get((req.location_id, req.sku), 0)
            over = (
                held_here
                if req.everything
                else dict(reservations.orders_to_resource(s, req.location_id, req.sku)).get(
                    req.workflow_id, 0
                )
            )
            need = min(over, held_here)
            from_code = availability.location_codes(s, [req.location_id]).get(req.location_id, "")
            moves: list[Move] = []
            if need > 0 and not req.pickup:  # a pickup stays at the customer's store
                flags = availability.product_flags(s, [req.sku]).get(
                    req.sku, routing.ProductFlags()
                )
                sites = availability.sites(s, [req.sku], req.location_ids or None)
                dest = routing.Destination(req.country or None, req.latitude, req.longitude)
                for site in routing.ranked(
                    sites, dest, routing.RoutingRules(stores_first=req.stores_first)
                ):
                    if need <= 0:
                        break
                    if site.location_id in (req.location_id, *req.exclude) or not routing.may_ship(
                        site, flags
                    ):
                        continue
                    n = min(need, site.has(req.sku))
                    if n <= 0:
                        continue
                    held = mine.get((site.location_id, req.sku), 0)
                    try:
                        reservations.set_quantity(
                            s,
                            kind=ORDER,
                            reference=req.workflow_id,
                            location_id=site.location_id,
                            sku=req.sku,
                            quantity=held + n,
                            expires_at=None,
                            workflow_id=req.workflow_id,
                        )
                    except OutOfStock:
                        continue  # taken meanwhile: nothing changed, try the next location
                    mine[(site.location_id, req.sku)] = held + n
                    moves.append(
                        Move(
                            from_location_id=req.location_id,
                            from_location_code=from_code,
                            to_location_id=site.location_id,
                            to_location_code=site.code,
                            sku=req.sku,
                            quantity=n,
                        )
                    )
                    need -= n
                moved = sum(m.quantity for m in moves)
                if moved:
                    reservations.release_part(
                        s,
                        kind=ORDER,
                        reference=req.workflow_id,
                        location_id=req.location_id,
                        sku=req.sku,
                        quantity=moved,
                    )
            codes = availability.location_codes(s, {loc for loc, _ in mine})
            lines = tuple(
                PlacedLine(
                    location_id=h.location_id,
                    location_code=codes.get(h.location_id, ""),
                    sku=h.sku,
                    quantity=h.quantity,
                )
                for h in reservations.holds(s, kind=ORDER, reference=req.workflow_id)
            )
        return Resourced(moves=tuple(moves), short=need, lines=lines)

    @activity.defn(name="online.consume")
    def consume(self, req: ConsumeRequest) -> int:
        """The location handed the goods over: the holds become stock movements; once."""
        with self.db.unit_of_work() as s:
            return sum(
                h.quantity
                for h in reservations.consume(
                    s,
                    kind=ORDER,
                    reference=req.workflow_id,
                    location_id=req.location_id,
                    occurred_at=req.occurred_at,
                    workflow_id=req.workflow_id,
                )
            )

    @activity.defn(name="online.set_status")
    def set_status(self, req: StatusRequest) -> None:
        """Record where the order is (the storefront and the back office read it)."""
        with self.db.unit_of_work() as s:
            online_orders.set_status(
                s,
                req.workflow_id,
                req.status,
                warnings=list(req.warnings) if req.warnings is not None else None,
            )
            if req.status in ("accepted", "fulfilling", "completed", "cancelled"):
                order_exceptions.resolve_for_order(s, req.workflow_id)

    @activity.defn(name="online.raise_exception")
    def raise_exception(self, req: ExceptionRequest) -> None:
        """Put the order in the exception queue for a person (once per order, kind and SKU)."""
        with self.db.unit_of_work() as s:
            order_exceptions.raise_exception(
                s,
                order_exceptions.NewException(
                    req.workflow_id,
                    req.source,
                    req.store_code,
                    req.external_id,
                    req.kind,
                    req.sku,
                    req.reason,
                    dict(req.detail),
                ),
            )


def _plus(site: routing.Site, held: list[reservations.Hold]) -> routing.Site:
    extra = {h.sku: h.quantity for h in held if h.location_id == site.location_id}
    if not extra:
        return site
    available = dict(site.available)
    for sku, qty in extra.items():
        available[sku] = max(0, available.get(sku, 0)) + qty
    return routing.Site(
        site.location_id,
        site.code,
        site.kind,
        site.ship_from_store,
        available,
        site.latitude,
        site.longitude,
        site.country,
    )


def _external(ln: ExternalLine, sku: str, inclusive: bool) -> MappedLine:
    """A web store's line as it charged it: its unit price, its discount, its tax."""
    gross = ln.unit_price * ln.quantity - ln.discount + (0 if inclusive else ln.tax)
    return MappedLine(
        sku=sku,
        quantity=ln.quantity,
        name=ln.title or sku,
        unit_price=ln.unit_price,
        net=gross - ln.tax,
        tax=ln.tax,
        gross=gross,
        tax_code="web",
        tax_rate_bp=ln.tax_rate_bp,
        external_line_id=ln.line_id,
        discount=ln.discount,
    )
