"""FakeStripeWallets: the few Stripe API calls StripeGateway makes (PaymentIntents, their
confirm / capture / cancel, PaymentMethods), answering with Stripe's documented object shapes, so
wallet charges (which localstripe cannot produce) go through the real gateway and the real SDK.

A "card" is a payment method registered with the details Stripe puts on its charge
(`payment_method_details.card` online, `.card_present` for a Terminal tap); the JSON fixtures in
tests/wallets/fixtures are copied from Stripe's API reference."""

from __future__ import annotations

import copy
import itertools
import json
import re
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from helpers.fake_http import FakeHttpServer, Reply, Seen

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def _form(seen: Seen) -> dict[str, str]:
    """Stripe's SDK posts form-encoded bodies (`metadata[k]=v`, `payment_method_types[0]=…`)."""
    raw = seen.body if isinstance(seen.body, str) else ""
    return {k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()}


def _sub(form: dict[str, str], name: str) -> dict[str, str]:
    pat = re.compile(rf"^{name}\[([^\]]+)\]$")
    return {m.group(1): v for k, v in form.items() if (m := pat.match(k))}


class FakeStripeWallets(FakeHttpServer):
    """Stateful PaymentIntents with manual capture; every confirm charges the payment method's
    registered `payment_method_details` (with or without a wallet)."""

    def __init__(self) -> None:
        super().__init__()
        self.intents: dict[str, dict[str, Any]] = {}
        self.methods: dict[str, dict[str, Any]] = {}  # pm id -> Stripe PaymentMethod object
        self.details: dict[str, dict[str, Any]] = {}  # pm id -> charge payment_method_details
        self.charges: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        pi = r"/v1/payment_intents/(?P<id>[^/]+)"
        self.route("POST", "/v1/payment_intents", self._create)
        self.route("GET", "/v1/payment_intents", self._list)
        self.route("GET", pi, self._retrieve)
        self.route("POST", pi, self._update)
        self.route("POST", pi + "/confirm", self._confirm)
        self.route("POST", pi + "/capture", self._capture)
        self.route("POST", pi + "/cancel", self._cancel)
        self.route("GET", r"/v1/payment_methods/(?P<id>[^/]+)", self._method)

    # ---- set-up ----------------------------------------------------------------------------

    def add_method(self, pm_id: str, charge_details: dict[str, Any]) -> str:
        """A payment method whose charges carry `charge_details` (a charge's
        `payment_method_details`: {"type": "card_present", "card_present": {...}} or "card")."""
        kind = str(charge_details["type"])
        self.details[pm_id] = copy.deepcopy(charge_details)
        card = charge_details[kind]
        self.methods[pm_id] = {
            "id": pm_id,
            "object": "payment_method",
            "type": kind,
            kind: {
                "brand": card.get("brand"),
                "last4": card.get("last4"),
                "exp_month": card.get("exp_month"),
                "exp_year": card.get("exp_year"),
                "wallet": card.get("wallet"),
            },
            "livemode": False,
            "metadata": {},
        }
        return pm_id

    # ---- routes ----------------------------------------------------------------------------

    def _new_id(self, prefix: str) -> str:
        # Unique across servers: the suite's database outlives each fake.
        return f"{prefix}_fake{uuid.uuid4().hex[:12]}{next(self._ids):04d}"

    def _view(self, pi: dict[str, Any], expand: bool) -> dict[str, Any]:
        out = copy.deepcopy(pi)
        charge = out.get("latest_charge")
        if charge and expand:
            out["latest_charge"] = copy.deepcopy(self.charges[charge])
        return out

    def _create(self, seen: Seen, _: re.Match[str]) -> Reply:
        form = _form(seen)
        pi_id = self._new_id("pi")
        pi: dict[str, Any] = {
            "id": pi_id,
            "object": "payment_intent",
            "amount": int(form["amount"]),
            "amount_capturable": 0,
            "amount_received": 0,
            "capture_method": form.get("capture_method", "automatic"),
            "client_secret": f"{pi_id}_secret_fake",
            "confirmation_method": "automatic",
            "currency": form["currency"],
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": _sub(form, "metadata"),
            "payment_method": form.get("payment_method"),
            "payment_method_types": list(_sub(form, "payment_method_types").values()),
            "status": "requires_payment_method",
        }
        self.intents[pi_id] = pi
        if form.get("payment_method") and form.get("confirm") == "true":
            self._charge(pi)
        return Reply(200, self._view(pi, expand=False))

    def _list(self, seen: Seen, _: re.Match[str]) -> Reply:
        data = [self._view(p, expand=False) for p in reversed(self.intents.values())]
        return Reply(
            200, {"object": "list", "data": data, "has_more": False, "url": "/v1/payment_intents"}
        )

    def _retrieve(self, seen: Seen, m: re.Match[str]) -> Reply:
        pi = self.intents.get(m.group("id"))
        if pi is None:
            return self._missing(m.group("id"))
        expand = "latest_charge" in (
            seen.query.get("expand[]", []) + seen.query.get("expand[0]", [])
        )
        return Reply(200, self._view(pi, expand=expand))

    def _update(self, seen: Seen, m: re.Match[str]) -> Reply:
        pi = self.intents.get(m.group("id"))
        if pi is None:
            return self._missing(m.group("id"))
        form = _form(seen)
        if "payment_method" in form:
            pi["payment_method"] = form["payment_method"]
            pi["status"] = "requires_confirmation"
        return Reply(200, self._view(pi, expand=False))

    def _confirm(self, seen: Seen, m: re.Match[str]) -> Reply:
        pi = self.intents.get(m.group("id"))
        if pi is None:
            return self._missing(m.group("id"))
        self._charge(pi)
        return Reply(200, self._view(pi, expand=False))

    def _capture(self, seen: Seen, m: re.Match[str]) -> Reply:
        pi = self.intents[m.group("id")]
        amount = int(_form(seen).get("amount_to_capture") or pi["amount_capturable"])
        pi.update(status="succeeded", amount_received=amount, amount_capturable=0)
        charge = self.charges[pi["latest_charge"]]
        charge.update(captured=True, amount_captured=amount)
        return Reply(200, self._view(pi, expand=False))

    def _cancel(self, seen: Seen, m: re.Match[str]) -> Reply:
        pi = self.intents[m.group("id")]
        pi.update(status="canceled", amount_capturable=0)
        return Reply(200, self._view(pi, expand=False))

    def _method(self, seen: Seen, m: re.Match[str]) -> Reply:
        pm = self.methods.get(m.group("id"))
        if pm is None:
            return self._missing(m.group("id"))
        return Reply(200, pm)

    def _charge(self, pi: dict[str, Any]) -> None:
        """Authorize: a charge (Stripe's `charge` object) with the method's details."""
        pm = str(pi["payment_method"])
        ch_id = self._new_id("ch")
        details = self.details[pm]
        self.charges[ch_id] = {
            "id": ch_id,
            "object": "charge",
            "amount": pi["amount"],
            "amount_captured": 0,
            "amount_refunded": 0,
            "captured": False,
            "currency": pi["currency"],
            "livemode": False,
            "metadata": dict(pi["metadata"]),
            "paid": True,
            "payment_intent": pi["id"],
            "payment_method": pm,
            "payment_method_details": copy.deepcopy(details),
            "status": "succeeded",
        }
        pi.update(latest_charge=ch_id, status="requires_capture", amount_capturable=pi["amount"])

    @staticmethod
    def _missing(object_id: str) -> Reply:
        return Reply(
            404,
            {
                "error": {
                    "code": "resource_missing",
                    "message": f"No such payment_intent: '{object_id}'",
                    "param": "intent",
                    "type": "invalid_request_error",
                }
            },
        )
