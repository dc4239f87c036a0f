"""Refunds to the original tenders, used by returns and cancellations.

Each part is written as a pending refund row (keyed `{refund key}:{payment}`) before any
provider call, and the provider call carries the same key, so a retried activity refunds once.
"""

from __future__ import annotations

from sqlalchemy.orm import Session
from temporalio import activity

from contracts.errors import encode_errors
from contracts.returns import RefundedPart, RefundOutcome, RefundRequest
from db.repositories import balances, loyalty, orders
from db.session import Database
from domain.errors import NotFound
from domain.loyalty import points_to_reverse
from domain.refunds import Paid, allocate_refund
from integrations.payments import PaymentGateway


@encode_errors
class RefundActivities:
    """Refund money to where it came from."""

    def __init__(
        self, db: Database, gateway: PaymentGateway, points_expiry_months: int = 12
    ) -> None:
        self.db = db
        self.gateway = gateway
        self.points_expiry_months = points_expiry_months  # points given back: a lot like an earn

    @activity.defn(name="refund.to_original_tenders")
    def to_original_tenders(self, req: RefundRequest) -> RefundOutcome:
        """Cards (Stripe refund of that PaymentIntent), cash from the drawer, balances credited
        back."""
        parts = self._plan(req)
        done = [self._refund_part(req, row_id) for row_id in parts]
        return RefundOutcome(
            parts=tuple(done), cash_out=sum(p.amount for p in done if p.kind == "cash")
        )

    def after_provider_refund(self, refund_id: str) -> None:
        """Hook between the provider's refund and our own write (tests simulate a crash here)."""

    def _plan(self, req: RefundRequest) -> list[int]:
        """Pending refund rows for this request (created once; a retry finds the same rows)."""
        with self.db.unit_of_work() as s:
            existing = [
                r
                for r in orders.refunds_for(s, req.sale_workflow_id)
                if r.idempotency_key.startswith(f"{req.key}:")
            ]
            if existing:
                return [r.id for r in existing]
            pays = [
                p
                for p in orders.payments_for(s, req.sale_workflow_id)
                if p.status in ("completed", "captured")
            ]
            if not pays:
                raise NotFound(f"No paid sale {req.sale_workflow_id} to refund.")
            already = orders.refunded_per_payment(s, req.sale_workflow_id)
            plan = allocate_refund(
                req.amount,
                [Paid(p.id, p.tender, p.amount, already.get(p.id, 0)) for p in pays],
                pays[0].currency,
            )
            return [
                orders.insert_refund(
                    s,
                    payment_id=part.payment_id,
                    amount=part.amount,
                    key=f"{req.key}:{part.payment_id}",
                    reason=req.reason,
                    workflow_id=req.sale_workflow_id,
                ).id
                for part in plan
            ]

    def _refund_part(self, req: RefundRequest, refund_id: int) -> RefundedPart:
        with self.db.unit_of_work() as s:
            r = next(x for x in orders.refunds_for(s, req.sale_workflow_id) if x.id == refund_id)
            p = orders.payment(s, r.payment_id)
            kind, amount, key, status, ref = (
                p.tender,
                r.amount,
                r.idempotency_key,
                r.status,
                r.provider_ref,
            )
            intent, code = p.provider_ref, p.provider_ref
            pay_key, paid = p.idempotency_key, p.amount
            currency = p.currency  # issue 19: back into the balance in the sale's currency
        if status == "succeeded":
            return RefundedPart(kind=kind, payment_id=r.payment_id, amount=amount, provider_ref=ref)
        provider_ref = ""
        if kind == "card":
            # Found by our key if an earlier attempt reached the provider but not our database.
            found = [x for x in self.gateway.list_refunds(intent) if x.key == key]
            result = (
                found[0]
                if found
                else self.gateway.refund(
                    intent, amount=amount, key=key, metadata={"reason": req.reason}
                )
            )
            self.after_provider_refund(result.id)
            provider_ref = result.id
        with self.db.unit_of_work() as s:
            if kind == "gift_card":
                balances.post_gift_card(
                    s,
                    code,
                    delta=amount,
                    reason="refund",
                    reference=req.key,
                    key=key,
                    currency=currency,
                )
                provider_ref = code
            elif kind == "store_credit":
                balances.post_store_credit(
                    s,
                    int(code),
                    delta=amount,
                    reason="refund",
                    reference=req.key,
                    key=key,
                    currency=currency,
                )
                provider_ref = code
            elif kind == "points":
                provider_ref = code
                self._points_back(s, req, pay_key, paid, r.payment_id, amount, key)
            orders.update_refund(s, refund_id, status="succeeded", provider_ref=provider_ref)
        return RefundedPart(
            kind=kind, payment_id=r.payment_id, amount=amount, provider_ref=provider_ref
        )

    def _points_back(
        self,
        s: Session,
        req: RefundRequest,
        pay_key: str,
        paid: int,
        payment_id: int,
        amount: int,
        key: str,
    ) -> None:
        """A points tender refunded: the share of its points this refund is of what it paid,
        counted over every refund of it, so refunding it all gives back exactly what it took."""
        spent = loyalty.redemption(s, pay_key)
        if spent is None:
            return
        before = sum(
            x.amount
            for x in orders.refunds_for(s, req.sale_workflow_id)
            if x.payment_id == payment_id and x.status == "succeeded"
        )
        points = points_to_reverse(-spent.points, paid, before, amount)
        loyalty.refund_points(
            s, pay_key, points, f"{pay_key}:return:{key}", expiry_months=self.points_expiry_months
        )
