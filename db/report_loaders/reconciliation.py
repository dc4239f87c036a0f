"""Frames of the tender reconciliation (reports/reconciliation.py), one SQL query each: the shifts
of the days with their cash rows, sales tenders and refunds; card tenders and card refunds
tillflow recorded; Stripe's balance transactions (copied by `reconciliation.sync_stripe`), each
with the tillflow payment or refund that claims it; gift card and store credit ledger movements
by store and day; offline card payments still uncaptured and collection tasks still open."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import Location
from db.report_loaders.scope import Scope, read_frame, tune
from domain.report_context import ReportContext

PAID = ("completed", "captured", "refunded")  # as db/repositories/shifts.py reads a shift's sales
EXPIRED = ("expire", "expired", "expiry", "breakage")


def _tills(scope: Scope, column: str) -> tuple[str, dict[str, Any]]:
    if not scope.till_ids:
        return "", {}
    return f" AND {column} = ANY(:till_ids)", {"till_ids": list(scope.till_ids)}


def _channels(scope: Scope, column: str) -> tuple[str, dict[str, Any]]:
    if not scope.channels:
        return "", {}
    return f" AND {column} = ANY(:channels)", {"channels": list(scope.channels)}


def _window(scope: Scope) -> dict[str, Any]:
    if scope.stores.empty:
        return {"w_from": None, "w_to": None}
    return {"w_from": min(scope.stores["utc_from"]), "w_to": max(scope.stores["utc_to"])}


def _sees_all(session: Session, scope: Scope) -> bool:
    """Whether the report covers every location (then Stripe items no store claims are shown)."""
    total = session.scalar(select(func.count()).select_from(Location)) or 0
    return len(scope.stores) == total and not scope.till_ids


SHIFTS = """
SELECT s.id AS shift_id, s.workflow_id, s.location_id, l.code AS store, t.code AS till, s.n,
       s.z_number, s.status, s.currency, s.opened_at, s.closed_at, s.float_amount, s.counted,
       s.variance AS z_variance, s.approval_note,
       ua.display_name AS approved_by, uo.display_name AS opened_by,
       uc.display_name AS closed_by,
       (s.opened_at AT TIME ZONE l.timezone)::date AS business_day
FROM shifts s
JOIN ({bounds}) AS b(location_id, utc_from, utc_to)
  ON b.location_id = s.location_id AND s.opened_at >= b.utc_from AND s.opened_at < b.utc_to
          AND s.opened_at >= :env_from AND s.opened_at < :env_to
JOIN locations l ON l.id = s.location_id
JOIN tills t ON t.id = s.till_id
LEFT JOIN users ua ON ua.id = s.approved_by
LEFT JOIN users uo ON uo.id = s.opened_by
LEFT JOIN users uc ON uc.id = s.closed_by
WHERE true {tills}
ORDER BY l.code, t.code, s.n
"""

# Cash rows the cashier made (paid in / out, drops, no-sales), summed per shift and kind.
SHIFT_EVENTS = """
SELECT e.shift_id, e.kind, SUM(e.amount)::bigint AS amount, COUNT(*) AS events
FROM shift_events e
JOIN shifts s ON s.id = e.shift_id
JOIN ({bounds}) AS b(location_id, utc_from, utc_to)
  ON b.location_id = s.location_id AND s.opened_at >= b.utc_from AND s.opened_at < b.utc_to
          AND s.opened_at >= :env_from AND s.opened_at < :env_to
WHERE true {tills}
GROUP BY e.shift_id, e.kind
"""

# Tenders of the shifts' sales per tender: applied, handed over and change given (as the Z).
SHIFT_PAYMENTS = """
SELECT o.shift_id, p.tender, SUM(p.amount)::bigint AS amount,
       SUM(p.tendered)::bigint AS tendered,
       SUM(GREATEST(p.tendered - p.amount, 0))::bigint AS change,
       COUNT(DISTINCT o.id) AS sales
FROM orders o
JOIN shifts s ON s.id = o.shift_id
JOIN ({bounds}) AS b(location_id, utc_from, utc_to)
  ON b.location_id = s.location_id AND s.opened_at >= b.utc_from AND s.opened_at < b.utc_to
          AND s.opened_at >= :env_from AND s.opened_at < :env_to
JOIN payments p ON p.workflow_id = o.workflow_id
WHERE p.status = ANY(:paid) {tills}
GROUP BY o.shift_id, p.tender
"""

# Money the shifts' returns paid back, per tender (a return's refunds are keyed
# "return:{return_id}:{payment}", see db/repositories/shifts.py refunds).
SHIFT_REFUNDS = """
SELECT r.shift_id, p.tender, SUM(f.amount)::bigint AS amount
FROM returns r
JOIN shifts s ON s.id = r.shift_id
JOIN ({bounds}) AS b(location_id, utc_from, utc_to)
  ON b.location_id = s.location_id AND s.opened_at >= b.utc_from AND s.opened_at < b.utc_to
          AND s.opened_at >= :env_from AND s.opened_at < :env_to
JOIN refunds f ON f.idempotency_key LIKE 'return:%'
                AND split_part(f.idempotency_key, ':', 2) = r.return_id
JOIN payments p ON p.id = f.payment_id
WHERE f.status = 'succeeded' {tills}
GROUP BY r.shift_id, p.tender
"""

CARD_TENDERS = """
SELECT p.id AS payment_id, p.provider_ref AS payment_intent, p.amount, p.currency, p.status,
       p.created_at, p.workflow_id, o.number AS order_number, o.channel,
       COALESCE(p.location_id, o.location_id) AS location_id, l.code AS store, t.code AS till,
       o.shift_id, (p.created_at AT TIME ZONE l.timezone)::date AS business_day
FROM payments p
LEFT JOIN orders o ON o.workflow_id = p.workflow_id
JOIN ({bounds}) AS b(location_id, utc_from, utc_to)
  ON b.location_id = COALESCE(p.location_id, o.location_id)
 AND p.created_at >= b.utc_from AND p.created_at < b.utc_to
          AND p.created_at >= :env_from AND p.created_at < :env_to
JOIN locations l ON l.id = b.location_id
LEFT JOIN tills t ON t.id = p.till_id
WHERE p.tender = 'card' AND p.status IN ('captured', 'refunded', 'completed') {tills} {channels}
ORDER BY p.id
"""

CARD_REFUNDS = """
SELECT f.id AS refund_id, f.provider_ref AS stripe_refund, f.amount, p.currency, f.created_at,
       f.idempotency_key, f.workflow_id, p.provider_ref AS payment_intent, p.id AS payment_id,
       o.number AS order_number, COALESCE(p.location_id, o.location_id) AS location_id,
       l.code AS store,
       CASE WHEN f.idempotency_key LIKE 'return:%'
            THEN split_part(f.idempotency_key, ':', 2) ELSE '' END AS return_id,
       (f.created_at AT TIME ZONE l.timezone)::date AS business_day
FROM refunds f
JOIN payments p ON p.id = f.payment_id
LEFT JOIN orders o ON o.workflow_id = p.workflow_id
JOIN ({bounds}) AS b(location_id, utc_from, utc_to)
  ON b.location_id = COALESCE(p.location_id, o.location_id)
 AND f.created_at >= b.utc_from AND f.created_at < b.utc_to
          AND f.created_at >= :env_from AND f.created_at < :env_to
JOIN locations l ON l.id = b.location_id
WHERE p.tender = 'card' AND f.status = 'succeeded' {tills} {channels}
ORDER BY f.id
"""

# Stripe's side: the window's transactions, and any transaction of a PaymentIntent a tender of
# the window names (it may reach Stripe's balance just after the day). Each carries what claims
# it in tillflow: the payment of its PaymentIntent, the refund of its Stripe refund id.
STRIPE = """
WITH mine AS (
  SELECT DISTINCT p.provider_ref
  FROM payments p
  -- the sale's store only for a payment without one (looked up, not a join of every order)
  JOIN ({bounds}) AS b(location_id, utc_from, utc_to)
    ON b.location_id = COALESCE(p.location_id, (
         SELECT o.location_id FROM orders o WHERE o.workflow_id = p.workflow_id))
   AND p.created_at >= b.utc_from AND p.created_at < b.utc_to
          AND p.created_at >= :env_from AND p.created_at < :env_to
  WHERE p.tender = 'card' AND p.provider_ref <> ''
),
-- the transactions first (each way by its own index), so the planner sees how few they are and
-- looks their claims up by index instead of hashing every card payment and order
x AS MATERIALIZED (
  SELECT x.* FROM stripe_balance_txns x
  WHERE x.type <> 'payout' AND x.created_at >= :w_from AND x.created_at < :w_to
  UNION ALL
  SELECT x.* FROM stripe_balance_txns x JOIN mine ON x.payment_intent = mine.provider_ref
  WHERE x.type <> 'payout' AND NOT (x.created_at >= :w_from AND x.created_at < :w_to)
)
SELECT x.id AS txn_id, x.type, x.reporting_category, x.amount, x.fee, x.net, x.currency,
       x.created_at, x.source_id, x.payment_intent, x.charge_id,
       -- of Stripe's details only what the report reads (parsing all of it is most of the
       -- memory and the time of a month's frame)
       jsonb_strip_nulls(jsonb_build_object(
           'metadata', jsonb_build_object('workflow_id', x.details -> 'metadata' -> 'workflow_id'),
           'reason', x.details -> 'reason')) AS details,
       x.payout_id,
       x.payout_status, x.payout_arrival,
       p.id AS claimed_payment_id, o.number AS claimed_order, p.workflow_id AS claimed_workflow,
       f.id AS claimed_refund_id,
       COALESCE(p.location_id, o.location_id, tl.location_id) AS location_id,
       l.code AS store,
       (x.created_at AT TIME ZONE COALESCE(l.timezone, 'UTC'))::date AS business_day
FROM x
LEFT JOIN payments p ON p.tender = 'card' AND p.provider_ref <> ''
                    AND p.provider_ref = x.payment_intent
LEFT JOIN orders o ON o.workflow_id = p.workflow_id
LEFT JOIN refunds f ON f.provider_ref <> '' AND f.provider_ref = x.source_id
LEFT JOIN tills tl ON tl.code = x.details -> 'metadata' ->> 'till'
LEFT JOIN locations l ON l.id = COALESCE(p.location_id, o.location_id, tl.location_id)
WHERE (COALESCE(p.location_id, o.location_id, tl.location_id) = ANY(:locations)
       OR (:sees_all AND COALESCE(p.location_id, o.location_id, tl.location_id) IS NULL))
ORDER BY x.created_at, x.id
"""

# Gift card and store credit ledger rows, each attributed to the store of the sale (or the
# return) that wrote it: issue / reload / redeem / reversal name the sale's workflow id, refunds
# "return:{id}:{payment}", store credit from a return "return:{id}".
_LEDGER = """
WITH moves AS (
  SELECT 'gift_card' AS kind, g.currency, e.delta, e.reason, e.created_at, e.reference
  FROM gift_card_ledger e JOIN gift_cards g ON g.id = e.gift_card_id
  UNION ALL
  SELECT 'store_credit', a.currency, e.delta, e.reason, e.created_at, e.reference
  FROM store_credit_ledger e JOIN store_credit_accounts a ON a.id = e.account_id
), placed AS (
  SELECT m.*, COALESCE(o.location_id, r.location_id) AS location_id
  FROM moves m
  LEFT JOIN orders o ON o.workflow_id = m.reference
  LEFT JOIN returns r ON m.reference LIKE 'return:%'
                     AND r.return_id = split_part(m.reference, ':', 2)
)
"""

LIABILITY_OPENING = (
    _LEDGER
    + """
SELECT m.location_id, m.kind, m.currency, SUM(m.delta)::bigint AS opening
FROM placed m
JOIN ({bounds}) AS b(location_id, utc_from, utc_to)
  ON b.location_id = m.location_id AND m.created_at < b.utc_from
GROUP BY m.location_id, m.kind, m.currency
"""
)

LIABILITY_MOVES = (
    _LEDGER
    + """
SELECT m.location_id, m.kind, m.currency,
       (m.created_at AT TIME ZONE l.timezone)::date AS business_day,
       COALESCE(SUM(m.delta) FILTER (WHERE m.delta > 0 AND m.reason <> ALL(:spent)), 0)::bigint
         AS issued,
       COALESCE(-SUM(m.delta) FILTER (WHERE m.reason IN ('redeem', 'reversal')), 0)::bigint
         AS redeemed,
       COALESCE(-SUM(m.delta) FILTER (WHERE m.reason = ANY(:expired)), 0)::bigint AS expired,
       COALESCE(SUM(m.delta) FILTER (WHERE m.delta < 0 AND m.reason <> ALL(:spent)), 0)::bigint
         AS adjusted
FROM placed m
JOIN ({bounds}) AS b(location_id, utc_from, utc_to)
  ON b.location_id = m.location_id AND m.created_at >= b.utc_from AND m.created_at < b.utc_to
          AND m.created_at >= :env_from AND m.created_at < :env_to
JOIN locations l ON l.id = m.location_id
GROUP BY m.location_id, m.kind, m.currency, business_day
"""
)

# Still uncaptured at the end of the range: journaled card sales not applied yet (received, or
# flagged for a person to look at).
OFFLINE = """
SELECT j.workflow_id, j.client_sale_id, j.batch_id, j.status, j.message, j.sold_at,
       j.received_at, t.code AS till, l.id AS location_id, l.code AS store, l.currency,
       (SELECT COALESCE(SUM((x ->> 'amount')::bigint), 0) FROM
          jsonb_array_elements(COALESCE(j.payload -> 'tenders', '[]'::jsonb)) AS x
        WHERE x ->> 'kind' = 'card')::bigint AS card_amount
FROM offline_journal_entries j
JOIN tills t ON t.id = j.till_id
JOIN locations l ON l.id = t.location_id
JOIN ({bounds}) AS b(location_id, utc_from, utc_to)
  ON b.location_id = t.location_id AND j.sold_at < b.utc_to
WHERE j.status IN ('received', 'flagged') {tills}
  AND jsonb_path_exists(j.payload, '$.tenders[*] ? (@.kind == "card")')
ORDER BY j.sold_at
"""

COLLECTIONS = """
SELECT c.id AS collection_id, c.workflow_id, c.client_sale_id, c.amount, c.currency,
       c.card_brand, c.card_last4, c.decline_reason, c.sold_at, c.created_at, c.status,
       t.code AS till, l.id AS location_id, l.code AS store
FROM collection_tasks c
JOIN tills t ON t.id = c.till_id
JOIN locations l ON l.id = c.location_id
JOIN ({bounds}) AS b(location_id, utc_from, utc_to)
  ON b.location_id = c.location_id AND c.sold_at < b.utc_to
WHERE c.status = 'open' {tills}
ORDER BY c.sold_at
"""


# ---- card tenders against Stripe, matched in PostgreSQL -------------------------------------
# A day of 200 stores is ~66,000 card tenders and ~69,000 Stripe transactions, a month 1.8 and 2
# million: too many to match as Python rows. The tenders and Stripe's side are matched here
# instead: what comes back is each tender with its Stripe figures (only those that do not match,
# over more than TENDER_DAYS), the Stripe rows the builder checks one by one (refunds, disputes,
# charges no sale claims) and the per-day totals.
TENDER_DAYS = 1  # ranges up to this many days get the tender-level frames (the "cards" section)
CHARGE_TYPES = ("charge", "payment")  # as reports/reconciliation.py reads Stripe's types
REFUND_TYPES = ("refund", "payment_refund")
DISPUTE_CATEGORIES = ("dispute", "dispute_reversal")

_SUM_TENDERS = "CREATE TEMP TABLE recon_tenders ON COMMIT DROP AS " + CARD_TENDERS.replace(
    "ORDER BY p.id", ""
)

_SUM_STRIPE = (
    "CREATE TEMP TABLE recon_stripe ON COMMIT DROP AS "
    + STRIPE.split("SELECT x.id AS txn_id", 1)[0]
    + """
SELECT x.id AS txn_id, x.type, x.reporting_category, x.amount, x.fee, x.net, x.currency,
       x.created_at, x.source_id, x.payment_intent, x.charge_id, x.payout_id,
       x.payout_status, x.payout_arrival,
       p.id AS claimed_payment_id, o.number AS claimed_order, p.workflow_id AS claimed_workflow,
       f.id AS claimed_refund_id,
       COALESCE(p.location_id, o.location_id, tl.location_id) AS location_id,
       l.code AS store,
       (x.created_at AT TIME ZONE COALESCE(l.timezone, 'UTC'))::date AS business_day,
       CASE WHEN COALESCE(x.reporting_category, '') = ANY(:disputes)
                 OR starts_with(COALESCE(x.source_id, ''), 'dp_') THEN 'dispute'
            WHEN COALESCE(x.type, '') = ANY(:refund_types)
                 OR starts_with(COALESCE(x.source_id, ''), 're_') THEN 'refund'
            WHEN COALESCE(x.type, '') = ANY(:charge_types) THEN 'charge'
            ELSE 'other' END AS part
"""
    + "FROM x"
    + STRIPE.split("FROM x", 1)[1].replace("ORDER BY x.created_at, x.id", "")
)

# Each tender with its PaymentIntent's figures on Stripe's side (as the builder's per-PaymentIntent
# figures: fees and net of all its transactions, the payouts, what its charges took, its refunds)
# and its status; {odd} keeps only the tenders that do not match (a long range).
_SUM_CARD_ROWS = """
WITH a AS (
  SELECT s.payment_intent, bool_or(s.part = 'charge') AS has_charge,
         COALESCE(sum(s.amount) FILTER (WHERE s.part = 'charge'), 0)::bigint AS charged,
         min(s.currency) FILTER (WHERE s.part = 'charge') AS cmin,
         max(s.currency) FILTER (WHERE s.part = 'charge') AS cmax,
         sum(s.fee)::bigint AS fee, sum(s.net)::bigint AS net,
         COALESCE(-sum(s.amount) FILTER (WHERE s.part = 'refund'), 0)::bigint AS refunded,
         COALESCE(string_agg(DISTINCT CAST(s.payout_id AS text) COLLATE "C", ', ')
                  FILTER (WHERE s.payout_id IS NOT NULL), '') AS payouts
  FROM recon_stripe s
  WHERE s.payment_intent IN (SELECT payment_intent FROM recon_tenders WHERE payment_intent <> '')
  GROUP BY s.payment_intent
), m AS (
  SELECT t.*, a.payment_intent IS NOT NULL AS known,
         COALESCE(a.has_charge, false) AS has_charge, COALESCE(a.charged, 0)::bigint AS charged,
         COALESCE(a.fee, 0)::bigint AS fee, COALESCE(a.net, 0)::bigint AS net,
         COALESCE(a.refunded, 0)::bigint AS refunded, COALESCE(a.payouts, '') AS payouts,
         a.cmin, a.cmax,
         CASE WHEN NOT COALESCE(a.has_charge, false) THEN 'unknown_to_stripe'
              WHEN a.charged <> t.amount OR a.cmin <> t.currency OR a.cmax <> t.currency
              THEN 'amount_differs' ELSE 'matched' END AS match
  FROM recon_tenders t
  LEFT JOIN a ON t.payment_intent <> '' AND a.payment_intent = t.payment_intent
)
SELECT m.*,
       -- of a tender that does not match: the currency of its last charge, its charges' ids
       CASE WHEN m.match = 'matched' THEN m.cmin
            ELSE COALESCE(CASE WHEN m.cmin = m.cmax THEN m.cmin ELSE (
                SELECT c.currency FROM recon_stripe c
                WHERE c.payment_intent = m.payment_intent AND c.part = 'charge'
                ORDER BY c.created_at DESC, c.txn_id DESC LIMIT 1) END, '') END
           AS stripe_currency,
       CASE WHEN m.match = 'matched' THEN ''
            ELSE COALESCE((SELECT string_agg(DISTINCT CAST(c.txn_id AS text) COLLATE "C", ', ')
                           FROM recon_stripe c
                           WHERE c.payment_intent = m.payment_intent AND c.part = 'charge'), '')
            END AS charge_ids
FROM m {odd}
ORDER BY m.payment_id
"""

# The Stripe rows the builder looks at one by one: refunds, disputes, and charges no tender of
# the report names and no tillflow payment claims (with the part of `details` it reads).
_SUM_STRIPE_ROWS = """
SELECT s.txn_id, s.type, s.reporting_category, s.amount, s.fee, s.net, s.currency, s.created_at,
       s.source_id, s.payment_intent, s.charge_id,
       jsonb_strip_nulls(jsonb_build_object(
           'metadata', jsonb_build_object('workflow_id', x.details -> 'metadata' -> 'workflow_id'),
           'reason', x.details -> 'reason')) AS details,
       s.payout_id, s.payout_status, s.payout_arrival, s.claimed_payment_id, s.claimed_order,
       s.claimed_workflow, s.claimed_refund_id, s.location_id, s.store, s.business_day
FROM recon_stripe s JOIN stripe_balance_txns x ON x.id = s.txn_id
WHERE s.part IN ('refund', 'dispute')
   OR (s.part = 'charge' AND s.claimed_payment_id IS NULL
       AND NOT EXISTS (SELECT 1 FROM recon_tenders t
                       WHERE COALESCE(t.payment_intent, '') = COALESCE(s.payment_intent, '')))
ORDER BY s.created_at, s.txn_id
"""

# Per store, day and currency: the tenders' card sales and Stripe's side (as the builder sums
# them); a part without a row for a key is NULL (the builder's 0).
_SUM_TOTALS = """
WITH k AS (
  SELECT business_day, store, currency, sum(amount)::bigint AS tillflow_sales,
         NULL::bigint AS stripe_charges, NULL::bigint AS stripe_refunds,
         NULL::bigint AS stripe_fees, NULL::bigint AS stripe_net, NULL::bigint AS paid_out_net
  FROM recon_tenders GROUP BY 1, 2, 3
  UNION ALL
  SELECT business_day, COALESCE(store, ''), currency, NULL,
         sum(amount) FILTER (WHERE part = 'charge'), -sum(amount) FILTER (WHERE part = 'refund'),
         sum(fee), sum(net), sum(CASE WHEN payout_id IS NOT NULL THEN net ELSE 0 END)
  FROM recon_stripe GROUP BY 1, 2, 3
)
SELECT business_day, store, currency,
       sum(tillflow_sales)::bigint AS tillflow_sales, sum(stripe_charges)::bigint AS stripe_charges,
       sum(stripe_refunds)::bigint AS stripe_refunds, sum(stripe_fees)::bigint AS stripe_fees,
       sum(stripe_net)::bigint AS stripe_net, sum(paid_out_net)::bigint AS paid_out_net
FROM k WHERE business_day IS NOT NULL AND currency IS NOT NULL
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""


def load(session: Session, scope: Scope, ctx: ReportContext) -> dict[str, pd.DataFrame]:
    """Every frame of the reconciliation for the scope's stores, tills and days; the card
    tenders and Stripe's side come matched and summed (`_card_summary`), each tender only for a
    range of up to TENDER_DAYS."""
    days = (scope.date_to - scope.date_from).days + 1
    # A day's rows are looked up one by one by index; a month's are better hashed.
    tune(session, lookups=days <= TENDER_DAYS)
    bounds, bp = scope.bounds()

    # Shifts are the tills' own: a report of web channels only has none.
    no_tills = bool(scope.channels) and "store" not in scope.channels

    def q(sql: str, till_col: str = "", chan_col: str = "", **extra: Any) -> pd.DataFrame:
        tills, tp = _tills(scope, till_col) if till_col else ("", {})
        if till_col and not chan_col and no_tills:
            tills += " AND false"
        chans, cp = _channels(scope, chan_col) if chan_col else ("", {})
        text = sql.format(bounds=bounds, tills=tills, channels=chans)
        return read_frame(session, text, {**bp, **tp, **cp, **extra})

    stripe_params: dict[str, Any] = {
        **_window(scope),
        "locations": scope.location_ids,
        "sees_all": _sees_all(session, scope),
    }
    cards = _card_summary(session, scope, stripe_params, every_tender=days <= TENDER_DAYS)
    return {
        "stores": scope.stores.copy(),
        "shifts": q(SHIFTS, "s.till_id"),
        "shift_events": q(SHIFT_EVENTS, "s.till_id"),
        "shift_payments": q(SHIFT_PAYMENTS, "s.till_id", paid=list(PAID)),
        "shift_refunds": q(SHIFT_REFUNDS, "s.till_id"),
        "card_refunds": q(CARD_REFUNDS, "p.till_id", "o.channel"),
        **cards,
        "liability_opening": q(LIABILITY_OPENING),
        "liability_moves": q(
            LIABILITY_MOVES, expired=list(EXPIRED), spent=["redeem", "reversal", *EXPIRED]
        ),
        "offline": q(OFFLINE, "j.till_id"),
        "collections": q(COLLECTIONS, "c.till_id"),
    }


def _card_summary(
    session: Session, scope: Scope, stripe_params: dict[str, Any], every_tender: bool
) -> dict[str, pd.DataFrame]:
    """The card frames, matched and summed in PostgreSQL (temporary tables of this transaction:
    the window's tenders and Stripe transactions, each read once): `card_rows` (every tender
    with its Stripe figures and status; a long range: `card_odd`, the tenders that do not
    match), `stripe` (the rows to check one by one) and `card_totals_parts`."""
    from sqlalchemy import text

    bounds, bp = scope.bounds()
    tills, tp = _tills(scope, "p.till_id")
    chans, cp = _channels(scope, "o.channel")
    session.execute(text("DROP TABLE IF EXISTS pg_temp.recon_tenders, pg_temp.recon_stripe"))
    session.execute(
        text(_SUM_TENDERS.format(bounds=bounds, tills=tills, channels=chans)), {**bp, **tp, **cp}
    )
    session.execute(
        text(_SUM_STRIPE.format(bounds=bounds)),
        {
            **bp,
            **stripe_params,
            "disputes": list(DISPUTE_CATEGORIES),
            "refund_types": list(REFUND_TYPES),
            "charge_types": list(CHARGE_TYPES),
        },
    )
    frames = {
        ("card_rows" if every_tender else "card_odd"): read_frame(
            session,
            _SUM_CARD_ROWS.format(odd="" if every_tender else "WHERE m.match <> 'matched'"),
            {},
        ),
        "stripe": read_frame(session, _SUM_STRIPE_ROWS, {}),
        "card_totals_parts": read_frame(session, _SUM_TOTALS, {}),
    }
    session.execute(text("DROP TABLE pg_temp.recon_tenders, pg_temp.recon_stripe"))
    return frames
