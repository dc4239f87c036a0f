"""The Return workflow's database steps: assess against policy, claim quantities, dispose of
goods."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session
from temporalio import activity

from contracts.devices import Receipt, ReceiptLine, ReceiptTender
from contracts.errors import encode_errors
from contracts.returns import (
    AssessedLine,
    CompleteCmd,
    CreditCmd,
    DisposeCmd,
    ReturnAssessment,
    ReturnClaim,
    ReturnRequest,
)
from db.models import Location, Order
from db.repositories import (
    balances,
    bookkeeping,
    catalog,
    customers,
    fiscal,  # issue 20
    returns,
    shifts,
    stock,
)
from db.repositories import events as outbound_events  # issue 19
from db.session import Database
from domain.errors import Conflict, InvalidRequest, NotFound
from domain.money import format_minor
from domain.returns import (
    AskedLine,
    ReturnPolicy,
    SoldLine,
    assess_with_receipt,
    assess_without_receipt,
    check_asked,
    line_refund,
)


@encode_errors
class ReturnActivities:
    """Return assessment, the claim that caps quantities, dispositions, store credit and the
    receipt."""

    def __init__(self, db: Database, policy: ReturnPolicy) -> None:
        self.db = db
        self.policy = policy

    @activity.defn(name="return.assess")
    def assess(self, req: ReturnRequest) -> ReturnAssessment:
        """Find the sale, check what can still be returned and what the policy says."""
        with self.db.unit_of_work() as s:
            till = catalog.till_view(s, req.till_code)
            if till is None:
                raise NotFound(f"Till {req.till_code} does not exist.")
            if not req.lines:
                raise InvalidRequest("Nothing to return: give at least one line.")
            # Checked here, once: an unknown customer would otherwise fail the claim's insert
            # (a foreign key) on every retry instead of being refused at once.
            if req.customer_id is not None and not customers.exists(s, req.customer_id):
                raise NotFound(f"There is no customer {req.customer_id}.")
            found = (
                self._with_receipt(s, req, till)
                if req.sale_number
                else self._without_receipt(s, req, till)
            )
            # issue 20: the workflow signs the refund only where the location signs
            return replace(found, fiscal_scheme=fiscal.scheme_of(s, till.location_id))

    def _with_receipt(
        self, s: Session, req: ReturnRequest, till: catalog.TillView
    ) -> ReturnAssessment:
        found = returns.find_orders(s, number=req.sale_number)
        if not found:
            raise NotFound(f"No sale {req.sale_number}: check the receipt number.")
        order: Order = found[0]
        sold = {ln.line_no: ln for ln in returns.returnable_lines(s, order.id)}
        sold_lines = [
            SoldLine(
                ln.line_no,
                ln.sku,
                ln.name,
                ln.category,
                ln.quantity,
                ln.returned,
                ln.gross,
                ln.serial,
                ln.serialized,
            )
            for ln in sold.values()
        ]
        asked = [AskedLine(a.line_no, a.quantity, a.disposition, a.serial) for a in req.lines]
        verdict = assess_with_receipt(
            self.policy, order.placed_at, datetime.now(UTC), sold_lines, asked, req.refund_method
        )
        if verdict.refund_method == "store_credit" and req.customer_id is None:
            raise InvalidRequest("Store credit needs the customer: give customer_id.")
        by_no = {x.line_no: x for x in sold_lines}
        lines = tuple(
            AssessedLine(
                line_no=i,
                order_line_no=a.line_no,
                sku=sold[a.line_no].sku,
                name=sold[a.line_no].name,
                quantity=a.quantity,
                refund_amount=line_refund(by_no[a.line_no], a.quantity),
                disposition=a.disposition,
                reason=a.reason,
                serial=a.serial,
            )
            for i, a in enumerate(req.lines, start=1)
        )
        web_store, _, web_order_id = (order.external_id or "").partition(":")
        return ReturnAssessment(
            currency=order.currency,
            location_id=till.location_id,
            till_id=till.till_id,
            order_id=order.id,
            sale_workflow_id=order.workflow_id,
            lines=lines,
            refund_total=verdict.refund_total,
            refund_method=verdict.refund_method,
            approval_reasons=verdict.approval_reasons,
            channel=order.channel,
            web_store=web_store if web_order_id else "",
            web_order_id=web_order_id,
        )

    def _without_receipt(
        self, s: Session, req: ReturnRequest, till: catalog.TillView
    ) -> ReturnAssessment:
        if req.customer_id is None:
            raise InvalidRequest(
                "A return without a receipt needs the customer (store credit goes to them)."
            )
        items = catalog.items_by_sku(s, till.location_id, [a.sku for a in req.lines])
        lines = []
        for i, a in enumerate(req.lines, start=1):
            item = items.get(a.sku)
            if item is None or item.unit_price is None:
                raise NotFound(
                    f"Line {i}: no product with SKU {a.sku or '(none)'} priced at this store."
                )
            if item.category in self.policy.final_sale_categories:
                raise Conflict(f"{item.name} is final sale and cannot be returned.")
            check_asked(item.name, a.quantity, a.disposition)
            lines.append(
                AssessedLine(
                    line_no=i,
                    order_line_no=None,
                    sku=item.sku,
                    name=item.name,
                    quantity=a.quantity,
                    refund_amount=item.unit_price * a.quantity,
                    disposition=a.disposition,
                    reason=a.reason,
                    serial=a.serial,
                )
            )
        total = sum(ln.refund_amount for ln in lines)
        since = datetime.now(UTC) - timedelta(days=self.policy.receiptless_period_days)
        had = returns.receiptless_credit_since(s, req.customer_id, since)
        verdict = assess_without_receipt(self.policy, total, had, till.currency)
        return ReturnAssessment(
            currency=till.currency,
            location_id=till.location_id,
            till_id=till.till_id,
            order_id=None,
            sale_workflow_id="",
            lines=tuple(lines),
            refund_total=total,
            refund_method=verdict.refund_method,
            approval_reasons=verdict.approval_reasons
            + (
                ("This store asks a manager to approve every return without a receipt.",)
                if req.receiptless_needs_manager and not verdict.approval_reasons
                else ()
            ),
            fraud_signal=verdict.fraud_signal,
        )

    @activity.defn(name="return.claim")
    def claim(self, cmd: ReturnClaim) -> None:
        """Record the return once; the sale's row lock caps returns at what was sold, whoever
        asks."""
        a, req = cmd.assessment, cmd.request
        with self.db.unit_of_work() as s:
            if returns.by_return_id(s, req.return_id) is not None:
                return  # a retry: claimed already
            if a.order_id is not None:
                returns.lock_order(s, a.order_id)
                left = {
                    ln.line_no: ln.quantity - ln.returned
                    for ln in returns.returnable_lines(s, a.order_id)
                }
                for ln in a.lines:
                    if ln.order_line_no is not None and ln.quantity > left.get(ln.order_line_no, 0):
                        raise Conflict(
                            f"{ln.name}: only {left.get(ln.order_line_no, 0)} can still be "
                            "returned (another return just took the rest)."
                        )
                    if ln.order_line_no is not None:
                        left[ln.order_line_no] -= ln.quantity
            returns.insert_return(
                s,
                return_id=req.return_id,
                workflow_id=cmd.workflow_id,
                order_id=a.order_id,
                location_id=a.location_id,
                till_id=a.till_id,
                cashier_id=req.cashier_id,
                customer_id=req.customer_id,
                refund_method=a.refund_method,
                refund_total=a.refund_total,
                currency=a.currency,
                receiptless=a.order_id is None,
                approved_by=cmd.approved_by,
                shift_id=shifts.open_shift_id(s, a.till_id) if a.till_id else None,
                void=req.void,
                lines=[
                    returns.NewReturnLine(
                        ln.line_no,
                        ln.order_line_no,
                        ln.sku,
                        ln.quantity,
                        ln.refund_amount,
                        ln.disposition,
                        ln.reason,
                        ln.serial,
                    )
                    for ln in a.lines
                ],
            )

    @activity.defn(name="return.release")
    def release(self, return_id: str) -> None:
        """Compensation: the claim no longer counts against the sale."""
        with self.db.unit_of_work() as s:
            returns.set_status(s, return_id, "rejected")

    @activity.defn(name="return.store_credit")
    def store_credit(self, cmd: CreditCmd) -> int:
        """Credit the customer's store credit once; returns the new balance."""
        with self.db.unit_of_work() as s:
            return balances.post_store_credit(
                s,
                cmd.customer_id,
                delta=cmd.amount,
                reason="return",
                reference=f"return:{cmd.return_id}",
                key=f"return:{cmd.return_id}:credit",
                currency=cmd.currency,
            ).balance

    @activity.defn(name="return.dispose")
    def dispose(self, cmd: DisposeCmd) -> None:
        """Restock (sellable again), quarantine (counted, not sellable) or write off as damaged."""
        moves: list[stock.Movement] = []
        for ln in cmd.lines:
            key = f"return:{cmd.return_id}:{ln.line_no}"
            ref = f"return:{cmd.return_id}"
            if ln.disposition == "restock":
                moves.append(stock.Movement(ln.sku, ln.quantity, "return_restock", ref, key))
            elif ln.disposition == "quarantine":
                moves.append(
                    stock.Movement(ln.sku, ln.quantity, "return_quarantine", ref, key, "quarantine")
                )
            else:
                reason = f"{ref}: {ln.reason or 'damaged'}"[:200]
                moves.append(stock.Movement(ln.sku, ln.quantity, "return_received", ref, key))
                moves.append(
                    stock.Movement(
                        ln.sku, -ln.quantity, "write_off_damaged", reason, f"{key}:write_off"
                    )
                )
        with self.db.unit_of_work() as s:
            stock.apply_movements(
                s,
                cmd.location_id,
                moves,
                workflow_id=cmd.workflow_id,
                occurred_at=datetime.now(UTC),
            )

    @activity.defn(name="return.complete")
    def complete(self, cmd: CompleteCmd) -> None:
        """Close the return; a receipt-less return over the cap leaves a fraud signal."""
        with self.db.unit_of_work() as s:
            ret = returns.by_return_id(s, cmd.return_id)
            first = ret is not None and ret.status != cmd.status
            returns.set_status(
                s, cmd.return_id, cmd.status, exchange_workflow_id=cmd.exchange_workflow_id or None
            )
            if first and ret is not None:  # a refund (or a void) is a sensitive action: audited
                bookkeeping.audit(
                    s,
                    action=("sale.voided" if ret.void else f"return.{cmd.status}"),
                    subject=f"return:{ret.return_id}",
                    actor_user_id=ret.cashier_id,
                    location_id=ret.location_id,
                    detail={
                        "refund_total": ret.refund_total,
                        "refund_method": ret.refund_method,
                        "approved_by": ret.approved_by,
                        "receiptless": ret.receiptless,
                    },
                )
                if cmd.status == "completed":
                    outbound_events.return_completed(s, ret)  # outbound events (issue 19)
            if cmd.fraud_signal and not returns.fraud_signals(s, cmd.return_id):
                returns.add_fraud_signal(
                    s,
                    kind=cmd.fraud_signal,
                    customer_id=cmd.customer_id,
                    return_id=cmd.return_id,
                    detail={"status": cmd.status},
                )

    @activity.defn(name="return.receipt")
    def receipt(self, return_id: str) -> Receipt:
        """A return receipt: the lines with negative amounts and where the money went."""
        with self.db.unit_of_work() as s:
            ret = returns.by_return_id(s, return_id)
            if ret is None:
                raise NotFound(f"No return {return_id}.")
            loc = s.get_one(Location, ret.location_id)
            lines = returns.lines_of(s, ret.id)
            names = catalog.items_by_sku(s, loc.id, [ln.sku for ln in lines])
            tz = ZoneInfo(loc.timezone)
            return Receipt(
                sale_id=f"R-{ret.return_id}"[:20],
                store_name=loc.name,
                store_address=loc.address,
                till_code="",
                cashier_name="",
                sold_at=ret.created_at.astimezone(tz),
                currency=ret.currency,
                locale=loc.locale,
                lines=tuple(
                    ReceiptLine(
                        name=names[ln.sku].name if ln.sku in names else ln.sku,
                        sku=ln.sku,
                        quantity=-ln.quantity,
                        unit_price=ln.refund_amount // ln.quantity,
                        line_total=-ln.refund_amount,
                        tax_code=ln.disposition,
                    )
                    for ln in lines
                ),
                taxes=(),
                subtotal=-ret.refund_total,
                tax_total=0,
                total=-ret.refund_total,
                tenders=(
                    ReceiptTender(kind=f"refund: {ret.refund_method}", amount=ret.refund_total),
                ),
                change_due=0,
                footer="RETURN — keep this receipt",
                notes=(
                    f"Refund {format_minor(ret.refund_total, ret.currency)} to {ret.refund_method}",
                ),
            )
