"""The sale's short database steps; run as local activities, each one transaction and idempotent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.orm import Session
from temporalio import activity

from activities.receipts import receipt_of, receipt_of_sale
from contracts.errors import encode_errors
from contracts.online import StockTaken
from contracts.promotions import PromotionRelease, PromotionReservation
from contracts.sale import (
    GIFT_CARD_SKU,
    AppliedChange,
    GiftCardIssue,
    IssuedGiftCard,
    OrderRecord,
    PricedSale,
    RecordedOrder,
    SaleApprovalRecord,
    SaleRequest,
    StockCommit,
    StockOutcome,
    StockRestore,
)
from db.pricing import BasketItem, PricedBasket, adjusted_quote, catalog_items, price_for_till
from db.promotion_pricing import NOTHING, PromotionScope, line_promotions, refuse_coupons
from db.repositories import (
    balances,
    bookkeeping,
    catalog,
    customers,
    fiscal,  # issue 20
    orders,
    promotions,
    reservations,
    shifts,
    stock,
    users,
)
from db.repositories import events as outbound_events  # issue 19
from db.repositories.catalog import TillView
from db.session import Database
from domain.discounts import Adjustment, approval_reason
from domain.errors import Conflict, InvalidRequest, NotFound
from domain.pricing import Quote

GIFT_CARD_MIN, GIFT_CARD_MAX = 500, 50_000  # minor units a gift card may be sold for


def _sale_key(workflow_id: str, line_no: int) -> str:
    return f"{workflow_id}:stock:{line_no}"


def _basket(req: SaleRequest) -> list[BasketItem]:
    """SKUs and quantities, priced from the catalogue only (a gift card: the value chosen, within
    bounds); an offline sale is priced as its time had it, never at the till's word."""
    items = [BasketItem(ln.sku, ln.quantity) for ln in req.lines]
    for g in req.gift_cards:
        if not GIFT_CARD_MIN <= g.amount <= GIFT_CARD_MAX:
            raise InvalidRequest(
                f"A gift card can be sold for {GIFT_CARD_MIN / 100:.2f} to "
                f"{GIFT_CARD_MAX / 100:.2f}."
            )
        items.append(BasketItem(GIFT_CARD_SKU, 1, g.amount))
    return items


@encode_errors
class SaleActivities:
    """Pricing, stock, gift card issue and the order record of a till sale."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @activity.defn(name="sale.price")
    def price(self, req: SaleRequest) -> PricedSale:
        """Price the basket with the store's prices and tax (an offline sale's: as of its time)."""
        with self.db.unit_of_work() as s:
            return price_sale(s, req)

    @activity.defn(name="sale.take_promotions")
    def take_promotions(self, cmd: PromotionReservation) -> int:
        """Reserve the budgets and coupons the sale's promotions use (409 when another sale took
        the last of them first: the sale is rung up again without it); once per sale."""
        with self.db.unit_of_work() as s:
            return len(promotions.take(s, cmd))

    @activity.defn(name="sale.release_promotions")
    def release_promotions(self, cmd: PromotionRelease) -> int:
        """Compensation: give back every budget and coupon the sale reserved, once."""
        with self.db.unit_of_work() as s:
            return promotions.release(s, cmd.key)

    @activity.defn(name="sale.commit_stock")
    def commit_stock(self, cmd: StockCommit) -> StockOutcome:
        """Take the goods off on_hand; goods in the customer's hand are sold even at zero."""
        with self.db.unit_of_work() as s:
            return take_stock(s, cmd)

    @activity.defn(name="sale.restore_stock")
    def restore_stock(self, cmd: StockRestore) -> int:
        """Compensation: put back every unit this sale took, once."""
        with self.db.unit_of_work() as s:
            taken = [
                m
                for m in stock.movements_with_key_prefix(s, f"{cmd.workflow_id}:stock:")
                if m.location_id == cmd.location_id and m.reason == "sale"
            ]
            moves = [
                stock.Movement(
                    m.sku,
                    -m.delta,
                    "sale_reversal",
                    m.reference,
                    f"{cmd.workflow_id}:restock:{(m.idempotency_key or '').rsplit(':', 1)[-1]}",
                )
                for m in taken
            ]
            applied = stock.apply_movements(
                s, cmd.location_id, moves, workflow_id=cmd.workflow_id, occurred_at=cmd.occurred_at
            )
        return sum(1 for a in applied if a.applied)

    @activity.defn(name="sale.issue_gift_cards")
    def issue_gift_cards(self, cmd: GiftCardIssue) -> tuple[IssuedGiftCard, ...]:
        """Issue (or reload) the gift cards the customer paid for; once per sale and line."""
        out = []
        with self.db.unit_of_work() as s:
            for i, (amount, code) in enumerate(
                zip(cmd.amounts, cmd.reload_codes, strict=True), start=1
            ):
                key = f"{cmd.workflow_id}:giftcard:{i}"
                if code:
                    posted = balances.post_gift_card(
                        s,
                        code,
                        delta=amount,
                        reason="reload",
                        reference=cmd.workflow_id,
                        key=key,
                        currency=cmd.currency,  # issue 19: a card reloads in its own currency
                    )
                    out.append(
                        IssuedGiftCard(
                            code=code.strip().upper(), amount=amount, balance=posted.balance
                        )
                    )
                else:
                    card = balances.issue_gift_card(
                        s, amount=amount, currency=cmd.currency, key=key, reference=cmd.workflow_id
                    )
                    out.append(IssuedGiftCard(code=card.code, amount=amount, balance=card.balance))
        return tuple(out)

    @activity.defn(name="sale.record_approval")
    def record_approval(self, cmd: SaleApprovalRecord) -> None:
        """A manager approved the sale's adjustments at the till: one audit row (once)."""
        with self.db.unit_of_work() as s:
            subject = f"sale:{cmd.workflow_id}"
            if any(
                e.action == "sale.override_approved" for e in bookkeeping.audit_entries(s, subject)
            ):
                return
            bookkeeping.audit(
                s,
                action="sale.override_approved",
                subject=subject,
                actor_user_id=cmd.manager_user_id,
                workflow_id=cmd.workflow_id,
                location_id=cmd.location_id,
                detail={
                    "till": cmd.till_code,
                    "cashier_id": cmd.cashier_id,
                    "note": cmd.note,
                    "adjustments": [
                        {
                            "scope": c.scope,
                            "line": c.line,
                            "kind": c.kind,
                            "value": c.value,
                            "reason": c.reason,
                            "amount": c.amount,
                        }
                        for c in cmd.adjustments
                        if c.needs_manager
                    ],
                },
            )

    @activity.defn(name="sale.record_order")
    def record_order(self, cmd: OrderRecord) -> RecordedOrder:
        """Record the completed sale as an order; the number is what the receipt barcode carries."""
        with self.db.unit_of_work() as s:
            return record_order(s, cmd)


# ---- the steps themselves, each inside the caller's transaction ---------------------------------
# The one-transaction cash checkout (activities/cash_sale.py) runs them back to back.


def sale_till(s: Session, till_code: str) -> TillView:
    """The till a sale is rung up at; an unknown one is a non-retryable refusal."""
    till = catalog.till_view(s, till_code)
    if till is None:
        raise NotFound(f"Till {till_code} does not exist.")
    return till


def price_sale(s: Session, req: SaleRequest, till: TillView | None = None) -> PricedSale:
    """Price the basket with the till's store prices and tax; refusals as non-retryable errors."""
    till = till or sale_till(s, req.till_code)
    if req.customer_id is not None and not customers.exists(s, req.customer_id):
        raise NotFound(f"There is no customer {req.customer_id}.")
    basket = _basket(req)
    for g in req.gift_cards:
        if g.reload_code:
            balances.gift_card(s, g.reload_code)  # unknown code: refuse before any money moves
    # An offline sale: the catalogue as it was when the till sold it (prices are never
    # overwritten, so this is what the till's snapshot could have held at the time).
    at = req.sold_at if req.offline else None
    shift_id = _shift_of(s, req, till)
    items = catalog_items(s, till, basket, at)
    scope = _promotion_scope(s, req, till)
    if req.adjustments or scope is not None:
        priced = _adjusted_quote(s, req, till, basket, items, scope)
        quote, changes, promoted = priced.quote, _changes(priced), priced.promoted
    else:
        quote, changes, promoted = price_for_till(s, till, basket, items, at=at), (), NOTHING
    refuse_coupons(promoted)
    untracked = {sku for sku, item in items.items() if not item.tracks_stock}
    lines = quote.lines
    return PricedSale(
        till_id=till.till_id,
        location_id=till.location_id,
        location_code=till.location_code,
        currency=till.currency,
        prices_include_tax=till.prices_include_tax,
        lines=lines,
        stock_lines=tuple(ln for ln in lines if ln.sku not in untracked),
        subtotal=quote.subtotal,
        tax_total=quote.tax_total,
        total=quote.total,
        adjustments=changes,
        approval_needed=tuple(_why(c, till.currency) for c in changes if c.needs_manager),
        shift_id=shift_id,
        promotions=promoted.lines,
        promotion_takes=promoted.takes,
        promotion_total=promoted.total,
        fiscal_scheme=fiscal.scheme_of(s, till.location_id),  # issue 20
    )


def offline_quote(
    s: Session, till: TillView, basket: Sequence[BasketItem], sold_at: datetime
) -> Quote:
    """An offline sale priced as the till priced it and its replay will: the catalogue, tax rates
    and coupon-free promotions valid when it was sold."""
    items = catalog_items(s, till, basket, sold_at)
    pinned = promotions.pin_at(s, till.location_code, "store", sold_at, offline=True)
    scope = (
        PromotionScope(
            pin=pinned,
            channel="store",
            currency=till.currency,
            timezone=till.timezone,
            at=sold_at,
        )
        if pinned.promotions
        else None
    )
    return adjusted_quote(s, till, basket, items, (), "", scope).quote


def _promotion_scope(s: Session, req: SaleRequest, till: TillView) -> PromotionScope | None:
    """The promotions the sale is priced with: those it pinned when it started (as they are now
    if it pinned none); an offline sale: those of the time the till sold it, without coupons or
    budgets (the till could check neither), whatever changed since."""
    if req.offline:
        if req.coupon_codes:
            raise InvalidRequest("An offline sale carries no coupons.", code="bad_coupon")
        assert req.sold_at is not None
        pinned = promotions.pin_at(s, till.location_code, "store", req.sold_at, offline=True)
    else:
        pinned = req.promotions or promotions.pin(s, till.location_code, "store")
    if not pinned.promotions and not req.coupon_codes:
        return None
    return PromotionScope(
        pin=pinned,
        channel="store",
        currency=till.currency,
        timezone=till.timezone,
        at=req.sold_at or datetime.now(UTC),
        # Offline, the till priced without the customer's groups: so does its replay.
        customer_id=None if req.offline else req.customer_id,
        coupon_codes=req.coupon_codes,
    )


def _shift_of(s: Session, req: SaleRequest, till: TillView) -> int | None:
    """The till's shift the sale belongs to. A live sale needs an open one where the store says
    so; an offline sale (the customer left long ago) belongs to the shift open at its time."""
    if req.offline:
        assert req.sold_at is not None
        return shifts.shift_at(s, till.till_id, req.sold_at)
    if till.open_shift_id is None and till.shift_required:
        raise Conflict(
            f"Till {till.till_code} has no open shift: open one (count the float) before selling.",
            code="no_open_shift",
        )
    return till.open_shift_id


def _adjusted_quote(
    s: Session,
    req: SaleRequest,
    till: TillView,
    basket: list[BasketItem],
    items: dict[str, catalog.CatalogItem],
    scope: PromotionScope | None,
) -> PricedBasket:
    """The quote with the promotions and then the cashier's discounts and overrides, each
    adjustment marked where it is over what the cashier may give alone (the approval table)."""
    if req.offline and req.adjustments:
        raise InvalidRequest("An offline sale carries no discounts.", code="bad_adjustment")
    asked = [Adjustment(a.scope, a.line, a.kind, a.value, a.reason) for a in req.adjustments]
    role = users.role_of(s, req.cashier_id) if asked else ""
    return adjusted_quote(s, till, basket, items, asked, role, scope)


def _changes(priced: PricedBasket) -> tuple[AppliedChange, ...]:
    return tuple(
        AppliedChange(
            scope=a.adjustment.scope,
            kind=a.adjustment.kind,
            value=a.adjustment.value,
            reason=a.adjustment.reason,
            line=a.adjustment.line,
            amount=a.amount,
            share_bp=a.share_bp,
            action=a.action,
            needs_manager=needs,
        )
        for a, needs in priced.changes
    )


def _why(c: AppliedChange, currency: str) -> str:
    return approval_reason(c.scope, c.line, c.action, c.amount, c.share_bp, currency)


def _adjustments_json(p: PricedSale, cmd: OrderRecord) -> list[dict[str, object]]:
    return [
        {
            "scope": c.scope,
            "line": c.line,
            "kind": c.kind,
            "value": c.value,
            "reason": c.reason,
            "amount": c.amount,
            "share_bp": c.share_bp,
            "action": c.action,
            "approved_by": cmd.approved_by if c.needs_manager else None,
        }
        for c in p.adjustments
    ]


def take_stock(s: Session, cmd: StockCommit) -> StockOutcome:
    """Ledger rows and on_hand for the sold lines (once per line), with the cashier's warnings."""
    moves = [
        stock.Movement(
            ln.sku, -ln.quantity, "sale", cmd.reference, _sale_key(cmd.workflow_id, ln.line_no)
        )
        for ln in cmd.lines
    ]
    applied = stock.apply_movements(
        s, cmd.location_id, moves, workflow_id=cmd.workflow_id, occurred_at=cmd.occurred_at
    )
    # A repeated run finds its rows written already; what is over-committed now is then the guide.
    # Only units held for someone (reserved or safety stock) can have been taken from an order.
    short = sorted(
        {
            ln.sku
            for ln, a in zip(cmd.lines, applied, strict=True)
            if (not a.applied or a.available_before < ln.quantity)
            and a.on_hand_before > a.available_before
        }
    )
    taken = tuple(
        StockTaken(
            order_workflow_id=order,
            location_id=cmd.location_id,
            sku=sku,
            quantity=n,
            sale_workflow_id=cmd.workflow_id,
        )
        for sku in short
        for order, n in reservations.orders_to_resource(s, cmd.location_id, sku)
    )
    warnings = []
    for line, a in zip(cmd.lines, applied, strict=True):
        if not a.applied:
            continue
        if a.on_hand_before < line.quantity:
            warnings.append(
                f"{line.name}: the system showed {a.on_hand_before} on hand; sold "
                f"{line.quantity} anyway. Please tell the manager so stock can be counted."
            )
        elif a.available_before < line.quantity:
            warnings.append(
                f"{line.name}: this unit was held for an online order; "
                "the order will be re-sourced."
            )
    return StockOutcome(warnings=tuple(warnings), taken_from_orders=taken)


def record_order(
    s: Session,
    cmd: OrderRecord,
    till: TillView | None = None,
    payments: Sequence[orders.NewPayment] = (),
) -> RecordedOrder:
    """Insert the completed sale's order (and `payments`, if the caller has them to write) once
    per workflow, and build its receipt.

    Given the till, a first run builds the receipt from what it has just written (no read back);
    a repeated run, or one without the till, reads the recorded order."""
    p = cmd.priced
    added = orders.add_order(
        s,
        orders.NewOrder(
            workflow_id=cmd.workflow_id,
            number_prefix=cmd.till_code,
            channel="store",
            fulfilment_type="in_store",
            status="completed",
            location_id=p.location_id,
            till_id=p.till_id,
            cashier_id=cmd.cashier_id,
            currency=p.currency,
            subtotal=p.subtotal,
            tax_total=p.tax_total,
            total=p.total,
            change_due=cmd.change_due,
            warnings=list(cmd.warnings),
            placed_at=cmd.placed_at,
            lines=list(p.lines),
            customer_id=cmd.customer_id,
            shift_id=p.shift_id,
            adjustments=_adjustments_json(p, cmd) if p.adjustments else None,
            basket_started_at=cmd.basket_started_at,
            line_promotions=line_promotions(p.promotions) if p.promotions else None,
        ),
        payments,
    )
    if added is not None:
        outbound_events.sale_completed(s, cmd, added.number)  # outbound events (issue 19)
    if added is not None and p.adjustments:
        bookkeeping.audit(
            s,
            action="sale.adjusted",
            subject=f"order:{added.number}",
            actor_user_id=cmd.cashier_id,
            workflow_id=cmd.workflow_id,
            location_id=p.location_id,
            detail={"adjustments": _adjustments_json(p, cmd), "total": p.total},
        )
    if added is not None and till is not None:
        receipt = receipt_of_sale(
            till, added.number, added.cashier_name, cmd.placed_at, p, cmd.tenders, cmd.change_due
        )
        return RecordedOrder(number=added.number, receipt=receipt, warnings=cmd.warnings)
    order = orders.order_by_workflow(s, cmd.workflow_id)
    assert order is not None
    return RecordedOrder(
        number=order.number, receipt=receipt_of(s, order), warnings=tuple(order.warnings or ())
    )
