"""Card wallets (Apple Pay, Google Pay, Samsung Pay …): how Stripe names them on a charge and what
a receipt or a report calls them.

The wallet of a payment comes only from the provider's charge (`payment_method_details.card.wallet`
online, `payment_method_details.card_present.wallet` in store), never from what a client claims.
"""

from __future__ import annotations

from collections.abc import Mapping

# Stripe's `wallet.type` values (card: the first seven; card_present: apple_pay, google_pay,
# samsung_pay, unknown) and how we print them.
WALLET_LABELS: Mapping[str, str] = {
    "apple_pay": "Apple Pay",
    "google_pay": "Google Pay",
    "samsung_pay": "Samsung Pay",
    "link": "Link",
    "masterpass": "Masterpass",
    "visa_checkout": "Visa Checkout",
    "amex_express_checkout": "Amex Express Checkout",
    "unknown": "wallet",
}

MAX_LENGTH = 32  # the payments.card_wallet column


def wallet_type(details: object) -> str:
    """The wallet type of a Stripe `card` / `card_present` details object ("" for a plain card);
    a type we do not know is kept as Stripe spells it (trimmed, lower case)."""
    if not isinstance(details, Mapping):
        return ""
    wallet = details.get("wallet")
    if not isinstance(wallet, Mapping):
        return ""
    kind = wallet.get("type")
    return str(kind).strip().lower()[:MAX_LENGTH] if kind else ""


def wallet_label(kind: str) -> str:
    """What a receipt or report calls a wallet type ("" for none)."""
    if not kind:
        return ""
    return WALLET_LABELS.get(kind, kind.replace("_", " ").title())
