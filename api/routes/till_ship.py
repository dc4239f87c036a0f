"""Endless aisle and ship to home at the till (issue 19): the cashier sells what the shelf does not
have (or what the customer would rather not carry), takes the cash, and the sale becomes an online
order (source "store") shipped to the customer's address from the best location."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api import idempotency
from api.deps import ClientDep, DbDep, IdempotencyKey, PrincipalDep, SettingsDep
from api.errors import error_responses
from api.routes.tills import TillCode, till_for
from contracts.online import (
    CheckoutAnswer,
    OnlineOrderRequest,
    checkout_order,
    online_order_workflow_id,
)
from db.repositories import availability
from domain.errors import Conflict, InvalidRequest
from domain.money_format import format_money
from domain.online_orders import ExternalLine, ExternalOrder, ShippingAddress

router = APIRouter(prefix="/tills", tags=["till"])
ShipOrderId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="the till's own id for this ship order (a retry with it joins the same one)",
    ),
]


class ShipLineIn(BaseModel):
    sku: str = Field(min_length=1, max_length=64, description="our SKU or a barcode")
    quantity: int = Field(ge=1, le=999)


class ShipAddressIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    lines: list[str] = Field(min_length=1, max_length=4, description="street and number first")
    city: str = Field(min_length=1, max_length=100)
    postcode: str = Field(default="", max_length=20)
    region: str = Field(default="", max_length=50)
    country: str = Field(min_length=2, max_length=2, description="ISO 3166 alpha-2")
    phone: str = Field(default="", max_length=40)


class ShipOrderIn(BaseModel):
    lines: list[ShipLineIn] = Field(min_length=1, max_length=50)
    ship_to: ShipAddressIn
    email: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    cash: list[Annotated[int, Field(ge=1, le=10**9)]] = Field(
        min_length=1,
        max_length=10,
        description="minor units handed over, one per cash tender; change is given back",
    )


class ShipOrderLineOut(BaseModel):
    sku: str
    quantity: int
    location: str


class ShipOrderOut(BaseModel):
    order_number: str
    workflow_id: str
    status: str
    currency: str
    total: int
    change_due: int
    lines: list[ShipOrderLineOut]
    receipt: list[str]  # the lines the till prints under the sale


def _check(body: ShipOrderIn) -> None:
    for line in body.ship_to.lines:
        if not line.strip():
            raise InvalidRequest("An address line is empty.", code="bad_address")
    if any(amount <= 0 for amount in body.cash):
        raise InvalidRequest("Each cash tender is a positive amount.", code="bad_tender")


def _location_names(db: Any, codes: set[str]) -> dict[str, str]:
    with db.unit_of_work() as s:
        ids = {code: availability.location_id_by_code(s, code) for code in codes}
        names = availability.location_names(s, {i for i in ids.values() if i is not None})
    return {code: names.get(i, code) if i is not None else code for code, i in ids.items()}


def receipt_lines(
    answer: CheckoutAnswer, body: ShipOrderIn, names: dict[str, str], change: int, locale: str
) -> list[str]:
    """What the receipt says: where it ships, from where, and the order's number."""
    where = ", ".join(
        sorted({names.get(ln.location_code, ln.location_code) for ln in answer.lines})
    )
    return [
        f"Shipped to {body.ship_to.name}, {body.ship_to.city} from {where} — order "
        f"{answer.order_number}",
        f"Paid in cash: {format_money(answer.total, answer.currency, locale, paper=True)}, "
        f"change {format_money(change, answer.currency, locale, paper=True)}",
    ]


@router.post(
    "/{till}/ship-orders/{ship_order_id}",
    response_model=ShipOrderOut,
    status_code=201,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def place_ship_order(
    till: TillCode,
    ship_order_id: ShipOrderId,
    body: ShipOrderIn,
    principal: PrincipalDep,
    db: DbDep,
    client: ClientDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Sell at the till and ship to the customer: priced by our catalogue and the store's
    promotions (never a price from the till), paid in cash here, routed like a web order to the
    best location (warehouse or ship-from-store store) and shipped to `ship_to`. 409 when no
    location has the goods or the cash does not settle the total: nothing is kept, give the cash
    back. A retry with the same `ship_order_id` answers the same order."""
    _check(body)
    view = await run_in_threadpool(till_for, db, principal, till)
    if view.shift_required and view.open_shift_id is None:  # the cash goes into the drawer
        raise Conflict(
            f"Till {till} has no open shift: open one (count the float) before selling.",
            code="no_open_shift",
        )
    addr = body.ship_to

    async def run() -> dict[str, Any]:
        external_id = f"{view.till_code}:{ship_order_id}"
        order = ExternalOrder(
            external_id=external_id,
            number="",
            currency=view.currency,
            lines=tuple(
                ExternalLine(str(n), ln.sku.strip(), ln.quantity)
                for n, ln in enumerate(body.lines, start=1)
            ),
            email=body.email.strip(),
            customer_name=addr.name.strip(),
            country=addr.country.upper(),
            address=ShippingAddress(
                name=addr.name.strip(),
                lines=tuple(ln.strip() for ln in addr.lines),
                city=addr.city.strip(),
                postcode=addr.postcode.strip(),
                region=addr.region.strip(),
                country=addr.country.upper(),
                phone=addr.phone.strip(),
            ),
        )
        req = OnlineOrderRequest(
            source="store",
            store_code=view.location_code,
            order=order,
            allow_split=settings.routing_allow_split,
            stores_first=settings.routing_stores_first,
            till_code=view.till_code,
            till_cash=tuple(body.cash),
        )
        answer = await checkout_order(
            client,
            online_order_workflow_id("store", external_id),
            req,
            settings.web_task_queue,
        )
        names = await run_in_threadpool(
            _location_names, db, {ln.location_code for ln in answer.lines}
        )
        change = sum(body.cash) - answer.total
        return ShipOrderOut(
            order_number=answer.order_number,
            workflow_id=answer.workflow_id,
            status=answer.status,
            currency=answer.currency,
            total=answer.total,
            change_due=change,
            lines=[
                ShipOrderLineOut(sku=ln.sku, quantity=ln.quantity, location=ln.location_code)
                for ln in answer.lines
            ],
            receipt=receipt_lines(answer, body, names, change, view.locale),
        ).model_dump(mode="json")

    return await idempotency.once(
        db,
        f"till:{view.till_code}:ship-order:{ship_order_id}",
        idempotency_key,
        body.model_dump(),
        run,
        status=201,
    )
