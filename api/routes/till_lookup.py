"""Look-ups at the till when a barcode will not scan or a customer has no card with them:
products by name or SKU, customers by email, phone, card code or name."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from api.deps import DbDep, PrincipalDep
from api.errors import error_responses
from api.routes.tills import TillCode, till_for
from api.schemas import ItemOut
from db.repositories import catalog, customers, loyalty, stock
from domain.secrets import mask

router = APIRouter(prefix="/tills", tags=["till"])
SearchTerm = Annotated[str, Query(min_length=1, max_length=100, description="what to look for")]


class CustomerMatchOut(BaseModel):
    customer_id: int
    name: str
    email_masked: str
    phone_masked: str
    points_balance: int = 0  # loyalty points (the till keeps the last one seen for offline)


def _mask_email(email: str | None) -> str:
    if not email or "@" not in email:
        return ""
    user, domain = email.split("@", 1)
    return f"{user[:1]}***@{domain}"


@router.get(
    "/{till}/products", response_model=list[ItemOut], responses=error_responses(401, 403, 404, 422)
)
def search_products(
    till: TillCode,
    principal: PrincipalDep,
    db: DbDep,
    q: SearchTerm,
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> list[ItemOut]:
    """Products whose SKU starts with `q` or whose name contains it, with this store's price and
    stock: what a cashier picks from when a barcode will not scan."""
    view = till_for(db, principal, till)
    with db.unit_of_work() as s:
        items = catalog.search_items(s, view.location_id, q, limit)
        levels = {i.sku: stock.level(s, view.location_id, i.sku) for i in items}
    return [
        ItemOut(
            sku=i.sku,
            name=i.name,
            category=i.category,
            tax_code=i.tax_code,
            unit_price=i.unit_price,
            currency=i.currency,
            barcodes=list(i.barcodes),
            on_hand=lv.on_hand if (lv := levels[i.sku]) else 0,
            available=lv.available if lv else 0,
        )
        for i in items
    ]


@router.get(
    "/{till}/customers",
    response_model=list[CustomerMatchOut],
    responses=error_responses(401, 403, 404, 422),
)
async def search_customers(
    till: TillCode, principal: PrincipalDep, db: DbDep, q: SearchTerm
) -> list[CustomerMatchOut]:
    """Customers to attach to the sale: by exact email, phone number, the code on their card, or
    a name containing `q` (3 letters or more). Emails and phones come back masked: the cashier
    confirms with the customer, the till never lists anyone's contact details. Each comes with
    their loyalty points balance."""
    await run_in_threadpool(till_for, db, principal, till)

    def find() -> tuple[list[customers.CustomerMatch], dict[int, int]]:
        with db.unit_of_work() as s:
            matches = customers.find_for_till(s, q)
            return matches, loyalty.balances_of(s, [c.id for c in matches])

    found, points = await run_in_threadpool(find)
    return [
        CustomerMatchOut(
            customer_id=c.id,
            name=c.name,
            email_masked=_mask_email(c.email),
            phone_masked=mask(c.phone) if c.phone else "",
            points_balance=points[c.id],
        )
        for c in found
    ]
