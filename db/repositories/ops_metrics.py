"""What the metrics read from the database at scrape time (tillflow/metrics.py): queues, lags and
discrepancies that every process sees alike, so a restart loses nothing and N replicas agree."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from db.report_loaders.kpis import CARD_NORMAL, CARD_SETTLED
from db.report_loaders.sales import PAID

# A web-store delivery still `received` (not handed to its workflow) after this is stuck.
INBOX_GRACE_SECONDS = 300


@dataclass(frozen=True, kw_only=True)
class StockSyncState:
    queued_skus: int
    oldest_age_s: float  # 0 when nothing is queued
    failing_listings: dict[str, int]  # web store code -> listings whose last push failed


@dataclass(frozen=True, kw_only=True)
class Snapshot:
    stock_sync: StockSyncState
    inbox_stuck: dict[str, int]  # provider -> deliveries received but not handed on
    journal: dict[tuple[str, str], int]  # (till code, status received|flagged) -> entries
    discrepancies: dict[tuple[str, str], int]  # (store code, kind) -> count


def stock_sync_state(session: Session) -> StockSyncState:
    row = session.execute(
        text(
            "SELECT count(*), coalesce(extract(epoch FROM clock_timestamp() - "
            "min(first_changed_at)), 0) FROM stock_sync_queue"
        )
    ).one()
    failing = session.execute(
        text(
            "SELECT w.code, count(*) FROM web_store_listings l JOIN web_stores w "
            "ON w.id = l.store_id WHERE l.last_error <> '' GROUP BY w.code"
        )
    ).all()
    return StockSyncState(
        queued_skus=int(row[0]),
        oldest_age_s=max(0.0, float(row[1])),
        failing_listings={str(code): int(n) for code, n in failing},
    )


def inbox_stuck(session: Session) -> dict[str, int]:
    rows = session.execute(
        text(
            "SELECT provider, count(*) FROM webhook_inbox WHERE status = 'received' "
            "AND received_at < now() - make_interval(secs => :grace) GROUP BY provider"
        ),
        {"grace": INBOX_GRACE_SECONDS},
    ).all()
    return {str(p): int(n) for p, n in rows}


def journal_backlog(session: Session) -> dict[tuple[str, str], int]:
    """Offline sales the tills uploaded that are not applied yet (`received`) or wait for a
    manager (`flagged`), per till."""
    rows = session.execute(
        text(
            "SELECT t.code, e.status, count(*) FROM offline_journal_entries e "
            "JOIN tills t ON t.id = e.till_id WHERE e.status IN ('received', 'flagged') "
            "GROUP BY t.code, e.status"
        )
    ).all()
    return {(str(t), str(s)): int(n) for t, s, n in rows}


def discrepancies(session: Session, days: int) -> dict[tuple[str, str], int]:
    """The reconciliation report's discrepancies (db/report_loaders/kpis.py) of the last `days`:
    till card tenders without a settled provider record, and completed till sales whose paid
    tenders differ from their total; per store and kind."""
    rows = session.execute(
        text(
            """
            SELECT l.code, d.kind, count(*) FROM (
                SELECT py.location_id,
                       CASE WHEN py.status = ANY(CAST(:settled AS varchar[]))
                            THEN 'card_without_provider_id' ELSE 'card_not_settled' END AS kind
                FROM payments py
                WHERE py.tender = 'card' AND py.till_id IS NOT NULL
                  AND py.created_at >= now() - make_interval(days => :days)
                  AND (py.status <> ALL(CAST(:normal AS varchar[]))
                       OR (py.status = ANY(CAST(:settled AS varchar[])) AND py.provider_ref = ''))
                UNION ALL
                SELECT o.location_id, 'paid_differs_from_total'
                FROM orders o
                CROSS JOIN LATERAL (
                    SELECT coalesce(sum(amount), 0) AS paid FROM payments
                    WHERE workflow_id = o.workflow_id AND status = ANY(CAST(:paid AS varchar[]))
                ) p
                WHERE o.channel = 'store' AND o.status = 'completed' AND p.paid <> o.total
                  AND o.placed_at >= now() - make_interval(days => :days)
            ) d JOIN locations l ON l.id = d.location_id
            GROUP BY l.code, d.kind
            """
        ),
        {
            "settled": list(CARD_SETTLED),
            "normal": list(CARD_NORMAL),
            "paid": list(PAID),
            "days": days,
        },
    ).all()
    return {(str(c), str(k)): int(n) for c, k, n in rows}


def snapshot(session: Session, *, discrepancy_days: int) -> Snapshot:
    session.execute(text("SET LOCAL statement_timeout = '5s'"))  # a scrape never hangs
    return Snapshot(
        stock_sync=stock_sync_state(session),
        inbox_stuck=inbox_stuck(session),
        journal=journal_backlog(session),
        discrepancies=discrepancies(session, discrepancy_days),
    )
