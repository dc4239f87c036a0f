"""Taking money: cash, cards through the payment gateway and reader, gift cards and store credit.

Every attempt is written to PostgreSQL (keyed `{workflow}:tender:{n}`) before the provider is
called, so a retried activity finds its PaymentIntent instead of making a second one.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from contracts.errors import encode_errors
from contracts.sale import SaleMoney, TenderAttempt, TenderResult
from db.repositories import balances, customers, loyalty, orders, tills
from db.session import Database
from domain import loyalty as loyalty_rules
from domain.errors import InsufficientBalance, InvalidRequest, NotFound
from integrations.payments import CardReader, GatewayError, Intent, PaymentGateway

CARD_WAIT_SECONDS = 90  # how long a customer has to tap / insert at the reader


def tender_key(workflow_id: str, number: int) -> str:
    return f"{workflow_id}:tender:{number}"


def payment_row(
    t: TenderAttempt, *, status: str, provider: str = "", provider_ref: str = ""
) -> orders.NewPayment:
    """The payments row of one tender attempt, keyed so a repeated attempt finds it."""
    return orders.NewPayment(
        workflow_id=t.workflow_id,
        tender=t.kind,
        amount=t.amount,
        tendered=t.tendered,
        currency=t.currency,
        status=status,
        idempotency_key=tender_key(t.workflow_id, t.number),
        location_id=t.location_id,
        till_id=t.till_id,
        provider=provider,
        provider_ref=provider_ref,
    )


def _customer_present(s: Session, t: TenderAttempt) -> bool:
    """The proof the API checked (the customer's card code, or a manager's PIN), checked again
    against the database: the code's hash is this customer's, or the approver manages this
    store."""
    kind, _, value = t.proof.partition(":")
    if kind == "customer":
        return customers.digest_matches(s, int(t.reference), value)
    if kind == "manager" and value.isdigit():
        return tills.is_manager_of(s, int(value), t.location_id)
    return False


@encode_errors
class TenderActivities:
    """Each method takes one tender of a sale, or settles / voids all of them."""

    def __init__(
        self,
        db: Database,
        gateway: PaymentGateway,
        reader_for: Callable[[str], CardReader],
        points_rules: loyalty_rules.LoyaltyRules | None = None,
    ) -> None:
        self.db = db
        self.gateway = gateway
        self.reader_for = reader_for
        # What a point is worth (a points tender) and how long given-back points last.
        self.points_rules = points_rules or loyalty_rules.LoyaltyRules()

    # ---- cash, gift card, store credit: local activities, one transaction each ----------

    @activity.defn(name="tender.cash")
    def cash(self, t: TenderAttempt) -> TenderResult:
        """Record cash taken into the drawer (or an exchange credit from a return)."""
        with self.db.unit_of_work() as s:
            orders.insert_payment(s, self._payment(t, status="completed", provider_ref=t.reference))
        return TenderResult(approved=True, reference=t.reference)

    @activity.defn(name="tender.offline_card")
    def offline_card(self, t: TenderAttempt) -> TenderResult:
        """Record a card payment the terminal took offline; the replay captured it (pi_…) or it is
        to be collected from the customer (collect:…). Never charges again."""
        status = "captured" if t.reference.startswith("pi_") else "uncollected"
        try:
            with self.db.unit_of_work() as s:
                orders.insert_payment(
                    s,
                    self._payment(
                        t,
                        status=status,
                        provider="stripe" if status == "captured" else "",
                        provider_ref=t.reference,
                    ),
                )
        except IntegrityError as err:
            # Another sale recorded this PaymentIntent first (uq_payments_card_provider_ref).
            raise InvalidRequest(
                f"The card payment {t.reference} is already recorded for another sale; "
                "it pays for one sale only."
            ) from err
        return TenderResult(approved=True, reference=t.reference)

    @activity.defn(name="tender.balance")
    def balance(self, t: TenderAttempt) -> TenderResult:
        """Take a gift card or store credit tender; a short balance is a decline, not a failure."""
        key = tender_key(t.workflow_id, t.number)
        try:
            with self.db.unit_of_work() as s:
                if t.kind == "gift_card":
                    balances.post_gift_card(
                        s,
                        t.reference,
                        delta=-t.amount,
                        reason="redeem",
                        reference=t.workflow_id,
                        key=key,
                        currency=t.currency,  # issue 19: refused in another currency
                    )
                elif t.kind == "store_credit":
                    if not t.reference.isdigit():
                        raise InvalidRequest(
                            "A store credit tender needs the customer id as its reference."
                        )
                    if not _customer_present(s, t):
                        raise InvalidRequest(
                            "Store credit pays only with proof the customer is here: the code on "
                            "their card, or a manager's approval."
                        )
                    balances.post_store_credit(
                        s,
                        int(t.reference),
                        delta=-t.amount,
                        reason="redeem",
                        reference=t.workflow_id,
                        key=key,
                        currency=t.currency,  # issue 19: refused in another currency
                    )
                elif t.kind == "points":
                    self._redeem_points(s, t, key)
                else:
                    raise InvalidRequest(f"{t.kind} is not a balance tender.")
                orders.insert_payment(
                    s, self._payment(t, status="completed", provider_ref=t.reference.upper())
                )
        except balances.InsufficientBalance as err:
            return TenderResult(approved=False, message=err.message)
        return TenderResult(approved=True, reference=t.reference.upper())

    def _redeem_points(self, s: Session, t: TenderAttempt, key: str) -> None:
        """Points that pay for the tender's amount (rounded up), taken under the account's lock
        with the tender's key: a short balance is InsufficientBalance, never a negative one."""
        if not t.reference.isdigit():
            raise InvalidRequest("A points tender needs the customer id as its reference.")
        if not _customer_present(s, t):
            raise InvalidRequest(
                "Points pay only with proof the customer is here: the code on their card, or a "
                "manager's approval."
            )
        points = loyalty_rules.points_for_amount(t.amount, self.points_rules)
        try:
            loyalty.redeem(s, int(t.reference), points, key, reference=t.workflow_id)
        except NotFound:
            raise InsufficientBalance(
                "The customer has no loyalty points yet.", code="insufficient_points"
            ) from None

    # ---- cards: regular activities (provider round trips, customer at the reader) --------

    @activity.defn(name="tender.card")
    def card(self, t: TenderAttempt) -> TenderResult:
        """Authorize a card-present payment on the till's reader (captured when the sale
        completes)."""
        key = tender_key(t.workflow_id, t.number)
        with self.db.unit_of_work() as s:
            row = orders.payment_by_key(s, key)
            fresh = row is None
            if fresh:
                row = orders.insert_payment(
                    s, self._payment(t, status="creating", provider="stripe")
                )
            assert row is not None
            payment_id, provider_ref, status = row.id, row.provider_ref, row.status
        if status in ("authorized", "captured"):
            return self._stored(payment_id)
        try:
            intent = self._intent_for(t, key, payment_id, provider_ref, fresh)
            if not intent.authorized and intent.status != "canceled":
                self.reader_for(t.till_code).process(
                    intent.id, key=key, simulate=t.simulate or None
                )
                intent = self._wait_for_card(intent.id)
        except GatewayError as err:
            self._finish(payment_id, "declined", failure=str(err))
            return TenderResult(approved=False, message=f"Card declined: {err}")
        if intent.authorized:
            self._finish(
                payment_id,
                "authorized",
                brand=intent.card_brand,
                last4=intent.card_last4,
                wallet=intent.card_wallet,
            )
            return TenderResult(
                approved=True,
                reference=intent.id,
                card_brand=intent.card_brand,
                card_last4=intent.card_last4,
                card_wallet=intent.card_wallet,
            )
        message = intent.decline_message or "The card was not authorized."
        self._finish(payment_id, "declined", failure=message)
        return TenderResult(
            approved=False, message=f"Card declined: {message}", reference=intent.id
        )

    def after_intent_created(self, intent: Intent) -> None:
        """Hook between the provider's answer and our own write (tests simulate a crash here)."""

    def _intent_for(
        self, t: TenderAttempt, key: str, payment_id: int, provider_ref: str, fresh: bool
    ) -> Intent:
        if provider_ref:
            return self.gateway.retrieve_intent(provider_ref)
        intent = None if fresh else self.gateway.find_intent_by_key(key)
        if intent is None:
            intent = self.gateway.create_intent(
                amount=t.amount,
                currency=t.currency,
                key=key,
                card_present=True,
                metadata={"workflow_id": t.workflow_id, "till": t.till_code},
            )
        self.after_intent_created(intent)
        with self.db.unit_of_work() as s:
            orders.update_payment(s, payment_id, provider_ref=intent.id, status="pending")
        return intent

    def _wait_for_card(self, intent_id: str) -> Intent:
        deadline = time.monotonic() + CARD_WAIT_SECONDS
        while True:
            intent = self.gateway.retrieve_intent(intent_id)
            if intent.authorized or intent.declined or intent.status == "canceled":
                return intent
            if time.monotonic() > deadline:
                return intent
            activity.heartbeat(intent.status)
            time.sleep(0.5)

    @activity.defn(name="tender.capture_cards")
    def capture_cards(self, m: SaleMoney) -> int:
        """Capture every authorized card of a completed sale; capturing twice is a no-op."""
        captured = 0
        with self.db.unit_of_work() as s:
            pays = [
                (p.id, p.provider_ref, p.amount, p.idempotency_key)
                for p in orders.payments_for(s, m.workflow_id)
                if p.tender == "card" and p.status == "authorized"
            ]
        for payment_id, intent_id, amount, key in pays:
            try:
                self.gateway.capture(intent_id, amount=amount, key=key)
            except GatewayError as err:
                raise ApplicationError(
                    f"Capture of {intent_id} failed: {err}", type="CaptureFailed"
                ) from err
            with self.db.unit_of_work() as s:
                orders.update_payment(s, payment_id, status="captured")
            captured += 1
        return captured

    @activity.defn(name="tender.void_all")
    def void_all(self, m: SaleMoney) -> int:
        """Compensation: cancel card authorizations, give balances back, void every payment."""
        with self.db.unit_of_work() as s:
            pays = [
                (p.id, p.tender, p.provider_ref, p.amount, p.status, p.idempotency_key)
                for p in orders.payments_for(s, m.workflow_id)
            ]
        voided = 0
        for payment_id, tender, ref, amount, status, key in pays:
            if status in ("voided", "declined"):
                continue
            final = "voided"
            if tender == "card" and ref and status == "captured":
                # Captured already (the order write failed after capture): give the money back.
                self.gateway.refund(
                    ref, amount=amount, key=f"{key}:refund", metadata={"reason": "sale failed"}
                )
                final = "refunded"
            elif tender == "card" and ref:
                self.gateway.cancel(ref, key=key)
            with self.db.unit_of_work() as s:
                if tender == "gift_card" and status == "completed":
                    balances.post_gift_card(
                        s,
                        ref,
                        delta=amount,
                        reason="reversal",
                        reference=m.workflow_id,
                        key=f"{key}:reversal",
                    )
                elif tender == "store_credit" and status == "completed":
                    balances.post_store_credit(
                        s,
                        int(ref),
                        delta=amount,
                        reason="reversal",
                        reference=m.workflow_id,
                        key=f"{key}:reversal",
                    )
                elif tender == "points" and status == "completed":
                    # Every point the tender took goes back (a lot of its own), once.
                    loyalty.refund_redeem(s, key, expiry_months=self.points_rules.expiry_months)
                orders.update_payment(s, payment_id, status=final)
            voided += 1
        return voided

    # ---- helpers -----------------------------------------------------------------------------

    def _payment(
        self, t: TenderAttempt, *, status: str, provider: str = "", provider_ref: str = ""
    ) -> orders.NewPayment:
        return payment_row(t, status=status, provider=provider, provider_ref=provider_ref)

    def _finish(
        self,
        payment_id: int,
        status: str,
        *,
        brand: str = "",
        last4: str = "",
        wallet: str = "",
        failure: str = "",
    ) -> None:
        with self.db.unit_of_work() as s:
            orders.update_payment(
                s,
                payment_id,
                status=status,
                card_brand=brand,
                card_last4=last4,
                card_wallet=wallet,  # from the provider's charge only (domain/wallets.py)
                failure_message=failure[:300],
            )

    def _stored(self, payment_id: int) -> TenderResult:
        with self.db.unit_of_work() as s:
            p = orders.payment(s, payment_id)
            return TenderResult(
                approved=True,
                reference=p.provider_ref,
                card_brand=p.card_brand,
                card_last4=p.card_last4,
                card_wallet=p.card_wallet,
            )
