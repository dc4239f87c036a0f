"""Promotions and coupons: the active set for a location and channel (ready for the engine in
domain/promotions.py), CRUD for head office, and the budget reservation a sale makes.

`reserve` locks the promotion's row (SELECT ... FOR UPDATE), so concurrent sales taking the same
promotion or coupon queue on it and see each other's rows: a budget of 5 uses gives exactly 5
reservations, however many tills try at once. Both ledgers are append-only and keyed by the sale's
or order's workflow id; `release` (the saga's compensation) adds a "release" row. Both are
idempotent: a retried activity gets the same answer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from contracts.promotions import PinnedPromotion, PromotionPin, PromotionReservation
from db.models import Location
from db.models_promotions import (
    Coupon,
    CouponRedemption,
    PromotionBudgetUsage,
    PromotionRow,
    PromotionVersion,
)
from domain.errors import Conflict, InvalidRequest, NotFound
from domain.promotions import (
    CouponState,
    Promotion,
    check_promotion,
    combination_class,
    normalise_code,
    parse_rule,
    parse_window,
)

BUDGET_SPENT = "promotion_budget_spent"
COUPON_USED = "coupon_used"
COUPON_CUSTOMER_LIMIT = "coupon_customer_limit"
DAY = timedelta(days=1)  # a promotion over by more than this is left out of a pin


@dataclass(frozen=True, kw_only=True)
class PromotionDraft:
    """What head office sends for a promotion (checked by `validate`)."""

    code: str
    name: str
    kind: str
    rule: dict[str, Any]
    priority: int = 0
    combines_with: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    customer_groups: tuple[str, ...] = ()
    location_codes: tuple[str, ...] = ()
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    windows: tuple[dict[str, Any], ...] = ()
    requires_coupon: bool = False
    currency: str | None = None
    budget_amount: int | None = None
    budget_uses: int | None = None
    active: bool = True


@dataclass(frozen=True)
class PromotionView:
    id: int
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


@dataclass(frozen=True)
class CouponView:
    code: str
    promotion_code: str
    multi_use: bool
    per_customer_limit: int | None
    active: bool
    uses: int


@dataclass(frozen=True)
class Reservation:
    promotion_id: int
    key: str
    amount: int
    coupon_code: str | None


# ---- building the engine's input ------------------------------------------------------------


def validate(session: Session, draft: PromotionDraft) -> Promotion:
    """The draft as the engine would take it; every problem a 422 (code bad_promotion)."""
    code = normalise_code(draft.code)
    if not code or len(code) > 64:
        raise InvalidRequest("A promotion's code is 1 to 64 characters.", code="bad_promotion")
    if draft.budget_amount is not None and draft.budget_amount < 0:
        raise InvalidRequest("budget_amount cannot be negative.", code="bad_promotion")
    if draft.budget_uses is not None and draft.budget_uses < 0:
        raise InvalidRequest("budget_uses cannot be negative.", code="bad_promotion")
    if draft.budget_amount is not None and not draft.currency:
        raise InvalidRequest("A budget of money needs the currency.", code="bad_promotion")
    for moment in (draft.starts_at, draft.ends_at):
        if moment is not None and moment.tzinfo is not None:
            raise InvalidRequest(
                "starts_at and ends_at are wall-clock times in each store's timezone: give them "
                "without an offset (e.g. 2026-12-24T09:00:00).",
                code="bad_promotion",
            )
    promo = Promotion(
        code=code,
        name=draft.name,
        kind=draft.kind,  # type: ignore[arg-type]  # parse_rule refuses an unknown kind
        rule=parse_rule(draft.kind, draft.rule),
        priority=draft.priority,
        combines_with=frozenset(draft.combines_with),
        channels=frozenset(draft.channels),
        customer_groups=frozenset(g.strip().lower() for g in draft.customer_groups),
        starts_at=draft.starts_at,
        ends_at=draft.ends_at,
        windows=tuple(parse_window(w) for w in draft.windows),
        requires_coupon=draft.requires_coupon,
        currency=draft.currency,
        active=draft.active,
    )
    check_promotion(promo)
    if draft.location_codes:
        known = set(
            session.scalars(select(Location.code).where(Location.code.in_(draft.location_codes)))
        )
        missing = sorted(set(draft.location_codes) - known)
        if missing:
            raise InvalidRequest(
                f"There is no location {', '.join(missing)}.", code="unknown_location"
            )
    return promo


def _usage(session: Session, promotion_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """(discount, uses) reserved and not released, per promotion."""
    if not promotion_ids:
        return {}
    rows = session.execute(
        select(
            PromotionBudgetUsage.promotion_id,
            PromotionBudgetUsage.kind,
            func.sum(PromotionBudgetUsage.amount),
            func.count(),
        )
        .where(PromotionBudgetUsage.promotion_id.in_(promotion_ids))
        .group_by(PromotionBudgetUsage.promotion_id, PromotionBudgetUsage.kind)
    ).all()
    out: dict[int, tuple[int, int]] = {}
    for pid, kind, amount, count in rows:
        a, n = out.get(pid, (0, 0))
        k = 1 if kind == "reserve" else -1
        out[pid] = (a + k * int(amount or 0), n + k * int(count))
    return out


def active_set(
    session: Session, location_code: str, channel: str, at: datetime | None = None
) -> tuple[Promotion, ...]:
    """Every switched-on promotion that may apply at the location on the channel, with its
    remaining budget (the engine checks the time window itself, in the store's timezone; `at`
    only drops promotions long over: an end more than a day before it)."""
    return engine_set(session, pin(session, location_code, channel, at=at))


def coupon_states(
    session: Session, codes: Sequence[str], customer_id: int | None
) -> tuple[CouponState, ...]:
    """The coupons entered (those that exist) with their uses so far, the customer's too."""
    wanted = sorted({normalise_code(c) for c in codes if c.strip()})
    if not wanted:
        return ()
    found = session.execute(
        select(Coupon, PromotionRow.code)
        .join(PromotionRow, PromotionRow.id == Coupon.promotion_id)
        .where(Coupon.code.in_(wanted))
    ).all()
    states = []
    for coupon, promotion_code in found:
        states.append(
            CouponState(
                code=coupon.code,
                promotion_code=promotion_code,
                multi_use=coupon.multi_use,
                per_customer_limit=coupon.per_customer_limit,
                uses=_coupon_uses(session, coupon.id, None),
                customer_uses=0
                if customer_id is None
                else _coupon_uses(session, coupon.id, customer_id),
                active=coupon.active,
            )
        )
    return tuple(states)


def _coupon_uses(session: Session, coupon_id: int, customer_id: int | None) -> int:
    q = select(CouponRedemption.kind, func.count()).where(CouponRedemption.coupon_id == coupon_id)
    if customer_id is not None:
        q = q.where(CouponRedemption.customer_id == customer_id)
    counts = {kind: n for kind, n in session.execute(q.group_by(CouponRedemption.kind)).all()}
    return int(counts.get("reserve", 0)) - int(counts.get("release", 0))


# ---- CRUD -----------------------------------------------------------------------------------


def _view(row: PromotionRow, used: tuple[int, int]) -> PromotionView:
    return PromotionView(
        id=row.id,
        code=row.code,
        name=row.name,
        kind=row.kind,
        rule=row.rule,
        priority=row.priority,
        combination_class=row.combination_class,
        combines_with=list(row.combines_with),
        channels=list(row.channels),
        customer_groups=list(row.customer_groups),
        location_codes=list(row.location_codes),
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        windows=list(row.windows),
        requires_coupon=row.requires_coupon,
        currency=row.currency,
        budget_amount=row.budget_amount,
        budget_uses=row.budget_uses,
        used_amount=used[0],
        used_uses=used[1],
        active=row.active,
        version=row.version,
    )


def _row(session: Session, code: str, *, lock: bool = False) -> PromotionRow:
    q = select(PromotionRow).where(PromotionRow.code == normalise_code(code))
    row = session.scalar(q.with_for_update() if lock else q)
    if row is None:
        raise NotFound(f"There is no promotion {normalise_code(code)}.", code="unknown_promotion")
    return row


def get(session: Session, code: str) -> PromotionView:
    row = _row(session, code)
    return _view(row, _usage(session, [row.id]).get(row.id, (0, 0)))


def listing(session: Session, *, active: bool | None = None) -> list[PromotionView]:
    q = select(PromotionRow).order_by(PromotionRow.priority.desc(), PromotionRow.code)
    if active is not None:
        q = q.where(PromotionRow.active == active)
    rows = list(session.scalars(q))
    used = _usage(session, [r.id for r in rows])
    return [_view(r, used.get(r.id, (0, 0))) for r in rows]


def _fill(row: PromotionRow, draft: PromotionDraft, promo: Promotion) -> None:
    row.name = draft.name
    row.kind = draft.kind
    row.rule = draft.rule
    row.priority = draft.priority
    row.combination_class = combination_class(promo.rule)
    row.combines_with = sorted(set(draft.combines_with))
    row.channels = sorted(set(draft.channels))
    row.customer_groups = sorted({g.strip().lower() for g in draft.customer_groups})
    row.location_codes = sorted(set(draft.location_codes))
    row.starts_at = draft.starts_at
    row.ends_at = draft.ends_at
    row.windows = list(draft.windows)
    row.requires_coupon = draft.requires_coupon
    row.currency = draft.currency
    row.budget_amount = draft.budget_amount
    row.budget_uses = draft.budget_uses
    row.active = draft.active


def create(session: Session, draft: PromotionDraft) -> PromotionView:
    promo = validate(session, draft)
    if session.scalar(select(PromotionRow.id).where(PromotionRow.code == promo.code)) is not None:
        raise Conflict(f"There is a promotion {promo.code} already.", code="duplicate_promotion")
    row = PromotionRow(code=promo.code, version=1)
    _fill(row, draft, promo)
    session.add(row)
    session.flush()
    _record_version(session, row)
    return _view(row, (0, 0))


def update(session: Session, code: str, draft: PromotionDraft) -> PromotionView:
    """Replace a promotion's terms (its code stays); the version goes up. A sale already priced
    keeps the set it pinned."""
    row = _row(session, code, lock=True)
    promo = validate(session, PromotionDraft(**{**vars(draft), "code": row.code}))
    _fill(row, draft, promo)
    row.version += 1
    row.updated_at = func.now()
    session.flush()
    session.refresh(row)
    _record_version(session, row)
    return _view(row, _usage(session, [row.id]).get(row.id, (0, 0)))


def deactivate(session: Session, code: str) -> PromotionView:
    """Switch a promotion off (it keeps its history and its coupons)."""
    row = _row(session, code, lock=True)
    if row.active:
        row.active = False
        row.version += 1
        session.flush()
        _record_version(session, row)
    return _view(row, _usage(session, [row.id]).get(row.id, (0, 0)))


def add_coupon(
    session: Session,
    promotion_code: str,
    code: str,
    *,
    multi_use: bool,
    per_customer_limit: int | None,
) -> CouponView:
    row = _row(session, promotion_code)
    coupon_code = normalise_code(code)
    if not coupon_code or len(coupon_code) > 64:
        raise InvalidRequest("A coupon's code is 1 to 64 characters.", code="bad_coupon")
    if per_customer_limit is not None and per_customer_limit < 1:
        raise InvalidRequest("per_customer_limit is at least 1.", code="bad_coupon")
    if session.scalar(select(Coupon.id).where(Coupon.code == coupon_code)) is not None:
        raise Conflict(f"There is a coupon {coupon_code} already.", code="duplicate_coupon")
    if not row.requires_coupon:
        raise InvalidRequest(
            f"Promotion {row.code} applies by itself; set requires_coupon to give it coupons.",
            code="bad_coupon",
        )
    session.add(
        Coupon(
            code=coupon_code,
            promotion_id=row.id,
            multi_use=multi_use,
            per_customer_limit=per_customer_limit,
            active=True,
        )
    )
    session.flush()
    return CouponView(coupon_code, row.code, multi_use, per_customer_limit, True, 0)


def coupons(session: Session, promotion_code: str) -> list[CouponView]:
    row = _row(session, promotion_code)
    found = session.scalars(
        select(Coupon).where(Coupon.promotion_id == row.id).order_by(Coupon.code)
    )
    return [
        CouponView(
            c.code,
            row.code,
            c.multi_use,
            c.per_customer_limit,
            c.active,
            _coupon_uses(session, c.id, None),
        )
        for c in found
    ]


def deactivate_coupon(session: Session, code: str) -> CouponView:
    coupon = session.scalar(
        select(Coupon).where(Coupon.code == normalise_code(code)).with_for_update()
    )
    if coupon is None:
        raise NotFound(f"There is no coupon {normalise_code(code)}.", code="unknown_coupon")
    coupon.active = False
    promotion_code = session.scalar(
        select(PromotionRow.code).where(PromotionRow.id == coupon.promotion_id)
    )
    session.flush()
    return CouponView(
        coupon.code,
        promotion_code or "",
        coupon.multi_use,
        coupon.per_customer_limit,
        False,
        _coupon_uses(session, coupon.id, None),
    )


# ---- reservation ----------------------------------------------------------------------------


def reserve(
    session: Session,
    promotion_id: int,
    coupon_code: str | None,
    customer_id: int | None,
    key: str,
    amount: int,
) -> Reservation:
    """Take `amount` of the promotion's budget and one use (and the coupon, if one) for the sale
    `key`; refused (Conflict) when the budget, the uses, the single-use coupon or the customer's
    limit is spent. Locks the promotion's row: concurrent sales queue here. Idempotent per key."""
    if amount < 0:
        raise InvalidRequest("A reservation cannot be negative.", code="bad_reservation")
    row = session.scalar(
        select(PromotionRow).where(PromotionRow.id == promotion_id).with_for_update()
    )
    if row is None:
        raise NotFound(f"There is no promotion {promotion_id}.", code="unknown_promotion")
    done = session.scalar(
        select(PromotionBudgetUsage)
        .where(
            PromotionBudgetUsage.promotion_id == promotion_id,
            PromotionBudgetUsage.key == key,
        )
        .order_by(PromotionBudgetUsage.id.desc())
        .limit(1)
    )
    if done is not None and done.kind == "reserve":
        return Reservation(promotion_id, key, done.amount, done.coupon_code)
    if done is not None:
        raise Conflict(
            f"Sale {key} gave promotion {row.code} back already; it cannot take it again.",
            code="reservation_released",
        )
    if not row.active:
        raise Conflict(f"Promotion {row.code} is switched off.", code="promotion_inactive")
    used_amount, used_uses = _usage(session, [row.id]).get(row.id, (0, 0))
    if row.budget_uses is not None and used_uses >= row.budget_uses:
        raise Conflict(f"Promotion {row.code} has been used up.", code=BUDGET_SPENT)
    if row.budget_amount is not None and used_amount + amount > row.budget_amount:
        raise Conflict(
            f"Promotion {row.code} has {row.budget_amount - used_amount} of its budget left, "
            f"not {amount}.",
            code=BUDGET_SPENT,
        )
    code = None
    if coupon_code is not None:
        code = normalise_code(coupon_code)
        coupon = session.scalar(
            select(Coupon).where(Coupon.code == code, Coupon.promotion_id == row.id)
        )
        if coupon is None or not coupon.active:
            raise Conflict(f"Coupon {code} is not valid for {row.code}.", code="coupon_invalid")
        if not coupon.multi_use and _coupon_uses(session, coupon.id, None) >= 1:
            raise Conflict(f"Coupon {code} has been used.", code=COUPON_USED)
        if coupon.per_customer_limit is not None:
            if customer_id is None:
                raise Conflict(
                    f"Coupon {code} is limited per customer: the sale needs its customer.",
                    code=COUPON_CUSTOMER_LIMIT,
                )
            if _coupon_uses(session, coupon.id, customer_id) >= coupon.per_customer_limit:
                raise Conflict(
                    f"This customer has used coupon {code} as often as allowed.",
                    code=COUPON_CUSTOMER_LIMIT,
                )
        session.add(
            CouponRedemption(coupon_id=coupon.id, customer_id=customer_id, key=key, kind="reserve")
        )
    session.add(
        PromotionBudgetUsage(
            promotion_id=row.id,
            key=key,
            kind="reserve",
            amount=amount,
            coupon_code=code,
            customer_id=customer_id,
        )
    )
    session.flush()
    return Reservation(row.id, key, amount, code)


def release(session: Session, key: str) -> int:
    """Give back everything the sale `key` reserved (its compensation); idempotent. The number of
    promotions given back."""
    rows = list(
        session.scalars(
            select(PromotionBudgetUsage)
            .where(PromotionBudgetUsage.key == key)
            .order_by(PromotionBudgetUsage.promotion_id, PromotionBudgetUsage.id)
        )
    )
    released = {r.promotion_id for r in rows if r.kind == "release"}
    todo = [r for r in rows if r.kind == "reserve" and r.promotion_id not in released]
    for r in todo:
        session.scalar(
            select(PromotionRow.id).where(PromotionRow.id == r.promotion_id).with_for_update()
        )
        session.add(
            PromotionBudgetUsage(
                promotion_id=r.promotion_id,
                key=key,
                kind="release",
                amount=r.amount,
                coupon_code=r.coupon_code,
                customer_id=r.customer_id,
            )
        )
    taken = list(session.scalars(select(CouponRedemption).where(CouponRedemption.key == key)))
    given = {c.coupon_id for c in taken if c.kind == "release"}
    for c in taken:
        if c.kind == "reserve" and c.coupon_id not in given:
            session.add(
                CouponRedemption(
                    coupon_id=c.coupon_id, customer_id=c.customer_id, key=key, kind="release"
                )
            )
    session.flush()
    return len(todo)


def promotion_id(session: Session, code: str) -> int:
    return _row(session, code).id


@dataclass(frozen=True)
class PlaceView:
    id: int
    code: str
    timezone: str
    currency: str


def location(session: Session, code: str) -> PlaceView:
    """The location a basket is priced at (its timezone and currency)."""
    loc = session.scalar(select(Location).where(Location.code == code))
    if loc is None:
        raise NotFound(f"There is no location {code}.", code="unknown_location")
    return PlaceView(loc.id, loc.code, loc.timezone, loc.currency)


# ---- pins: the set a sale is priced with ----------------------------------------------------


def _terms(row: PromotionRow) -> dict[str, Any]:
    """A promotion's terms as saved (its budget's size is not part of them: only whether it has
    one)."""
    return {
        "code": row.code,
        "name": row.name,
        "kind": row.kind,
        "rule": row.rule,
        "priority": row.priority,
        "combines_with": list(row.combines_with),
        "channels": list(row.channels),
        "customer_groups": list(row.customer_groups),
        "location_codes": list(row.location_codes),
        "starts_at": row.starts_at.isoformat() if row.starts_at else None,
        "ends_at": row.ends_at.isoformat() if row.ends_at else None,
        "windows": list(row.windows),
        "requires_coupon": row.requires_coupon,
        "currency": row.currency,
        "budgeted": row.budget_amount is not None or row.budget_uses is not None,
        "active": row.active,
    }


def _record_version(session: Session, row: PromotionRow) -> None:
    session.add(
        PromotionVersion(
            promotion_id=row.id, version=row.version, terms=_terms(row), recorded_at=func.now()
        )
    )
    session.flush()


def _moment(raw: object) -> datetime | None:
    return datetime.fromisoformat(raw) if isinstance(raw, str) and raw else None


def _pinned(promotion_id: int, version: int, t: dict[str, Any]) -> PinnedPromotion:
    return PinnedPromotion(
        promotion_id=promotion_id,
        code=str(t["code"]),
        name=str(t["name"]),
        kind=str(t["kind"]),
        rule=dict(t["rule"]),
        priority=int(t.get("priority") or 0),
        combines_with=tuple(t.get("combines_with") or ()),
        channels=tuple(t.get("channels") or ()),
        customer_groups=tuple(t.get("customer_groups") or ()),
        starts_at=_moment(t.get("starts_at")),
        ends_at=_moment(t.get("ends_at")),
        windows=tuple(dict(w) for w in t.get("windows") or ()),
        requires_coupon=bool(t.get("requires_coupon")),
        currency=t.get("currency"),
        version=version,
        budgeted=bool(t.get("budgeted")),
    )


def _fits(
    t: dict[str, Any], location_code: str, channel: str, at: datetime | None, offline: bool
) -> bool:
    """Active, for this location and channel, not long over; offline: neither a coupon nor a
    budget (a till without the network can check neither)."""
    ends = _moment(t.get("ends_at"))
    return (
        bool(t.get("active"))
        and (not t.get("location_codes") or location_code in t["location_codes"])
        and (not t.get("channels") or channel in t["channels"])
        and not (at is not None and ends is not None and at.replace(tzinfo=None) - ends >= DAY)
        and not (offline and (t.get("requires_coupon") or t.get("budgeted")))
    )


def pin(
    session: Session,
    location_code: str,
    channel: str,
    *,
    at: datetime | None = None,
    offline: bool = False,
) -> PromotionPin:
    """The promotions a sale or order at the location on the channel is priced with, as they are
    now (the engine checks their time windows in the store's timezone itself)."""
    rows = session.scalars(
        select(PromotionRow).where(PromotionRow.active).order_by(PromotionRow.code)
    )
    found = []
    for r in rows:
        terms = _terms(r)
        if _fits(terms, location_code, channel, at, offline):
            found.append(_pinned(r.id, r.version, terms))
    return PromotionPin(promotions=tuple(found))


def pin_at(
    session: Session, location_code: str, channel: str, at: datetime, *, offline: bool = False
) -> PromotionPin:
    """The promotions as they were at `at` (from their history): how an offline sale is priced
    at its replay, whatever changed since."""
    latest = (
        select(PromotionVersion.promotion_id, func.max(PromotionVersion.version))
        .where(PromotionVersion.recorded_at <= at)
        .group_by(PromotionVersion.promotion_id)
    )
    rows = session.scalars(
        select(PromotionVersion)
        .where(tuple_(PromotionVersion.promotion_id, PromotionVersion.version).in_(latest))
        .order_by(PromotionVersion.promotion_id)
    )
    return PromotionPin(
        promotions=tuple(
            _pinned(v.promotion_id, v.version, v.terms)
            for v in rows
            if _fits(v.terms, location_code, channel, at, offline)
        )
    )


def engine_set(session: Session, pinned: PromotionPin) -> tuple[Promotion, ...]:
    """The pinned promotions for the engine, each with what is left of its budget now."""
    budgeted = [p.promotion_id for p in pinned.promotions if p.budgeted]
    budgets: dict[int, tuple[int | None, int | None]] = {}
    if budgeted:
        budgets = {
            pid: (amount, uses)
            for pid, amount, uses in session.execute(
                select(PromotionRow.id, PromotionRow.budget_amount, PromotionRow.budget_uses).where(
                    PromotionRow.id.in_(budgeted)
                )
            )
        }
    used = _usage(session, budgeted)
    out = []
    for p in pinned.promotions:
        amount, uses = budgets.get(p.promotion_id, (None, None)) if p.budgeted else (None, None)
        spent_amount, spent_uses = used.get(p.promotion_id, (0, 0))
        out.append(
            p.to_engine(
                None if amount is None else max(0, amount - spent_amount),
                None if uses is None else max(0, uses - spent_uses),
            )
        )
    return tuple(out)


def take(session: Session, cmd: PromotionReservation) -> tuple[Reservation, ...]:
    """Reserve every budget and coupon the sale takes, in promotion order (so two sales never
    wait on each other's locks in opposite orders); refused (Conflict) as `reserve` refuses."""
    return tuple(
        reserve(session, t.promotion_id, t.coupon or None, cmd.customer_id, cmd.key, t.amount)
        for t in sorted(cmd.takes, key=lambda t: t.promotion_id)
    )


def last_change(session: Session) -> int:
    """Moves whenever any promotion is saved (an offline till's snapshot is then stale)."""
    return int(session.scalar(select(func.max(PromotionVersion.id))) or 0)


def location_code(session: Session, location_id: int) -> str:
    code = session.scalar(select(Location.code).where(Location.id == location_id))
    if code is None:
        raise NotFound(f"There is no location {location_id}.")
    return code
