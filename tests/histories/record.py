"""Record workflow histories for the replay test: `.venv/bin/python tests/histories/record.py`.

Runs the test modules below (the real flows against the session's embedded PostgreSQL and
Temporal) with the history_recorder plugin, which writes a history for every path of every
workflow type not committed yet under tests/histories/<WorkflowType>/. Review the new files
(`git status tests/histories`) and commit them with the change that made them.

    .venv/bin/python tests/histories/record.py                     # the default modules
    .venv/bin/python tests/histories/record.py --types Sale,OnlineOrder
    .venv/bin/python tests/histories/record.py tests/webstore/test_ship_to_store.py

See docs/operations.md, "Upgrading running workflows"."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Each path of each workflow type is driven by one of these (see docs/operations.md).
MODULES = (
    # Sale (cash, card, split tenders, gift cards, approval, abandoned), Reprint, Return, exchange
    "tests/workflows/test_cash_checkout.py",
    "tests/workflows/test_sale_compensation.py",
    "tests/workflows/test_return_compensation.py",
    "tests/integration/test_till_sale.py",
    "tests/integration/test_payments.py",
    "tests/integration/test_returns.py",
    "tests/integration/test_refunds.py",
    "tests/tills/test_agent_exchange.py",
    # OfflineReplay, TillDevices (a device worker reading its till's printer), Shift
    "tests/tills/test_journal_replay.py",
    "tests/tills/test_replay_conflicts.py",
    "tests/tills/test_offline_cards.py",
    "tests/tills/test_offline_shift_close.py",
    "tests/backoffice_admin/test_admin_till_printer.py",
    "tests/shifts/test_shift_flow.py",
    "tests/shifts/test_overrides.py",
    # OnlineOrder (web / Shopify / WooCommerce, ship, BOPIS, cancel + refund, ship-to-store),
    # Cart, StockSync, StockResync, CatalogSync, Bopis, ShipFromStore
    "tests/webstore/test_online_order_flow.py",
    "tests/webstore/test_online_saga_compensation.py",
    "tests/webstore/test_ship_to_store.py",
    "tests/webstore/test_return_online_order.py",
    "tests/webstore/test_shopify_webhooks.py",
    "tests/webstore/test_woocommerce_webhooks.py",
    "tests/webstore/test_cart_caps.py",
    "tests/webstore/test_stock_sync.py",
    "tests/catalog_sync/test_catalog_sync_shopify.py",
    "tests/fulfilment/test_bopis_flow.py",
    "tests/fulfilment/test_ship_from_store_flow.py",
    "tests/fulfilment/test_fulfilment_saga_compensation.py",
    # GoodsReceipt, StockAdjustment, ResolveVariance, ReorderDraft, Transfer, Count
    "tests/stock_ops/test_stock_receipts.py",
    "tests/stock_ops/test_stock_adjustments.py",
    "tests/stock_ops/test_stock_variances_reorder.py",
    "tests/transfers_counts/test_transfers.py",
    "tests/transfers_counts/test_counts.py",
    # DailyReports, LoyaltyExpiry, LoyaltyAdjust
    "tests/reports/test_framework.py",
    "tests/loyalty/test_loyalty_api_and_expiry.py",
    # MessageDrain, MessageRetry, EmailReceipt (customer messages)
    "tests/messages/test_message_drain.py",
    "tests/messages/test_message_api.py",
    # Sale and OnlineOrder with promotions, coupons and a points tender (issue 17)
    "tests/loyalty/test_points_tender.py",
    "tests/promotions/test_promotion_reservations.py",
    "tests/promotions/test_promotions_api.py",
    "tests/promotions/test_promotions_at_till.py",
    "tests/promotions/test_promotions_channels.py",
    "tests/webstore/test_storefront_api.py",
    # Sale, Return, Shift and OfflineReplay with the fiscal signing step (issue 20)
    "tests/fiscal/test_fiscal_signing.py",
    "tests/fiscal/test_fiscal_documents.py",
    # Transfer, Count and the stock workflows' compensations on the Saga (issue 12)
    "tests/stock_ops/test_stock_ops_compensation.py",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", help="test files or node ids (default: MODULES)")
    parser.add_argument("--types", default="", help="only these workflow types (comma separated)")
    args = parser.parse_args()
    env = dict(os.environ, TILLFLOW_RECORD_HISTORIES="1", TILLFLOW_RECORD_TYPES=args.types)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "tests" / "histories"), env.get("PYTHONPATH", "")) if p
    )
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "history_recorder",
        f"--basetemp=/tmp/history-recorder-{os.getpid()}",  # runs side by side never share one
        *(args.targets or MODULES),
    ]
    return subprocess.call(command, cwd=ROOT, env=env)


if __name__ == "__main__":
    raise SystemExit(main())
