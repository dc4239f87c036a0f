"""Suppliers (with what each sells us) and purchase orders: draft, send, cancel, close short.

"Send" marks an order sent (tillflow never emails a supplier: the buyer does). Goods arrive
through `POST /stock/receipts`. Purchase orders are documents with no stock or money effect, so
they are written here in the request's unit of work; the stock moves only when goods arrive."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.exc import IntegrityError

from api.deps import DbDep, IdempotencyKey, PrincipalDep
from api.errors import ApiError, error_responses
from api.permissions import CATALOG, require_manager_of, require_role
from api.routes.stock_ops import idempotent, managed_ids, manager_location
from api.schemas_stock_ops import (
    OrderIn,
    OrderLineOut,
    OrderOut,
    SupplierIn,
    SupplierItemIn,
    SupplierItemOut,
    SupplierOut,
    SupplierPatch,
)
from db.models_purchasing import PurchaseOrder, Supplier
from db.repositories import bookkeeping, purchasing, stock_ops
from db.repositories.users import Principal
from db.session import Database
from domain.errors import Conflict, InvalidRequest, NotFound

router = APIRouter(prefix="/purchasing", tags=["purchasing"])
SupplierCode = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")]
PoNumber = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")]
SkuPath = Annotated[str, Path(min_length=1, max_length=64)]


def _may_edit_suppliers(principal: Principal) -> None:
    """Suppliers serve every store: an admin, or a manager with the catalogue permission."""
    require_role(principal, "manager")
    if principal.role != "admin" and not principal.may(CATALOG):
        raise ApiError(
            403,
            "forbidden",
            "Suppliers are head-office data: this needs an admin or the 'catalog' permission.",
        )


def _supplier_out(s: Any, sup: Supplier, *, items: bool = True) -> SupplierOut:
    return SupplierOut(
        code=sup.code,
        name=sup.name,
        currency=sup.currency,
        lead_time_days=sup.lead_time_days,
        email=sup.email,
        phone=sup.phone,
        active=sup.active,
        items=[
            SupplierItemOut(
                sku=i.sku,
                supplier_sku=i.supplier_sku,
                unit_cost=i.unit_cost,
                currency=sup.currency,
                pack_size=i.pack_size,
                lead_time_days=i.lead_time_days,
                preferred=i.preferred,
            )
            for i in (purchasing.supplier_items(s, sup.id) if items else [])
        ],
    )


def _supplier(s: Any, code: str) -> Supplier:
    sup = purchasing.supplier_by_code(s, code)
    if sup is None:
        raise NotFound(f"There is no supplier {code}.", code="unknown_supplier")
    return sup


@router.get("/suppliers", response_model=list[SupplierOut], responses=error_responses(401, 403))
def list_suppliers(principal: PrincipalDep, db: DbDep, inactive: bool = False) -> list[SupplierOut]:
    """Every supplier (`?inactive=true`: deactivated ones too)."""
    require_role(principal, "manager")
    with db.unit_of_work() as s:
        return [
            _supplier_out(s, sup, items=False)
            for sup in purchasing.suppliers(s, include_inactive=inactive)
        ]


@router.post(
    "/suppliers",
    response_model=SupplierOut,
    status_code=201,
    responses=error_responses(401, 403, 409, 422),
)
async def create_supplier(
    body: SupplierIn, principal: PrincipalDep, db: DbDep, idempotency_key: IdempotencyKey = None
) -> Any:
    """A new supplier with its lead time (days from sending an order to goods on the shelf)."""
    _may_edit_suppliers(principal)

    def write() -> dict[str, Any]:
        with db.unit_of_work() as s:
            if purchasing.supplier_by_code(s, body.code) is not None:
                raise Conflict(f"Supplier {body.code} exists already.", code="duplicate_supplier")
            sup = purchasing.add_supplier(s, **body.model_dump())
            bookkeeping.audit(
                s,
                action="supplier.created",
                subject=f"supplier:{sup.code}",
                actor_user_id=principal.user_id,
                detail=body.model_dump(),
            )
            return _supplier_out(s, sup).model_dump(mode="json")

    async def run() -> tuple[int, dict[str, Any]]:
        try:
            return 201, await run_in_threadpool(write)
        except IntegrityError as err:
            raise Conflict(f"Supplier {body.code} exists already.") from err

    return await idempotent(
        db, f"{principal.user_id}:purchasing:suppliers", idempotency_key, body.model_dump(), run
    )


@router.get(
    "/suppliers/{code}", response_model=SupplierOut, responses=error_responses(401, 403, 404)
)
def get_supplier(code: SupplierCode, principal: PrincipalDep, db: DbDep) -> SupplierOut:
    """A supplier and the SKUs it sells us, at what cost and pack size."""
    require_role(principal, "manager")
    with db.unit_of_work() as s:
        return _supplier_out(s, _supplier(s, code))


@router.patch(
    "/suppliers/{code}", response_model=SupplierOut, responses=error_responses(401, 403, 404, 422)
)
async def update_supplier(
    code: SupplierCode,
    body: SupplierPatch,
    principal: PrincipalDep,
    db: DbDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Change a supplier's name, currency, lead time, contact or active flag."""
    _may_edit_suppliers(principal)
    changes = body.model_dump(exclude_unset=True)

    def write() -> dict[str, Any]:
        with db.unit_of_work() as s:
            sup = _supplier(s, code)
            for key, value in changes.items():
                if value is not None:
                    setattr(sup, key, value)
            bookkeeping.audit(
                s,
                action="supplier.updated",
                subject=f"supplier:{code}",
                actor_user_id=principal.user_id,
                detail=changes,
            )
            s.flush()
            return _supplier_out(s, sup).model_dump(mode="json")

    async def run() -> tuple[int, dict[str, Any]]:
        return 200, await run_in_threadpool(write)

    return await idempotent(
        db, f"{principal.user_id}:purchasing:supplier:{code}", idempotency_key, changes, run
    )


@router.delete(
    "/suppliers/{code}", response_model=SupplierOut, responses=error_responses(401, 403, 404)
)
async def deactivate_supplier(
    code: SupplierCode, principal: PrincipalDep, db: DbDep, idempotency_key: IdempotencyKey = None
) -> Any:
    """Deactivate a supplier (kept for its orders' history; the reorder run skips it)."""
    _may_edit_suppliers(principal)

    def write() -> dict[str, Any]:
        with db.unit_of_work() as s:
            sup = _supplier(s, code)
            sup.active = False
            bookkeeping.audit(
                s,
                action="supplier.deactivated",
                subject=f"supplier:{code}",
                actor_user_id=principal.user_id,
                detail={},
            )
            s.flush()
            return _supplier_out(s, sup).model_dump(mode="json")

    async def run() -> tuple[int, dict[str, Any]]:
        return 200, await run_in_threadpool(write)

    return await idempotent(
        db, f"{principal.user_id}:purchasing:supplier-off:{code}", idempotency_key, {}, run
    )


@router.put(
    "/suppliers/{code}/items/{sku}",
    response_model=SupplierOut,
    responses=error_responses(401, 403, 404, 422),
)
async def put_supplier_item(
    code: SupplierCode,
    sku: SkuPath,
    body: SupplierItemIn,
    principal: PrincipalDep,
    db: DbDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """What this supplier sells us of a SKU: cost, pack size, own lead time, preferred."""
    _may_edit_suppliers(principal)

    def write() -> dict[str, Any]:
        with db.unit_of_work() as s:
            sup = _supplier(s, code)
            if sku not in stock_ops.skus(s, [sku]):
                raise NotFound(f"There is no SKU {sku}.", code="unknown_sku")
            purchasing.put_supplier_item(s, supplier_id=sup.id, sku=sku, **body.model_dump())
            bookkeeping.audit(
                s,
                action="supplier.item",
                subject=f"supplier:{code}:{sku}",
                actor_user_id=principal.user_id,
                detail=body.model_dump(),
            )
            return _supplier_out(s, sup).model_dump(mode="json")

    async def run() -> tuple[int, dict[str, Any]]:
        return 200, await run_in_threadpool(write)

    return await idempotent(
        db,
        f"{principal.user_id}:purchasing:item:{code}:{sku}",
        idempotency_key,
        body.model_dump(),
        run,
    )


@router.delete(
    "/suppliers/{code}/items/{sku}",
    response_model=SupplierOut,
    responses=error_responses(401, 403, 404),
)
def delete_supplier_item(
    code: SupplierCode, sku: SkuPath, principal: PrincipalDep, db: DbDep
) -> SupplierOut:
    """The supplier no longer sells us this SKU (repeating it changes nothing)."""
    _may_edit_suppliers(principal)
    with db.unit_of_work() as s:
        sup = _supplier(s, code)
        purchasing.remove_supplier_item(s, sup.id, sku)
        return _supplier_out(s, sup)


# ---- purchase orders ------------------------------------------------------------------------


def order_out(s: Any, po: PurchaseOrder) -> OrderOut:
    sup = purchasing.supplier_by_id(s, po.supplier_id)
    lines = purchasing.order_lines(s, po.id)
    return OrderOut(
        number=po.number,
        status=po.status,
        location=purchasing.location_code(s, po.location_id),
        supplier=sup.code if sup else "",
        currency=po.currency,
        source=po.source,
        expected_on=po.expected_on,
        note=po.note,
        total=sum(ln.quantity_ordered * ln.unit_cost for ln in lines),
        created_at=po.created_at,
        sent_at=po.sent_at,
        closed_at=po.closed_at,
        lines=[
            OrderLineOut(
                line_no=ln.line_no,
                sku=ln.sku,
                quantity_ordered=ln.quantity_ordered,
                quantity_received=ln.quantity_received,
                outstanding=max(ln.quantity_ordered - ln.quantity_received, 0)
                if po.status in purchasing.OPEN_STATUSES
                else 0,
                over=max(ln.quantity_received - ln.quantity_ordered, 0),
                short=max(ln.quantity_ordered - ln.quantity_received, 0)
                if po.status == "closed_short"
                else 0,
                unit_cost=ln.unit_cost,
            )
            for ln in lines
        ],
    )


def _order_for(db: Database, principal: Principal, number: str) -> int:
    require_role(principal, "manager")
    with db.unit_of_work() as s:
        po = purchasing.order_by_number(s, number)
    if po is None:
        raise NotFound(f"There is no purchase order {number}.", code="unknown_purchase_order")
    if principal.role != "admin" and po.location_id not in principal.location_ids:
        raise NotFound(f"There is no purchase order {number} at your locations.")
    require_manager_of(principal, {po.location_id})
    return po.id


@router.post(
    "/orders",
    response_model=OrderOut,
    status_code=201,
    responses=error_responses(401, 403, 404, 422),
)
async def create_order(
    body: OrderIn, principal: PrincipalDep, db: DbDep, idempotency_key: IdempotencyKey = None
) -> Any:
    """A draft purchase order for a location from one supplier (costs default to the supplier's
    cost of each SKU)."""
    loc = await run_in_threadpool(manager_location, db, principal, body.location)

    def write() -> dict[str, Any]:
        with db.unit_of_work() as s:
            sup = _supplier(s, body.supplier)
            if not sup.active:
                raise Conflict(f"Supplier {sup.code} is deactivated.", code="supplier_inactive")
            wanted = [ln.sku for ln in body.lines]
            if len(set(wanted)) != len(wanted):
                raise InvalidRequest("A SKU is listed twice: give one line per SKU.")
            known = stock_ops.skus(s, wanted)
            lines = []
            for i, ln in enumerate(body.lines, start=1):
                if ln.sku not in known:
                    raise NotFound(f"Line {i}: there is no SKU {ln.sku}.", code="unknown_sku")
                cost = ln.unit_cost
                if cost is None:
                    item = purchasing.supplier_item(s, sup.id, ln.sku)
                    if item is None:
                        raise InvalidRequest(
                            f"Line {i}: {sup.code} has no cost for {ln.sku}; give unit_cost.",
                            code="unit_cost_missing",
                        )
                    cost = item.unit_cost
                lines.append(purchasing.NewLine(ln.sku, ln.quantity, cost))
            po = purchasing.create_order(
                s,
                supplier_id=sup.id,
                location_id=loc.id,
                currency=sup.currency,
                lines=lines,
                created_by=principal.user_id,
                expected_on=body.expected_on,
                note=body.note,
            )
            return order_out(s, po).model_dump(mode="json")

    async def run() -> tuple[int, dict[str, Any]]:
        return 201, await run_in_threadpool(write)

    return await idempotent(
        db,
        f"{principal.user_id}:purchasing:orders",
        idempotency_key,
        body.model_dump(mode="json"),
        run,
    )


@router.get("/orders", response_model=list[OrderOut], responses=error_responses(401, 403, 404))
def list_orders(
    principal: PrincipalDep,
    db: DbDep,
    location: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
    status: Annotated[
        Literal["draft", "sent", "partially_received", "received", "closed_short", "cancelled"]
        | None,
        Query(),
    ] = None,
    supplier: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
) -> list[OrderOut]:
    """Purchase orders of the caller's locations, newest first."""
    ids = managed_ids(principal)
    if location:
        ids = [manager_location(db, principal, location).id]
    with db.unit_of_work() as s:
        supplier_id = _supplier(s, supplier).id if supplier else None
        return [
            order_out(s, po)
            for po in purchasing.orders(s, location_ids=ids, status=status, supplier_id=supplier_id)
        ]


@router.get("/orders/{number}", response_model=OrderOut, responses=error_responses(401, 403, 404))
def get_order(number: PoNumber, principal: PrincipalDep, db: DbDep) -> OrderOut:
    """A purchase order with what was ordered, received, over and short per line."""
    po_id = _order_for(db, principal, number)
    with db.unit_of_work() as s:
        po = purchasing.order_by_id(s, po_id)
        assert po is not None
        return order_out(s, po)


_MOVES: dict[str, tuple[tuple[str, ...], str, str, str]] = {
    # action: (from statuses, to status, audit action, what it is called)
    "send": (("draft",), "sent", "purchase_order.sent", "sent"),
    "cancel": (("draft", "sent"), "cancelled", "purchase_order.cancelled", "cancelled"),
    "close": (("partially_received",), "closed_short", "purchase_order.closed_short", "closed"),
}


async def _move(
    number: str, action: str, principal: Principal, db: Database, key: str | None
) -> Any:
    po_id = await run_in_threadpool(_order_for, db, principal, number)
    sources, target, audit, done = _MOVES[action]

    def write() -> dict[str, Any]:
        with db.unit_of_work() as s:
            po = purchasing.order_by_id(s, po_id, lock=True)
            assert po is not None
            if po.status == target:
                return order_out(s, po).model_dump(mode="json")  # done already
            if po.status not in sources:
                raise Conflict(
                    f"{po.number} is {po.status.replace('_', ' ')}: it cannot be {done}.",
                    code="po_state",
                )
            if action == "cancel" and any(
                ln.quantity_received for ln in purchasing.order_lines(s, po.id)
            ):
                raise Conflict(f"{po.number} has deliveries: close it short instead.")
            purchasing.set_status(s, po, target, datetime.now(UTC))
            bookkeeping.audit(
                s,
                action=audit,
                subject=f"purchase_order:{po.number}",
                actor_user_id=principal.user_id,
                detail={},
            )
            return order_out(s, po).model_dump(mode="json")

    async def run() -> tuple[int, dict[str, Any]]:
        return 200, await run_in_threadpool(write)

    return await idempotent(db, f"{principal.user_id}:po:{action}:{number}", key, {}, run)


@router.post(
    "/orders/{number}/send", response_model=OrderOut, responses=error_responses(401, 403, 404, 409)
)
async def send_order(
    number: PoNumber, principal: PrincipalDep, db: DbDep, idempotency_key: IdempotencyKey = None
) -> Any:
    """Mark a draft as sent to the supplier (tillflow sends nothing itself); deliveries can now
    be booked against it."""
    return await _move(number, "send", principal, db, idempotency_key)


@router.post(
    "/orders/{number}/cancel",
    response_model=OrderOut,
    responses=error_responses(401, 403, 404, 409),
)
async def cancel_order(
    number: PoNumber, principal: PrincipalDep, db: DbDep, idempotency_key: IdempotencyKey = None
) -> Any:
    """Cancel a draft or a sent order that nothing was delivered for."""
    return await _move(number, "cancel", principal, db, idempotency_key)


@router.post(
    "/orders/{number}/close",
    response_model=OrderOut,
    responses=error_responses(401, 403, 404, 409),
)
async def close_order(
    number: PoNumber, principal: PrincipalDep, db: DbDep, idempotency_key: IdempotencyKey = None
) -> Any:
    """Close a partially received order short: the rest will not come (shown per line)."""
    return await _move(number, "close", principal, db, idempotency_key)
