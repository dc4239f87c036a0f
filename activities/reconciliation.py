"""The tender reconciliation's one activity: copy Stripe's balance transactions, and the payouts
they were paid out in, into stripe_balance_txns before the day-close reports read them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity

from contracts.errors import encode_errors
from contracts.reconciliation import SYNC_STRIPE, StripeSyncCmd, StripeSyncResult
from db.repositories import stripe_balance
from db.session import Database
from domain.errors import InvalidRequest
from integrations.stripe_balance import BalanceSource, BalanceTxn


def _row(t: BalanceTxn) -> dict[str, Any]:
    return {
        "id": t.id,
        "type": t.type,
        "reporting_category": t.reporting_category,
        "amount": t.amount,
        "fee": t.fee,
        "net": t.net,
        "currency": t.currency,
        "status": t.status,
        "created_at": t.created,
        "available_on": t.available_on,
        "source_id": t.source_id,
        "payment_intent": t.payment_intent,
        "charge_id": t.charge,
        "details": t.details,
        "payout_id": t.payout_id,
        "payout_status": t.payout_status,
        "payout_arrival": t.payout_arrival,
    }


@encode_errors
class ReconciliationActivities:
    """Reads Stripe's balance and writes tillflow's copy of it."""

    def __init__(self, db: Database, source: BalanceSource) -> None:
        self.db = db
        self.source = source

    @activity.defn(name=SYNC_STRIPE)
    def sync_stripe(self, cmd: StripeSyncCmd) -> StripeSyncResult:
        """Upsert the window's balance transactions and the payouts created in it (with the
        transactions each paid out) on Stripe's ids: a rerun changes nothing twice."""
        if cmd.created_to <= cmd.created_from:
            raise InvalidRequest("The Stripe sync window ends before it starts.", code="bad_range")
        txns = self.source.balance_transactions(cmd.created_from, cmd.created_to)
        payouts = self.source.payouts(cmd.created_from, cmd.created_to)
        for p in payouts:
            if activity.in_activity():  # a long month of payouts: say we are alive
                activity.heartbeat(p.id)
            txns += self.source.payout_transactions(p)
        with self.db.unit_of_work() as s:
            added = stripe_balance.upsert(s, (_row(t) for t in txns))
        return StripeSyncResult(
            transactions=len({t.id for t in txns}), added=added, payouts=len(payouts)
        )


def reconciliation_activities(db: Database, source: BalanceSource) -> list[Callable[..., Any]]:
    """Every activity of the reconciliation, for the central worker."""
    return [ReconciliationActivities(db, source).sync_stripe]
