"""Stripe through the official SDK: PaymentIntents online and card-present, refunds, Terminal."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import stripe

from domain.wallets import wallet_type
from integrations.payments import CardReader, GatewayError, Intent, PaymentGateway, RefundResult

KEY_FIELD = "tillflow_key"


def make_client(api_key: str, api_base: str | None = None) -> stripe.StripeClient:
    """A client; `api_base` points at localstripe in the local default and the tests."""
    kwargs: dict[str, Any] = {"max_network_retries": 2}
    if api_base:
        kwargs["base_addresses"] = {"api": api_base}
    return stripe.StripeClient(api_key, **kwargs)


def _intent(obj: Any) -> Intent:
    pi = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
    charge = pi.get("latest_charge")
    details = (charge.get("payment_method_details") or {}) if isinstance(charge, dict) else {}
    card = details.get("card_present") or details.get("card") or {}
    error = pi.get("last_payment_error") or {}
    metadata = pi.get("metadata") or {}
    return Intent(
        id=pi["id"],
        status=pi["status"],
        amount=int(pi["amount"]),
        amount_received=int(pi.get("amount_received") or 0),
        currency=str(pi["currency"]).upper(),
        key=metadata.get(KEY_FIELD, ""),
        card_brand=str(card.get("brand") or ""),
        card_last4=str(card.get("last4") or ""),
        # Only the charge says whether a wallet paid (never a client or the metadata).
        card_wallet=wallet_type(card),
        decline_code=str(error.get("decline_code") or error.get("code") or ""),
        decline_message=str(error.get("message") or ""),
        client_secret=str(pi.get("client_secret") or ""),
        metadata={str(k): str(v) for k, v in metadata.items()},
    )


def _refund(obj: Any) -> RefundResult:
    r = obj.to_dict()
    return RefundResult(
        r["id"], r["status"], int(r["amount"]), (r.get("metadata") or {}).get(KEY_FIELD, "")
    )


def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except (stripe.CardError, stripe.InvalidRequestError) as err:
        raise GatewayError(
            err.user_message or str(err), code=getattr(err, "code", "") or ""
        ) from err


class StripeGateway(PaymentGateway):
    """PaymentIntents with manual capture, so an abandoned sale is voided, not refunded."""

    def __init__(self, client: stripe.StripeClient) -> None:
        self.client = client

    def create_intent(
        self,
        *,
        amount: int,
        currency: str,
        key: str,
        card_present: bool,
        metadata: dict[str, str],
        payment_method: str | None = None,
    ) -> Intent:
        params: dict[str, Any] = {
            "amount": amount,
            "currency": currency.lower(),
            "capture_method": "manual",
            "metadata": {**metadata, KEY_FIELD: key},
            "payment_method_types": ["card_present"] if card_present else ["card"],
        }
        if payment_method:
            params["payment_method"] = payment_method
            params["confirm"] = True
        try:
            pi = self.client.v1.payment_intents.create(
                params,  # type: ignore[arg-type]  # payment_method_types: not in the SDK's TypedDict
                {"idempotency_key": f"{key}:create"},
            )
        except stripe.CardError as err:
            # Declined on confirm: the intent exists and says why.
            declined = err.error.payment_intent if err.error else None
            # A PaymentIntent is a StripeObject (stripe >= 15), not a dict: read its id attribute.
            pi_id = getattr(declined, "id", None) if declined is not None else None
            if not pi_id:
                raise GatewayError(err.user_message or str(err), code=err.code or "") from err
            return self.retrieve_intent(pi_id)
        except stripe.InvalidRequestError as err:
            raise GatewayError(err.user_message or str(err), code=err.code or "") from err
        return self.retrieve_intent(pi.id)

    def find_intent_by_key(self, key: str) -> Intent | None:
        # Needed when we crashed between the provider's answer and our own write; Stripe's
        # idempotency key covers that too, but only for 24 h and not on emulators.
        page = _call(self.client.v1.payment_intents.list, {"limit": 100})
        for pi in page.data:
            if (pi.to_dict().get("metadata") or {}).get(KEY_FIELD) == key:
                return self.retrieve_intent(pi.id)
        return None

    def retrieve_intent(self, intent_id: str) -> Intent:
        pi = _call(
            self.client.v1.payment_intents.retrieve, intent_id, {"expand": ["latest_charge"]}
        )
        intent = _intent(pi)
        pm = pi.to_dict().get("payment_method")
        if not intent.card_last4 and isinstance(pm, str) and intent.authorized:
            # Some charges (and emulators) carry no card details: the payment method has them.
            method = _call(self.client.v1.payment_methods.retrieve, pm).to_dict()
            card = method.get("card") or method.get("card_present") or {}
            intent = replace(
                intent,
                card_brand=str(card.get("brand") or ""),
                card_last4=str(card.get("last4") or ""),
                card_wallet=intent.card_wallet or wallet_type(card),
            )
        return intent

    def attach_and_confirm(self, intent_id: str, payment_method: str, *, key: str) -> Intent:
        current = self.retrieve_intent(intent_id)
        if current.status in ("requires_capture", "succeeded", "canceled"):
            return current
        _call(
            self.client.v1.payment_intents.update,
            intent_id,
            {"payment_method": payment_method},
            {"idempotency_key": f"{key}:attach:{payment_method}"},
        )
        try:
            self.client.v1.payment_intents.confirm(
                intent_id, {}, {"idempotency_key": f"{key}:confirm:{payment_method}"}
            )
        except stripe.CardError:
            pass  # the decline is on the intent's last_payment_error
        except stripe.InvalidRequestError as err:
            raise GatewayError(err.user_message or str(err), code=err.code or "") from err
        return self.retrieve_intent(intent_id)

    def capture(self, intent_id: str, *, amount: int | None, key: str) -> Intent:
        current = self.retrieve_intent(intent_id)
        if current.status == "succeeded":
            return current  # captured already: a retry must not capture twice
        params: dict[str, Any] = {} if amount is None else {"amount_to_capture": amount}
        _call(
            self.client.v1.payment_intents.capture,
            intent_id,
            params,
            {"idempotency_key": f"{key}:capture"},
        )
        return self.retrieve_intent(intent_id)

    def cancel(self, intent_id: str, *, key: str) -> Intent:
        current = self.retrieve_intent(intent_id)
        if current.status in ("canceled", "succeeded"):
            return current
        _call(
            self.client.v1.payment_intents.cancel,
            intent_id,
            {},
            {"idempotency_key": f"{key}:cancel"},
        )
        return self.retrieve_intent(intent_id)

    def refund(
        self, intent_id: str, *, amount: int, key: str, metadata: dict[str, str]
    ) -> RefundResult:
        r = _call(
            self.client.v1.refunds.create,
            {
                "payment_intent": intent_id,
                "amount": amount,
                "metadata": {**metadata, KEY_FIELD: key},
            },
            {"idempotency_key": key},
        )
        return _refund(r)

    def list_refunds(self, intent_id: str) -> list[RefundResult]:
        page = _call(self.client.v1.refunds.list, {"payment_intent": intent_id, "limit": 100})
        return [_refund(r) for r in page.data]


class StripeTerminalReader(CardReader):
    """Stripe Terminal, server-driven: the reader configured for the till shows the amount."""

    def __init__(self, client: stripe.StripeClient, reader_id: str) -> None:
        self.client = client
        self.reader_id = reader_id

    def process(self, intent_id: str, *, key: str, simulate: str | None = None) -> None:
        _call(
            self.client.v1.terminal.readers.process_payment_intent,
            self.reader_id,
            {"payment_intent": intent_id},
            {"idempotency_key": f"{key}:reader"},
        )
        if simulate and self.reader_id.startswith("tmr_"):
            # Test mode: a simulated Stripe reader needs a card presented.
            _call(
                self.client.v1.test_helpers.terminal.readers.present_payment_method,
                self.reader_id,
                {},
            )


class SimulatedReader(CardReader):
    """The local default's reader: confirms the intent with a test card, as if tapped.

    `simulate` names a Stripe test payment method (pm_card_visa, pm_card_chargeCustomerFail …).
    """

    def __init__(self, gateway: PaymentGateway, default_card: str = "pm_card_visa") -> None:
        self.gateway = gateway
        self.default_card = default_card

    def process(self, intent_id: str, *, key: str, simulate: str | None = None) -> None:
        self.gateway.attach_and_confirm(intent_id, simulate or self.default_card, key=key)
