"""The database steps of goods receipts, adjustments (quarantine release / write-off too), offline
variance resolution and the reorder run. Each is idempotent: ledger rows carry keys from the
workflow id and run, documents are recorded once per business id."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from temporalio import activity

from contracts.errors import encode_errors
from contracts.stock import (
    AdjustmentAssessment,
    AdjustmentCmd,
    AdjustmentDecision,
    DraftCmd,
    ReceiptCmd,
    ReceiptLinePlan,
    ReceiptPlan,
    ReceiptRequest,
    ReceiptResult,
    SuggestCmd,
    Suggestion,
    VarianceRequest,
    VarianceResult,
)
from db.models_purchasing import (
    GoodsReceipt,
    GoodsReceiptLine,
    StockAdjustment,
    StockAdjustmentLine,
    VarianceResolution,
)
from db.repositories import counts, purchasing, stock, stock_ops
from db.session import Database
from domain.adjustments import Thresholds, approval_reasons, check_lines, ledger_reason
from domain.errors import Conflict, InvalidRequest, NotFound


def _receipt_key(cmd: ReceiptCmd, line_no: int) -> str:
    return f"{cmd.workflow_id}:{cmd.run_id}:{line_no}"


def _adjust_keys(cmd: AdjustmentCmd, line_no: int) -> tuple[str, str]:
    base = f"{cmd.workflow_id}:{cmd.run_id}:{line_no}"
    return f"{base}:a", f"{base}:b"


def _location(s: Any, location_id: int) -> Any:
    loc = stock_ops.location_by_id(s, location_id)
    if loc is None:
        raise NotFound(f"There is no location {location_id}.", code="unknown_location")
    if not loc.active:
        raise Conflict(f"Location {loc.code} is closed.", code="location_closed")
    return loc


def _known(s: Any, wanted: list[str]) -> dict[str, stock_ops.SkuInfo]:
    found = stock_ops.skus(s, wanted)
    for i, sku in enumerate(wanted, start=1):
        info = found.get(sku)
        if info is None:
            raise NotFound(f"Line {i}: there is no SKU {sku}.", code="unknown_sku")
        if not info.tracks_stock:
            raise InvalidRequest(f"Line {i}: {sku} carries no stock.", code="untracked_sku")
    return found


@encode_errors
class StockOpsActivities:
    """Receipts, adjustments, variances and reorder drafts against the stock ledger."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # ---- goods receipt ----------------------------------------------------------------------

    @activity.defn(name="stock.receipt_plan")
    def receipt_plan(self, req: ReceiptRequest) -> ReceiptPlan:
        """Check the delivery against its purchase order: what was still expected per line, what
        is over, and at what cost."""
        with self.db.unit_of_work() as s:
            loc = _location(s, req.location_id)
            if not req.lines:
                raise InvalidRequest("A receipt needs at least one line.", code="no_lines")
            wanted = [ln.sku for ln in req.lines]
            if len(set(wanted)) != len(wanted):
                raise InvalidRequest("A SKU is listed twice: give one line per SKU.")
            for i, ln in enumerate(req.lines, start=1):
                if ln.quantity <= 0:
                    raise InvalidRequest(
                        f"Line {i}: the quantity received must be positive.",
                        code="negative_quantity",
                    )
            _known(s, wanted)
            taken = stock_ops.receipt_by_id(s, req.receipt_id)
            if taken is not None and taken.location_id != req.location_id:
                raise Conflict(
                    f"Receipt id {req.receipt_id} is already in use; give this delivery a new id.",
                    code="receipt_id_taken",
                )
            if not req.po_number:
                supplier_id = None
                currency = loc.currency
                if req.supplier_code:
                    sup = purchasing.supplier_by_code(s, req.supplier_code)
                    if sup is None:
                        raise NotFound(
                            f"There is no supplier {req.supplier_code}.", code="unknown_supplier"
                        )
                    supplier_id, currency = sup.id, sup.currency
                costs = purchasing.sources(s, wanted) if supplier_id else {}
                return ReceiptPlan(
                    po_id=None,
                    supplier_id=supplier_id,
                    currency=currency,
                    lines=tuple(
                        ReceiptLinePlan(
                            line_no=i,
                            sku=ln.sku,
                            quantity=ln.quantity,
                            po_line_no=None,
                            expected=None,
                            over=0,
                            unit_cost=ln.unit_cost
                            if ln.unit_cost is not None
                            else (costs[ln.sku].unit_cost if ln.sku in costs else None),
                        )
                        for i, ln in enumerate(req.lines, start=1)
                    ),
                )
            po = purchasing.order_by_number(s, req.po_number)
            if po is None or po.location_id != req.location_id:
                raise NotFound(
                    f"There is no purchase order {req.po_number} for {loc.code}.",
                    code="unknown_purchase_order",
                )
            if po.status == "draft":
                raise Conflict(
                    f"{po.number} is still a draft: send it to the supplier first.",
                    code="po_not_sent",
                )
            if po.status not in purchasing.RECEIVABLE:
                raise Conflict(
                    f"{po.number} is {po.status.replace('_', ' ')}: it takes no more deliveries.",
                    code="po_closed",
                )
            by_sku = {ln.sku: ln for ln in purchasing.order_lines(s, po.id)}
            supplier_costs = purchasing.sources(s, wanted)
            lines = []
            for i, ln in enumerate(req.lines, start=1):
                ordered = by_sku.get(ln.sku)
                expected = (
                    max(ordered.quantity_ordered - ordered.quantity_received, 0) if ordered else 0
                )
                cost = ln.unit_cost
                if cost is None and ordered is not None:
                    cost = ordered.unit_cost
                if cost is None and ln.sku in supplier_costs:
                    cost = supplier_costs[ln.sku].unit_cost
                lines.append(
                    ReceiptLinePlan(
                        line_no=i,
                        sku=ln.sku,
                        quantity=ln.quantity,
                        po_line_no=ordered.line_no if ordered else None,
                        expected=expected,
                        over=max(ln.quantity - expected, 0),
                        unit_cost=cost,
                    )
                )
            return ReceiptPlan(
                po_id=po.id, supplier_id=po.supplier_id, currency=po.currency, lines=tuple(lines)
            )

    @activity.defn(name="stock.receipt_record")
    def receipt_record(self, cmd: ReceiptCmd) -> None:
        """Record the delivery and count it against its order's lines, once."""
        req, plan = cmd.request, cmd.plan
        with self.db.unit_of_work() as s:
            if stock_ops.receipt_by_id(s, req.receipt_id) is not None:
                return  # a retry
            if plan.po_id is not None:
                po = purchasing.order_by_id(s, plan.po_id, lock=True)
                assert po is not None
                if po.status not in purchasing.RECEIVABLE:  # closed since the plan
                    raise Conflict(
                        f"{po.number} is {po.status.replace('_', ' ')}: it takes no more "
                        "deliveries.",
                        code="po_closed",
                    )
                by_sku = {ln.sku: ln for ln in purchasing.order_lines(s, po.id)}
                for ln in plan.lines:
                    line = by_sku.get(ln.sku) or purchasing.add_order_line(
                        s, po.id, ln.sku, ln.unit_cost or 0
                    )
                    line.quantity_received += ln.quantity
            receipt = GoodsReceipt(
                receipt_id=req.receipt_id,
                workflow_id=cmd.workflow_id,
                location_id=req.location_id,
                po_id=plan.po_id,
                supplier_id=plan.supplier_id,
                status="recorded",
                currency=plan.currency,
                delivery_note=req.delivery_note,
                close_short=req.close_short,
                received_by=req.received_by,
            )
            s.add(receipt)
            s.flush()
            s.add_all(
                GoodsReceiptLine(
                    receipt_pk=receipt.id,
                    line_no=ln.line_no,
                    sku=ln.sku,
                    quantity=ln.quantity,
                    po_line_no=ln.po_line_no,
                    expected=ln.expected,
                    over=ln.over,
                    unit_cost=ln.unit_cost,
                )
                for ln in plan.lines
            )

    @activity.defn(name="stock.receipt_void")
    def receipt_void(self, cmd: ReceiptCmd) -> None:
        """Compensation: forget a delivery that did not complete (its order lines count it no
        more), so the same receipt id can be taken again."""
        with self.db.unit_of_work() as s:
            receipt = stock_ops.receipt_by_id(s, cmd.request.receipt_id)
            if receipt is None or receipt.workflow_id != cmd.workflow_id:
                return
            if receipt.status == "completed":
                return
            lines = stock_ops.receipt_lines(s, receipt.id)
            if receipt.po_id is not None:
                purchasing.order_by_id(s, receipt.po_id, lock=True)
                by_sku = {ln.sku: ln for ln in purchasing.order_lines(s, receipt.po_id)}
                for ln in lines:
                    if ln.sku in by_sku:
                        by_sku[ln.sku].quantity_received -= ln.quantity
            for ln in lines:
                s.delete(ln)
            s.flush()
            s.delete(receipt)

    @activity.defn(name="stock.receipt_stock")
    def receipt_stock(self, cmd: ReceiptCmd) -> None:
        """Received units become sellable (the web stores hear of it through the stock sync)."""
        ref = f"receipt:{cmd.request.receipt_id}"
        with self.db.unit_of_work() as s:
            stock.apply_movements(
                s,
                cmd.request.location_id,
                [
                    stock.Movement(
                        ln.sku, ln.quantity, "receipt", ref, _receipt_key(cmd, ln.line_no)
                    )
                    for ln in cmd.plan.lines
                ],
                workflow_id=cmd.workflow_id,
                occurred_at=datetime.now(UTC),
            )

    @activity.defn(name="stock.receipt_unstock")
    def receipt_unstock(self, cmd: ReceiptCmd) -> None:
        """Compensation: take back what this run put on the shelf (only what really applied)."""
        keys = [_receipt_key(cmd, ln.line_no) for ln in cmd.plan.lines]
        with self.db.unit_of_work() as s:
            done = stock_ops.movements_by_keys(s, keys)
            stock.apply_movements(
                s,
                cmd.request.location_id,
                [
                    stock.Movement(
                        m.sku,
                        -m.delta,
                        "receipt_reversal",
                        m.reference,
                        f"{m.idempotency_key}:undo",
                    )
                    for m in done
                ],
                workflow_id=cmd.workflow_id,
                occurred_at=datetime.now(UTC),
            )

    @activity.defn(name="stock.receipt_settle")
    def receipt_settle(self, cmd: ReceiptCmd) -> ReceiptResult:
        """Update cost prices from what the delivery cost, move the order on, complete."""
        req = cmd.request
        with self.db.unit_of_work() as s:
            receipt = stock_ops.receipt_by_id(s, req.receipt_id)
            if receipt is None or receipt.workflow_id != cmd.workflow_id:
                raise Conflict(f"Receipt {req.receipt_id} was not recorded.")
            po = purchasing.order_by_id(s, receipt.po_id, lock=True) if receipt.po_id else None
            if receipt.status != "completed":
                if not receipt.costs_applied:
                    self._costs(s, cmd)
                    receipt.costs_applied = True
                if po is not None and po.status in purchasing.RECEIVABLE:
                    status = purchasing.status_after_receipts(
                        purchasing.order_lines(s, po.id), req.close_short
                    )
                    purchasing.set_status(s, po, status, datetime.now(UTC))
                receipt.status = "completed"
            return ReceiptResult(
                receipt_id=req.receipt_id,
                workflow_id=cmd.workflow_id,
                status="completed",
                po_number=po.number if po else "",
                po_status=po.status if po else "",
            )

    def _costs(self, s: Any, cmd: ReceiptCmd) -> None:
        info = stock_ops.skus(s, [ln.sku for ln in cmd.plan.lines])
        per_product: dict[int, list[tuple[int, int]]] = {}
        for ln in cmd.plan.lines:
            if ln.unit_cost is not None and ln.sku in info:
                per_product.setdefault(info[ln.sku].product_id, []).append(
                    (ln.quantity, ln.unit_cost)
                )
        for product_id, parts in sorted(per_product.items()):
            units = sum(q for q, _ in parts)
            # One unit cost for the delivery of this product: its average over the lines.
            cost = (sum(q * c for q, c in parts) + units // 2) // units
            stock_ops.set_cost(
                s,
                product_id,
                units_before=stock_ops.product_on_hand(s, product_id) - units,
                received=units,
                unit_cost=cost,
                currency=cmd.plan.currency,
                method=cmd.request.cost_method,
            )

    # ---- adjustments, quarantine release and write-off -------------------------------------

    @activity.defn(name="stock.adjust_assess")
    def adjust_assess(self, cmd: AdjustmentCmd) -> AdjustmentAssessment:
        """Check the change, value it at cost and record it; above a threshold it waits for a
        manager."""
        req = cmd.request
        deltas = [(ln.sku, ln.delta) for ln in req.lines]
        check_lines(req.kind, req.reason, deltas)
        with self.db.unit_of_work() as s:
            loc = _location(s, req.location_id)
            info = _known(s, [sku for sku, _ in deltas])
            held = stock_ops.buckets(s, req.location_id, [sku for sku, _ in deltas])
            for i, (sku, delta) in enumerate(deltas, start=1):
                b = held.get(sku, stock_ops.Buckets(0, 0))
                if req.kind != "adjustment" and delta > b.quarantined:
                    raise Conflict(
                        f"Line {i}: only {b.quarantined} of {sku} are in quarantine at {loc.code}.",
                        code="not_in_quarantine",
                    )
                if req.kind == "adjustment" and delta < 0 and -delta > max(b.on_hand, 0):
                    raise Conflict(
                        f"Line {i}: only {max(b.on_hand, 0)} of {sku} are on hand at {loc.code}; "
                        "a count corrects the books, an adjustment cannot take more.",
                        code="insufficient_stock",
                    )
            units = sum(abs(d) for _, d in deltas)
            value = sum(abs(d) * (info[sku].cost_price or 0) for sku, d in deltas)
            currency: str = next(
                (c for c in (info[sku].cost_currency for sku, _ in deltas) if c), loc.currency
            )
            reasons = approval_reasons(
                Thresholds(units=req.threshold_units, value=req.threshold_value),
                units,
                value,
                req.kind,
            )
            row = stock_ops.adjustment_by_id(s, req.adjustment_id, lock=True)
            if row is not None and row.workflow_id != cmd.workflow_id:
                raise Conflict(
                    f"Adjustment id {req.adjustment_id} is already in use; give it a new id.",
                    code="adjustment_id_taken",
                )
            if row is not None and row.status == "applied":
                raise Conflict(f"Adjustment {req.adjustment_id} is applied already.")
            if row is None:
                row = StockAdjustment(adjustment_id=req.adjustment_id, workflow_id=cmd.workflow_id)
                s.add(row)
            else:  # a new run of a failed one: assessed afresh
                for old in stock_ops.adjustment_lines(s, row.id):
                    s.delete(old)
            row.location_id = req.location_id
            row.kind = req.kind
            row.reason = req.reason if req.kind == "adjustment" else req.kind
            row.status = "awaiting_approval" if reasons else "approved"
            row.units, row.value, row.currency = units, value, currency
            row.note = req.note
            row.requested_by = req.requested_by
            s.flush()
            s.add_all(
                StockAdjustmentLine(
                    adjustment_pk=row.id,
                    line_no=i,
                    sku=sku,
                    delta=delta,
                    unit_cost=info[sku].cost_price,
                )
                for i, (sku, delta) in enumerate(deltas, start=1)
            )
            return AdjustmentAssessment(
                currency=currency, units=units, value=value, approval_reasons=reasons
            )

    def _adjust_movements(self, cmd: AdjustmentCmd) -> list[stock.Movement]:
        req = cmd.request
        reason = ledger_reason(req.kind, req.reason)
        ref = f"adjust:{req.adjustment_id}"
        out = []
        for i, ln in enumerate(req.lines, start=1):
            first, second = _adjust_keys(cmd, i)
            if req.kind == "adjustment":
                out.append(stock.Movement(ln.sku, ln.delta, reason, ref, first))
                continue
            out.append(stock.Movement(ln.sku, -ln.delta, reason, ref, first, "quarantine"))
            if req.kind == "quarantine_release":
                out.append(stock.Movement(ln.sku, ln.delta, reason, ref, second))
        return out

    @activity.defn(name="stock.adjust_apply")
    def adjust_apply(self, cmd: AdjustmentCmd) -> None:
        """Move the stock with the adjustment's reason (once per line and bucket)."""
        with self.db.unit_of_work() as s:
            stock.apply_movements(
                s,
                cmd.request.location_id,
                self._adjust_movements(cmd),
                workflow_id=cmd.workflow_id,
                occurred_at=datetime.now(UTC),
            )

    @activity.defn(name="stock.adjust_revert")
    def adjust_revert(self, cmd: AdjustmentCmd) -> None:
        """Compensation: undo what this run moved; the adjustment counts as rejected."""
        keys = [m.idempotency_key for m in self._adjust_movements(cmd)]
        with self.db.unit_of_work() as s:
            done = stock_ops.movements_by_keys(s, keys)
            stock.apply_movements(
                s,
                cmd.request.location_id,
                [
                    stock.Movement(
                        m.sku,
                        -m.delta,
                        "adjustment_reversal",
                        m.reference,
                        f"{m.idempotency_key}:undo",
                        m.bucket,
                    )
                    for m in done
                ],
                workflow_id=cmd.workflow_id,
                occurred_at=datetime.now(UTC),
            )
            row = stock_ops.adjustment_by_id(s, cmd.request.adjustment_id, lock=True)
            if row is not None and row.workflow_id == cmd.workflow_id:
                row.status = "rejected"
                row.decision_note = (row.decision_note + " (failed; undone)").strip()

    @activity.defn(name="stock.adjust_finish")
    def adjust_finish(self, d: AdjustmentDecision) -> None:
        """Record the decision or the outcome on the adjustment."""
        with self.db.unit_of_work() as s:
            row = stock_ops.adjustment_by_id(s, d.adjustment_id, lock=True)
            if row is None:
                raise NotFound(f"There is no adjustment {d.adjustment_id}.")
            row.status = d.status
            if d.status in ("approved", "rejected") and row.decided_at is None:
                row.decided_by = d.decided_by
                row.decided_at = datetime.now(UTC)
                row.decision_note = d.note

    # ---- offline variances ------------------------------------------------------------------

    @activity.defn(name="stock.variance_resolve")
    def variance_resolve(self, req: VarianceRequest) -> VarianceResult:
        """Accept the shortfall as a loss (one ledger movement) or match it to a count."""
        with self.db.unit_of_work() as s:
            v = stock_ops.variance(s, req.variance_id, lock=True)
            if v is None or v.location_id != req.location_id:
                raise NotFound(f"There is no variance {req.variance_id} here.")
            done = stock_ops.resolution(s, v.id)
            if done is not None:
                if done.resolution == req.resolution and (done.count_id or "") == req.count_id:
                    return VarianceResult(
                        variance_id=v.id,
                        resolution=req.resolution,
                        quantity=done.quantity,
                        value=done.value,
                    )
                raise Conflict(f"Variance {v.id} is resolved already.", code="variance_resolved")
            if v.status != "open":
                raise Conflict(f"Variance {v.id} is resolved already.", code="variance_resolved")
            if req.resolution == "count" and not req.count_id:
                raise InvalidRequest("Name the count that settled it.", code="count_id_missing")
            if req.resolution == "count":
                settled_by = counts.by_code(s, req.count_id)
                if settled_by is None or settled_by.location_id != v.location_id:
                    raise NotFound(
                        f"There is no count {req.count_id} at this location.", code="unknown_count"
                    )
                if settled_by.status != "applied" or v.sku not in {
                    ln.sku for ln in settled_by.lines
                }:
                    raise Conflict(
                        f"Count {req.count_id} has not applied a count of {v.sku}: only an "
                        "applied count of this SKU settles the variance.",
                        code="count_not_applied",
                    )
            quantity = v.quantity_short if req.resolution == "loss" else 0
            info = stock_ops.skus(s, [v.sku]).get(v.sku)
            cost = info.cost_price if info and info.cost_price is not None else 0
            # A transfer's shortage left the books right when it closed (what never arrived left
            # transit then): accepting it books its value as a loss and moves nothing.
            if quantity and v.reason != "transfer_short":
                # The units the customer took were on the shelf but not on the books: the book
                # stock is brought back up by them, and their value is booked as a loss.
                stock.apply_movements(
                    s,
                    v.location_id,
                    [
                        stock.Movement(
                            v.sku,
                            quantity,
                            "variance_loss",
                            f"variance:{v.id} {v.order_number}",
                            f"variance:{v.id}:loss",
                        )
                    ],
                    workflow_id=activity.info().workflow_id,
                    occurred_at=datetime.now(UTC),
                )
            stock_ops.add_resolution(
                s,
                VarianceResolution(
                    variance_id=v.id,
                    resolution=req.resolution,
                    count_id=req.count_id or None,
                    quantity=quantity,
                    value=quantity * cost,
                    currency=info.cost_currency if info else None,
                    note=req.note,
                    resolved_by=req.resolved_by,
                ),
            )
            return VarianceResult(
                variance_id=v.id,
                resolution=req.resolution,
                quantity=quantity,
                value=quantity * cost,
            )

    # ---- reorder ----------------------------------------------------------------------------

    @activity.defn(name="stock.reorder_suggest")
    def reorder_suggest(self, cmd: SuggestCmd) -> tuple[Suggestion, ...]:
        """What each location should order now, from its position and its reorder point."""
        with self.db.unit_of_work() as s:
            ids = None
            if cmd.request.location_codes:
                ids = []
                for code in cmd.request.location_codes:
                    loc = stock_ops.location_by_code(s, code)
                    if loc is None:
                        raise NotFound(f"There is no location {code}.", code="unknown_location")
                    ids.append(loc.id)
            return tuple(
                stock_ops.reorder_suggestions(
                    s, cmd.request, location_ids=ids, supplier_id=None, now=datetime.now(UTC)
                )
            )

    @activity.defn(name="stock.reorder_draft")
    def reorder_draft(self, cmd: DraftCmd) -> str:
        """One DRAFT purchase order per run, supplier and location (never sent)."""
        with self.db.unit_of_work() as s:
            found = purchasing.order_by_run(s, cmd.run, cmd.supplier_id, cmd.location_id)
            if found is not None:
                return found.number
            po = purchasing.create_order(
                s,
                supplier_id=cmd.supplier_id,
                location_id=cmd.location_id,
                currency=cmd.currency,
                lines=[purchasing.NewLine(ln.sku, ln.quantity, ln.unit_cost) for ln in cmd.lines],
                created_by=None,
                note="Drafted from the reorder suggestions; review and send.",
                source="reorder",
                reorder_run=cmd.run,
            )
            return po.number

    @activity.defn(name="stock.reorder_discard")
    def reorder_discard(self, run: str) -> None:
        """Compensation: the run's drafts go (a draft someone already sent stays)."""
        with self.db.unit_of_work() as s:
            for po in purchasing.orders_of_run(s, run):
                purchasing.delete_draft(s, po)


def stock_ops_activities(db: Database) -> list[Callable[..., Any]]:
    """Every activity of the stock-operations workflows, for the central worker."""
    a = StockOpsActivities(db)
    return [
        a.receipt_plan,
        a.receipt_record,
        a.receipt_void,
        a.receipt_stock,
        a.receipt_unstock,
        a.receipt_settle,
        a.adjust_assess,
        a.adjust_apply,
        a.adjust_revert,
        a.adjust_finish,
        a.variance_resolve,
        a.reorder_suggest,
        a.reorder_draft,
        a.reorder_discard,
    ]
