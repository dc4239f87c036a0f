"""FakeStripeBalance: the slice of Stripe's API the balance adapter calls
(`v1.balance_transactions.list`, `v1.payouts.list`), answering with Stripe's documented object
shapes (balance_transaction with an expanded `source`: charge / refund / dispute / payout), for
tests only: localstripe has no balance transactions."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class _Page:
    data: list[dict[str, Any]]
    calls: list[dict[str, Any]]

    def auto_paging_iter(self) -> Iterator[dict[str, Any]]:
        # Stripe pages by 100 with starting_after; the fake counts the pages it would serve.
        for i in range(0, max(len(self.data), 1), 100):
            self.calls.append({"page": i // 100})
            yield from self.data[i : i + 100]


def _in(created: int, window: dict[str, int] | None) -> bool:
    if not window:
        return True
    return window.get("gte", created) <= created < window.get("lt", created + 1)


@dataclass
class _Txns:
    owner: FakeStripeBalance

    def list(self, params: dict[str, Any]) -> _Page:
        self.owner.requests.append(("balance_transactions", params))
        rows = [t for t in self.owner.txns if _in(t["created"], params.get("created"))]
        if "payout" in params:
            ids = self.owner.paid_out.get(params["payout"], [])
            rows = [t for t in self.owner.txns if t["id"] in ids]
        expand = "data.source" in params.get("expand", [])
        out = [t if expand else {**t, "source": t["source"]["id"]} for t in rows]
        return _Page(out, self.owner.pages)


@dataclass
class _Payouts:
    owner: FakeStripeBalance

    def list(self, params: dict[str, Any]) -> _Page:
        self.owner.requests.append(("payouts", params))
        rows = [p for p in self.owner.payout_objects if _in(p["created"], params.get("created"))]
        return _Page(rows, self.owner.pages)


@dataclass
class _V1:
    balance_transactions: _Txns
    payouts: _Payouts


@dataclass
class FakeStripeBalance:
    txns: list[dict[str, Any]] = field(default_factory=list)
    payout_objects: list[dict[str, Any]] = field(default_factory=list)
    paid_out: dict[str, list[str]] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    pages: list[dict[str, Any]] = field(default_factory=list)

    @property
    def v1(self) -> _V1:
        return _V1(_Txns(self), _Payouts(self))

    def charge(
        self,
        txn: str,
        pi: str,
        amount: int,
        at: datetime,
        *,
        fee: int = 0,
        currency: str = "eur",
        metadata: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """A card charge's balance transaction (the charge expanded as its source)."""
        return self._add(
            txn,
            "charge",
            "charge",
            amount,
            fee,
            at,
            currency,
            {
                "id": f"ch_{txn}",
                "object": "charge",
                "amount": amount,
                "payment_intent": pi,
                "metadata": metadata if metadata is not None else {"workflow_id": f"sale:{pi}"},
            },
        )

    def refund(
        self, txn: str, refund_id: str, pi: str, amount: int, at: datetime, *, currency: str = "eur"
    ) -> dict[str, Any]:
        return self._add(
            txn,
            "refund",
            "refund",
            -amount,
            0,
            at,
            currency,
            {
                "id": refund_id,
                "object": "refund",
                "amount": amount,
                "payment_intent": pi,
                "charge": f"ch_of_{pi}",
                "metadata": {},
            },
        )

    def dispute(self, txn: str, pi: str, amount: int, at: datetime) -> dict[str, Any]:
        return self._add(
            txn,
            "adjustment",
            "dispute",
            -amount,
            1500,
            at,
            "eur",
            {
                "id": f"dp_{txn}",
                "object": "dispute",
                "amount": amount,
                "payment_intent": pi,
                "charge": f"ch_of_{pi}",
                "reason": "fraudulent",
                "status": "needs_response",
                "metadata": {},
            },
        )

    def payout(self, payout_id: str, txn_ids: list[str], at: datetime, arrival: datetime) -> None:
        amount = sum(t["net"] for t in self.txns if t["id"] in txn_ids)
        self.payout_objects.append(
            {
                "id": payout_id,
                "object": "payout",
                "amount": amount,
                "currency": "eur",
                "status": "paid",
                "created": int(at.timestamp()),
                "arrival_date": int(arrival.timestamp()),
            }
        )
        self.paid_out[payout_id] = list(txn_ids)

    def _add(
        self,
        txn: str,
        type_: str,
        category: str,
        amount: int,
        fee: int,
        at: datetime,
        currency: str,
        source: dict[str, Any],
    ) -> dict[str, Any]:
        obj = {
            "id": txn,
            "object": "balance_transaction",
            "amount": amount,
            "available_on": int(at.timestamp()) + 2 * 86400,
            "created": int(at.timestamp()),
            "currency": currency,
            "description": None,
            "exchange_rate": None,
            "fee": fee,
            "fee_details": [{"amount": fee, "currency": currency, "type": "stripe_fee"}]
            if fee
            else [],
            "net": amount - fee,
            "reporting_category": category,
            "source": source,
            "status": "pending",
            "type": type_,
        }
        self.txns.append(obj)
        return obj
