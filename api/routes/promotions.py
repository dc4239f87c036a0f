"""Promotions for head office and store managers (/promotions/...): CRUD of promotions and their
coupons, and a preview that runs the engine (domain/promotions.py) on a basket priced from the
catalogue, reserving nothing.

Anyone of the back office (manager, finance, admin) reads; an admin, or a manager with the
"catalog" permission, writes. A manager previews only at a location they work at. Every write
takes an Idempotency-Key; a rule that does not parse is a 422 `bad_promotion` saying what is
wrong. Promotions are master data: a sale pins the set it was priced with, so editing one never
reprices a sale in flight."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from api import idempotency
from api.deps import DbDep, IdempotencyKey, PrincipalDep
from api.errors import error_responses
from api.permissions import CATALOG, require_location, require_permission, require_role
from db.repositories import catalog
from db.repositories import promotions as repo
from db.repositories.users import Principal
from domain.errors import InvalidRequest
from domain.pricing import GIFT_CARD_SKU
from domain.promotions import Basket, BasketLine, PromotionResult, evaluate

router = APIRouter(prefix="/promotions", tags=["promotions"])
READERS = ("manager", "finance")  # and admin
WRITE_ERRORS = error_responses(401, 403, 404, 409, 422)
PromoCode = Annotated[str, Path(min_length=1, max_length=64, description="the promotion's code")]
Name = Annotated[str, Field(min_length=1, max_length=64)]
Names = Annotated[list[Name], Field(max_length=100)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PromotionIn(_Strict):
    code: Annotated[str, Field(min_length=1, max_length=64, description="e.g. SUMMER10")]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    kind: Literal["percent_off", "amount_off", "buy_x_get_y", "bundle", "tiered"]
    rule: Annotated[dict[str, Any], Field(description="the kind's rule; see docs/promotions.md")]
    priority: Annotated[int, Field(ge=-1000, le=1000)] = 0
    combines_with: Annotated[list[Literal["product", "order"]], Field(max_length=2)] = []
    channels: Annotated[list[Literal["store", "web"]], Field(max_length=2)] = []
    customer_groups: Names = []
    location_codes: Names = []
    starts_at: datetime | None = Field(None, description="wall-clock time in each store, no offset")
    ends_at: datetime | None = None
    windows: Annotated[list[dict[str, Any]], Field(max_length=20)] = []
    requires_coupon: bool = False
    currency: Annotated[str | None, Field(min_length=3, max_length=3)] = None
    budget_amount: Annotated[int | None, Field(ge=0, le=2**62)] = None
    budget_uses: Annotated[int | None, Field(ge=0, le=2**31 - 1)] = None
    active: bool = True


class PromotionOut(BaseModel):
    code: str
    name: str
    kind: str
    rule: dict[str, Any]
    priority: int
    combination_class: str
    combines_with: list[str]
    channels: list[str]
    customer_groups: list[str]
    location_codes: list[str]
    starts_at: datetime | None
    ends_at: datetime | None
    windows: list[dict[str, Any]]
    requires_coupon: bool
    currency: str | None
    budget_amount: int | None
    budget_uses: int | None
    used_amount: int
    used_uses: int
    active: bool
    version: int


class CouponIn(_Strict):
    code: Annotated[str, Field(min_length=1, max_length=64)]
    multi_use: bool = False
    per_customer_limit: Annotated[int | None, Field(ge=1, le=10_000)] = None


class CouponOut(BaseModel):
    code: str
    promotion_code: str
    multi_use: bool
    per_customer_limit: int | None
    active: bool
    uses: int


class PreviewLineIn(_Strict):
    sku: Annotated[str, Field(min_length=1, max_length=65)]
    quantity: Annotated[int, Field(ge=1, le=9999)]


class PreviewIn(_Strict):
    location: Annotated[str, Field(min_length=1, max_length=32, description="location code")]
    channel: Literal["store", "web"] = "store"
    lines: Annotated[list[PreviewLineIn], Field(min_length=1, max_length=200)]
    coupon_codes: Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=10)] = []
    customer_groups: Names = []
    customer_id: int | None = None
    at: AwareDatetime | None = Field(None, description="when (default: now), with its offset")


class LineDiscountOut(BaseModel):
    promotion_code: str
    amount: int


class PreviewLineOut(BaseModel):
    line_no: int
    sku: str
    category: str
    quantity: int
    unit_price: int
    extended: int
    discount: int
    after: int
    by_promotion: list[LineDiscountOut]


class AppliedOut(BaseModel):
    code: str
    name: str
    combination_class: str
    amount: int
    version: int
    coupon: str | None
    lines: list[int]


class SkippedOut(BaseModel):
    code: str
    reason: str


class CouponRefusalOut(BaseModel):
    code: str
    reason: str
    message: str


class PreviewOut(BaseModel):
    engine_version: int
    currency: str
    lines: list[PreviewLineOut]
    applied: list[AppliedOut]
    skipped: list[SkippedOut]
    coupons_used: list[str]
    coupons_refused: list[CouponRefusalOut]
    subtotal: int
    total_discount: int
    total: int


def _may_read(principal: Principal) -> None:
    require_role(principal, *READERS)


def _may_write(principal: Principal) -> None:
    if principal.role != "admin":
        require_role(principal, "manager")
    require_permission(principal, CATALOG)


def _draft(body: PromotionIn, code: str | None = None) -> repo.PromotionDraft:
    return repo.PromotionDraft(
        code=code or body.code,
        name=body.name,
        kind=body.kind,
        rule=body.rule,
        priority=body.priority,
        combines_with=tuple(body.combines_with),
        channels=tuple(body.channels),
        customer_groups=tuple(body.customer_groups),
        location_codes=tuple(body.location_codes),
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        windows=tuple(body.windows),
        requires_coupon=body.requires_coupon,
        currency=body.currency.upper() if body.currency else None,
        budget_amount=body.budget_amount,
        budget_uses=body.budget_uses,
        active=body.active,
    )


def _out(view: repo.PromotionView) -> PromotionOut:
    data = vars(view).copy()
    data.pop("id")
    return PromotionOut(**data)


def _scope(principal: Principal, what: str) -> str:
    return f"promotions:{principal.user_id}:{what}"


# ---- reads --------------------------------------------------------------------------------


@router.get("", response_model=list[PromotionOut], responses=error_responses(401, 403, 422))
def list_promotions(
    principal: PrincipalDep,
    db: DbDep,
    active: Annotated[bool | None, Query(description="only switched on (true) or off")] = None,
) -> Any:
    """Every promotion, highest priority first, with what its budget has used."""
    _may_read(principal)
    with db.unit_of_work() as s:
        return [_out(v) for v in repo.listing(s, active=active)]


@router.get("/{code}", response_model=PromotionOut, responses=error_responses(401, 403, 404))
def get_promotion(code: PromoCode, principal: PrincipalDep, db: DbDep) -> Any:
    """One promotion: its rule, scope, window, stacking class, budget and what is left of it."""
    _may_read(principal)
    with db.unit_of_work() as s:
        return _out(repo.get(s, code))


@router.get(
    "/{code}/coupons", response_model=list[CouponOut], responses=error_responses(401, 403, 404)
)
def list_coupons(code: PromoCode, principal: PrincipalDep, db: DbDep) -> Any:
    """The promotion's coupon codes, single or multi use, with their limits and uses so far."""
    _may_read(principal)
    with db.unit_of_work() as s:
        return [CouponOut(**vars(c)) for c in repo.coupons(s, code)]


# ---- writes -------------------------------------------------------------------------------


@router.post("", response_model=PromotionOut, status_code=201, responses=WRITE_ERRORS)
def create_promotion(
    body: PromotionIn, principal: PrincipalDep, db: DbDep, idempotency_key: IdempotencyKey = None
) -> Any:
    """A new promotion. 422 `bad_promotion` (the rule, window or scope is wrong, the message says
    how), `unknown_location`; 409 `duplicate_promotion`."""
    _may_write(principal)

    def run() -> PromotionOut:
        with db.unit_of_work() as s:
            return _out(repo.create(s, _draft(body)))

    return idempotency.once_sync(
        db,
        _scope(principal, "create"),
        idempotency_key,
        body.model_dump(mode="json"),
        run,
        status=201,
    )


@router.put("/{code}", response_model=PromotionOut, responses=WRITE_ERRORS)
def update_promotion(
    code: PromoCode,
    body: PromotionIn,
    principal: PrincipalDep,
    db: DbDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Replace a promotion's terms (the code in the path wins); its version goes up."""
    _may_write(principal)

    def run() -> PromotionOut:
        with db.unit_of_work() as s:
            return _out(repo.update(s, code, _draft(body, code)))

    request = {"code": code, **body.model_dump(mode="json")}
    return idempotency.once_sync(
        db, _scope(principal, f"put {code}"), idempotency_key, request, run
    )


@router.delete("/{code}", response_model=PromotionOut, responses=WRITE_ERRORS)
def deactivate_promotion(
    code: PromoCode, principal: PrincipalDep, db: DbDep, idempotency_key: IdempotencyKey = None
) -> Any:
    """Switch a promotion off; it keeps its history, its coupons and what it reserved."""
    _may_write(principal)

    def run() -> PromotionOut:
        with db.unit_of_work() as s:
            return _out(repo.deactivate(s, code))

    return idempotency.once_sync(
        db, _scope(principal, f"delete {code}"), idempotency_key, {"code": code}, run
    )


@router.post("/{code}/coupons", response_model=CouponOut, status_code=201, responses=WRITE_ERRORS)
def create_coupon(
    code: PromoCode,
    body: CouponIn,
    principal: PrincipalDep,
    db: DbDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """A coupon for a promotion that requires one: single use (default) or multi use, with an
    optional limit per customer. 409 `duplicate_coupon`; 422 `bad_coupon`."""
    _may_write(principal)

    def run() -> CouponOut:
        with db.unit_of_work() as s:
            view = repo.add_coupon(
                s,
                code,
                body.code,
                multi_use=body.multi_use,
                per_customer_limit=body.per_customer_limit,
            )
            return CouponOut(**vars(view))

    request = {"promotion": code, **body.model_dump(mode="json")}
    return idempotency.once_sync(
        db, _scope(principal, f"coupon {code}"), idempotency_key, request, run, status=201
    )


@router.delete("/coupons/{coupon}", response_model=CouponOut, responses=WRITE_ERRORS)
def deactivate_coupon(
    coupon: Annotated[str, Path(min_length=1, max_length=64)],
    principal: PrincipalDep,
    db: DbDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Switch a coupon off (what it was used for stays)."""
    _may_write(principal)

    def run() -> CouponOut:
        with db.unit_of_work() as s:
            return CouponOut(**vars(repo.deactivate_coupon(s, coupon)))

    return idempotency.once_sync(
        db, _scope(principal, f"delete coupon {coupon}"), idempotency_key, {"c": coupon}, run
    )


# ---- preview ------------------------------------------------------------------------------


@router.post("/preview", response_model=PreviewOut, responses=error_responses(401, 403, 404, 422))
def preview(body: PreviewIn, principal: PrincipalDep, db: DbDep) -> Any:
    """What the engine gives a basket at a location, line by line, priced from the catalogue
    (a client's price is never used). Reserves nothing, so it needs no Idempotency-Key."""
    _may_read(principal)
    with db.unit_of_work() as s:
        loc = repo.location(s, body.location)
        require_location(principal, loc.id, loc.code)
        items = catalog.items_by_sku(s, loc.id, [x.sku for x in body.lines])
        lines = []
        for n, x in enumerate(body.lines, start=1):
            item = items.get(x.sku)
            if item is None or item.unit_price is None or x.sku == GIFT_CARD_SKU:
                raise InvalidRequest(
                    f"Line {n} ({x.sku}): not sold at {loc.code} at a catalogue price.",
                    code="unknown_sku",
                )
            lines.append(
                BasketLine(
                    line_no=n,
                    sku=x.sku,
                    category=item.category,
                    quantity=x.quantity,
                    unit_price=item.unit_price,
                    tax_code=item.tax_code,
                    name=item.name,
                )
            )
        at = body.at or datetime.now(UTC)
        promos = repo.active_set(s, loc.code, body.channel, at)
        coupons = repo.coupon_states(s, body.coupon_codes, body.customer_id)
        basket = Basket(
            lines=tuple(lines),
            currency=loc.currency,
            channel=body.channel,
            at=at,
            timezone=loc.timezone,
            customer_groups=frozenset(body.customer_groups),
            has_customer=body.customer_id is not None,
            coupon_codes=tuple(body.coupon_codes),
        )
        result = evaluate(basket, promos, coupons)
    return _preview_out(basket, result)


def _preview_out(basket: Basket, result: PromotionResult) -> PreviewOut:
    by_line = {x.line_no: x for x in result.lines}
    out_lines = []
    for x in basket.lines:
        r = by_line[x.line_no]
        out_lines.append(
            PreviewLineOut(
                line_no=x.line_no,
                sku=x.sku,
                category=x.category,
                quantity=x.quantity,
                unit_price=x.unit_price,
                extended=x.extended,
                discount=r.discount,
                after=x.extended - r.discount,
                by_promotion=[LineDiscountOut(**vars(d)) for d in r.by_promotion],
            )
        )
    subtotal = sum(x.extended for x in basket.lines)
    return PreviewOut(
        engine_version=result.engine_version,
        currency=basket.currency,
        lines=out_lines,
        applied=[AppliedOut(**{**vars(a), "lines": list(a.lines)}) for a in result.applied],
        skipped=[SkippedOut(**vars(sk)) for sk in result.skipped],
        coupons_used=list(result.coupons_used),
        coupons_refused=[CouponRefusalOut(**vars(c)) for c in result.coupons_refused],
        subtotal=subtotal,
        total_discount=result.total_discount,
        total=subtotal - result.total_discount,
    )
