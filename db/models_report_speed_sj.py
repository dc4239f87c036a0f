"""Indexes the sales and journal reports need (migration 0047_report_speed_sj): the journal
finds the Stripe balance transactions paid out on a day by their payout arrival. Declared here so
the models and the migrations agree."""

from __future__ import annotations

from sqlalchemy import Index

from db.models_reconciliation import StripeBalanceTxn

Index("ix_stripe_balance_txns_payout_arrival", StripeBalanceTxn.payout_arrival)
