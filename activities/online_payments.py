"""Online card payments of storefront orders: a card-not-present PaymentIntent through the gateway.

The payment row (keyed `{order workflow}:payment`) is written before the provider is called, and
the intent carries the same key, so a retried activity finds its intent instead of making another.
Capture and void reuse the till's `tender.capture_cards` / `tender.void_all` (same payments table).
"""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from contracts.errors import encode_errors
from contracts.online import PaymentCheck, PaymentRequest, PaymentState
from db.repositories import orders
from db.session import Database
from integrations.payments import GatewayError, Intent, PaymentGateway


def payment_key(workflow_id: str) -> str:
    return f"{workflow_id}:payment"


@encode_errors
class OnlinePaymentActivities:
    """Authorize (manual capture) and check the PaymentIntent of an online order."""

    def __init__(self, db: Database, gateway: PaymentGateway) -> None:
        self.db = db
        self.gateway = gateway

    @activity.defn(name="online.authorize")
    def authorize(self, req: PaymentRequest) -> PaymentState:
        """Create (or find) the order's PaymentIntent; with a test payment method, confirm it
        too."""
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
        return self._record(payment_id, intent)

    @activity.defn(name="online.payment_status")
    def payment_status(self, check: PaymentCheck) -> PaymentState:
        """Where the customer's payment is (authorized once Stripe.js confirmed the card)."""
        with self.db.unit_of_work() as s:
            row = orders.payment_by_key(s, payment_key(check.workflow_id))
            if row is None or not row.provider_ref:
                return PaymentState(intent_id="", status="missing", authorized=False)
            payment_id, ref = row.id, row.provider_ref
        return self._record(payment_id, self.gateway.retrieve_intent(ref))

    def _record(self, payment_id: int, intent: Intent) -> PaymentState:
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
                    failure_message=intent.decline_message[:300],
                )
        return PaymentState(
            intent_id=intent.id,
            status=intent.status,
            authorized=intent.authorized,
            client_secret=intent.client_secret,
            message=intent.decline_message,
        )
