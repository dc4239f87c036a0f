"""The storefront's prices: a cart priced with our promotions and the coupons the shopper entered,
by the same engine as the till (GET /storefront/carts/{cart_id}/quote)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from api import ratelimit
from api.deps import DbDep
from api.errors import error_responses
from api.routes.storefront import CartId, StoreDep
from api.schemas import CouponCode, PricedLineOut, QuoteOut, SalePromotionOut, TaxOut
from api.storefront_pricing import own_cart, price_cart

router = APIRouter(
    prefix="/storefront",
    tags=["storefront"],
    dependencies=[ratelimit.STOREFRONT],
    responses=ratelimit.RATE_LIMITED,
)


@router.get(
    "/carts/{cart_id}/quote", response_model=QuoteOut, responses=error_responses(401, 404, 422)
)
async def quote_cart(
    cart_id: CartId,
    store: StoreDep,
    db: DbDep,
    coupon: Annotated[
        list[CouponCode] | None, Query(max_length=10, description="a coupon entered; repeatable")
    ] = None,
) -> QuoteOut:
    """The cart priced: each line with what each promotion took off it, tax and totals, and why a
    coupon cannot be honoured (checkout with it is refused, 409 coupon_refused). Reserves
    nothing."""
    view = await run_in_threadpool(own_cart, db, store, cart_id)
    priced = await run_in_threadpool(price_cart, db, store, view, tuple(coupon or ()))
    q = priced.quote
    return QuoteOut(
        currency=q.currency,
        prices_include_tax=q.prices_include_tax,
        lines=[PricedLineOut.model_validate(ln, from_attributes=True) for ln in q.lines],
        taxes=[TaxOut.model_validate(t, from_attributes=True) for t in q.taxes],
        subtotal=q.subtotal,
        tax_total=q.tax_total,
        total=q.total,
        promotions=[SalePromotionOut(**asdict(p)) for p in priced.promoted.lines],
        promotion_total=priced.promoted.total,
        coupons_refused=list(priced.promoted.refused),
    )
