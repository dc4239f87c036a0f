"""Online card payments of storefront orders: a card-not-present PaymentIntent through the gateway.

The payment row (keyed `{order workflow}:payment`) is written before the provider is called, and
the intent carries the same key, so a retried activity finds its intent instead of making another.
Capture and void reuse the till's `tender.capture_cards` / `tender.void_all` (same payments table).
"""

from __future__ import annotations

import dataclasses

from temporalio import activity
from temporalio.exceptions import ApplicationError

from contracts.errors import encode_errors
from contracts.online import PaymentCheck, PaymentRequest, PaymentState
from db.repositories import customers, loyalty, orders
from db.session import Database
from domain import loyalty as loyalty_rules
from domain.errors import InsufficientBalance, InvalidRequest, NotFound
from integrations.payments import GatewayError, Intent, PaymentGateway


def payment_key(workflow_id: str) -> str:
    return f"{workflow_id}:payment"


def points_key(workflow_id: str) -> str:
    """The points tender of an order: its payments row and its points redemption share it."""
    return f"{workflow_id}:points"


@encode_errors
class OnlinePaymentActivities:
    """Authorize (manual capture) and check the PaymentIntent of an online order."""

    def __init__(
        self,
        db: Database,
        gateway: PaymentGateway,
        points_rules: loyalty_rules.LoyaltyRules | None = None,
    ) -> None:
        self.db = db
        self.gateway = gateway
        self.points_rules = points_rules or loyalty_rules.LoyaltyRules()  # what a point is worth

    @activity.defn(name="online.authorize")
    def authorize(self, req: PaymentRequest) -> PaymentState:
        """Take the order's loyalty points first (if it uses any), then create (or find) the
        PaymentIntent for the rest; with a test payment method, confirm it too."""
        points_paid = self._take_points(req) if req.points is not None else 0
        if points_paid >= req.amount:  # the points pay for it all: no card
            return PaymentState(
                intent_id="", status="paid_with_points", authorized=True, points_amount=points_paid
            )
        req = dataclasses.replace(req, amount=req.amount - points_paid)
        key = payment_key(req.workflow_id)
        with self.db.unit_of_work() as s:
            row = orders.payment_by_key(s, key)
            fresh = row is None
            if row is None:
                row = orders.insert_payment(
                    s,
                    orders.NewPayment(
                        workflow_id=req.workflow_id,
                        tender="card",
                        amount=req.amount,
                        tendered=req.amount,
                        currency=req.currency,
                        status="creating",
                        idempotency_key=key,
                        location_id=None,
                        till_id=None,
                        provider="stripe",
                    ),
                )
            payment_id, ref = row.id, row.provider_ref
        try:
            if ref:
                intent: Intent | None = self.gateway.retrieve_intent(ref)
            else:  # an earlier attempt may have reached Stripe but not our database
                intent = None if fresh else self.gateway.find_intent_by_key(key)
            if intent is None:
                intent = self.gateway.create_intent(
                    amount=req.amount,
                    currency=req.currency,
                    key=key,
                    card_present=False,
                    metadata={"workflow_id": req.workflow_id, "store": req.store_code},
                    payment_method=req.payment_method or None,
                )
        except GatewayError as err:
            raise ApplicationError(
                f"The payment could not be set up: {err}", type="PaymentFailed", non_retryable=True
            ) from err
        return self._record(payment_id, intent, points_paid)

    def _take_points(self, req: PaymentRequest) -> int:
        """Redeem the points the order uses, with the order's payments row, in one transaction,
        once (a retry finds the row); refused when they are not the customer's or not enough."""
        use = req.points
        assert use is not None
        key = points_key(req.workflow_id)
        with self.db.unit_of_work() as s:
            done = orders.payment_by_key(s, key)
            if done is not None:
                return done.amount
            if use.amount <= 0 or use.amount > req.amount:
                raise InvalidRequest(
                    "Points can pay at most the order's total.", code="points_over_total"
                )
            kind, _, digest = use.proof.partition(":")
            if kind != "customer" or not customers.digest_matches(s, use.customer_id, digest):
                raise InvalidRequest(
                    "Points pay only with the code on the customer's own loyalty card.",
                    code="points_refused",
                )
            points = loyalty_rules.points_for_amount(use.amount, self.points_rules)
            try:
                loyalty.redeem(s, use.customer_id, points, key, reference=req.workflow_id)
            except NotFound:
                raise InsufficientBalance(
                    "The customer has no loyalty points yet.", code="insufficient_points"
                ) from None
            orders.insert_payment(
                s,
                orders.NewPayment(
                    workflow_id=req.workflow_id,
                    tender="points",
                    amount=use.amount,
                    tendered=use.amount,
                    currency=req.currency,
                    status="completed",
                    idempotency_key=key,
                    location_id=None,
                    till_id=None,
                    provider_ref=str(use.customer_id),
                ),
            )
        return use.amount

    @activity.defn(name="online.payment_status")
    def payment_status(self, check: PaymentCheck) -> PaymentState:
        """Where the customer's payment is (authorized once Stripe.js confirmed the card)."""
        with self.db.unit_of_work() as s:
            points = orders.payment_by_key(s, points_key(check.workflow_id))
            points_paid = points.amount if points is not None else 0
            row = orders.payment_by_key(s, payment_key(check.workflow_id))
            if row is None or not row.provider_ref:
                return PaymentState(
                    intent_id="", status="missing", authorized=False, points_amount=points_paid
                )
            payment_id, ref = row.id, row.provider_ref
        return self._record(payment_id, self.gateway.retrieve_intent(ref), points_paid)

    def _record(self, payment_id: int, intent: Intent, points_paid: int = 0) -> PaymentState:
        with self.db.unit_of_work() as s:
            current = orders.payment(s, payment_id).status
            if current in ("creating", "pending"):
                orders.update_payment(
                    s,
                    payment_id,
                    provider_ref=intent.id,
                    status="authorized" if intent.authorized else "pending",
                    card_brand=intent.card_brand,
                    card_last4=intent.card_last4,
                    card_wallet=intent.card_wallet,  # Apple Pay / Google Pay: from the charge
                    failure_message=intent.decline_message[:300],
                )
        return PaymentState(
            intent_id=intent.id,
            status=intent.status,
            authorized=intent.authorized,
            client_secret=intent.client_secret,
            message=intent.decline_message,
            points_amount=points_paid,
        )
