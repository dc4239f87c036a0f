"""Stripe's side of the tender reconciliation: the balance transactions of the account (charges,
refunds, dispute adjustments, payouts) with their source's PaymentIntent and metadata, and the
payouts they were paid out in. The `BalanceSource` Protocol is what the sync activity needs;
`StripeBalance` is the real one on the official SDK (localstripe has no balance transactions, so
the tests use a fake speaking Stripe's documented shapes)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import stripe

PAGE = 100  # Stripe's largest page


@dataclass(frozen=True, kw_only=True)
class BalanceTxn:
    """One balance transaction as tillflow keeps it (amounts in minor units, signed as Stripe's:
    a refund is negative)."""

    id: str
    type: str
    reporting_category: str
    amount: int
    fee: int
    net: int
    currency: str  # upper case
    status: str
    created: datetime
    available_on: datetime | None
    source_id: str = ""
    payment_intent: str = ""
    charge: str = ""
    details: dict[str, Any] = field(default_factory=dict)  # metadata, dispute reason / status
    payout_id: str | None = None
    payout_status: str | None = None
    payout_arrival: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class PayoutInfo:
    id: str
    amount: int
    currency: str
    status: str  # paid | pending | in_transit | canceled | failed
    arrival_date: datetime | None
    created: datetime


class BalanceSource(Protocol):
    def balance_transactions(
        self, created_from: datetime, created_to: datetime
    ) -> list[BalanceTxn]:
        """Every balance transaction created in [created_from, created_to)."""
        ...

    def payouts(self, created_from: datetime, created_to: datetime) -> list[PayoutInfo]:
        """Every payout created in [created_from, created_to)."""
        ...

    def payout_transactions(self, payout: PayoutInfo) -> list[BalanceTxn]:
        """The balance transactions a payout paid out (each carrying the payout's id)."""
        ...


def _ts(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if value is not None else None


def _dict(obj: Any) -> dict[str, Any]:
    if isinstance(obj, Mapping):
        return dict(obj)
    if hasattr(obj, "to_dict"):
        return dict(obj.to_dict())
    return {}


def parse_payout(obj: Any) -> PayoutInfo:
    p = _dict(obj)
    created = _ts(p.get("created"))
    assert created is not None
    return PayoutInfo(
        id=str(p["id"]),
        amount=int(p.get("amount") or 0),
        currency=str(p.get("currency") or "").upper(),
        status=str(p.get("status") or ""),
        arrival_date=_ts(p.get("arrival_date")),
        created=created,
    )


def parse_txn(obj: Any, payout: PayoutInfo | None = None) -> BalanceTxn:
    """A balance transaction from Stripe's object (its `source` expanded or an id)."""
    t = _dict(obj)
    raw_source = t.get("source")
    source = _dict(raw_source) if not isinstance(raw_source, str) else {"id": raw_source}
    kind = str(source.get("object") or "")
    pi = source.get("payment_intent")
    charge = source.get("charge")
    if kind == "charge":
        charge = source.get("id")
    details: dict[str, Any] = {
        "metadata": {str(k): str(v) for k, v in (_dict(source.get("metadata")) or {}).items()},
        "source_object": kind,
    }
    if kind == "dispute":
        details |= {"reason": str(source.get("reason") or ""), "status": source.get("status")}
    if t.get("description"):
        details["description"] = str(t["description"])
    created = _ts(t.get("created"))
    assert created is not None
    return BalanceTxn(
        id=str(t["id"]),
        type=str(t.get("type") or ""),
        reporting_category=str(t.get("reporting_category") or ""),
        amount=int(t.get("amount") or 0),
        fee=int(t.get("fee") or 0),
        net=int(t.get("net") or 0),
        currency=str(t.get("currency") or "").upper(),
        status=str(t.get("status") or ""),
        created=created,
        available_on=_ts(t.get("available_on")),
        source_id=str(source.get("id") or ""),
        payment_intent=str(pi.get("id") if isinstance(pi, Mapping) else pi or ""),
        charge=str(charge.get("id") if isinstance(charge, Mapping) else charge or ""),
        details=details,
        payout_id=payout.id if payout else None,
        payout_status=payout.status if payout else None,
        payout_arrival=payout.arrival_date if payout else None,
    )


def _window(created_from: datetime, created_to: datetime) -> dict[str, int]:
    return {"gte": int(created_from.timestamp()), "lt": int(created_to.timestamp())}


class StripeBalance:
    """Balance transactions and payouts through the official SDK, every page of each list."""

    def __init__(self, client: stripe.StripeClient) -> None:
        self.client = client

    def _all(self, page: Any) -> Iterator[Any]:
        return iter(page.auto_paging_iter())

    def balance_transactions(
        self, created_from: datetime, created_to: datetime
    ) -> list[BalanceTxn]:
        params: Any = {
            "created": _window(created_from, created_to),
            "expand": ["data.source"],
            "limit": PAGE,
        }
        page = self.client.v1.balance_transactions.list(params)
        return [parse_txn(t) for t in self._all(page)]

    def payouts(self, created_from: datetime, created_to: datetime) -> list[PayoutInfo]:
        params: Any = {"created": _window(created_from, created_to), "limit": PAGE}
        page = self.client.v1.payouts.list(params)
        return [parse_payout(p) for p in self._all(page)]

    def payout_transactions(self, payout: PayoutInfo) -> list[BalanceTxn]:
        params: Any = {"payout": payout.id, "expand": ["data.source"], "limit": PAGE}
        page = self.client.v1.balance_transactions.list(params)
        return [parse_txn(t, payout) for t in self._all(page)]


class NoBalance:
    """No balance to read: Stripe is the localstripe emulator (no balance transactions) or the
    sync is switched off. The reconciliation then shows every card tender as unknown to Stripe."""

    def balance_transactions(
        self, created_from: datetime, created_to: datetime
    ) -> list[BalanceTxn]:
        return []

    def payouts(self, created_from: datetime, created_to: datetime) -> list[PayoutInfo]:
        return []

    def payout_transactions(self, payout: PayoutInfo) -> list[BalanceTxn]:
        return []


def balance_source(
    api_key: str | None, api_base: str | None = None, *, enabled: bool = True
) -> BalanceSource:
    """The real balance with a Stripe key and the sync on; otherwise one that reads nothing."""
    if not api_key or not enabled:
        return NoBalance()
    from integrations.stripe_gateway import make_client

    return StripeBalance(make_client(api_key, api_base))
