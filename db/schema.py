"""The whole schema: import every model module so Base.metadata is complete (Alembic, tests)."""

from __future__ import annotations

import db.models_accounting  # noqa: F401,E402  exported journal entries (issue 16)
import db.models_addresses  # noqa: F401,E402  order addresses, tracking events (issue 19)
import db.models_approvals  # noqa: F401,E402  per-store approval rules (issue 15)
import db.models_audit  # noqa: F401,E402  the audit log's chain heads (issue 15)
import db.models_catalog  # noqa: F401,E402  the catalogue outbox
import db.models_catalog_sync  # noqa: F401,E402  catalogue sync: cursors, listings, conflicts
import db.models_counts  # noqa: F401,E402  cycle counts (transfers and counts, issue 14)
import db.models_customers  # noqa: F401,E402  customer profiles, contacts, consents (issue 17)
import db.models_events  # noqa: F401,E402  outbound events: outbox, subscriptions (issue 19)
import db.models_files  # noqa: F401,E402  generated files (labels) in PostgreSQL (issue 18)
import db.models_fiscal  # noqa: F401,E402  fiscal units and signed documents (issue 20)
import db.models_fiscal_pt  # noqa: F401,E402  Portuguese series and signed documents (issue 20)
import db.models_fulfilment  # noqa: F401,E402  staff tasks, parcels, notification outbox, store hours
import db.models_fx  # noqa: F401,E402  daily exchange rates for group totals (issue 19)
import db.models_loyalty  # noqa: F401,E402  loyalty accounts and the points ledger (issue 17)
import db.models_payments  # noqa: F401,E402
import db.models_promotions  # noqa: F401,E402  promotions, coupons, redemptions (issue 17)
import db.models_purchasing  # noqa: F401,E402  suppliers, purchase orders, receipts, adjustments
import db.models_reconciliation  # noqa: F401,E402  Stripe balance transactions (issue 16)
import db.models_report_indexes  # noqa: F401,E402  indexes the finance reports need (issue 16)
import db.models_report_speed_sj  # noqa: F401,E402  sales / journal report indexes (issue 16)
import db.models_reports  # noqa: F401,E402  report packs of the daily schedule (issue 16)
import db.models_returns  # noqa: F401,E402
import db.models_shifts  # noqa: F401,E402  till shifts, cash events, Z reports (issue 15)
import db.models_stock_closings  # noqa: F401,E402  stock on hand at each day close (issue 16)

# Each area keeps its models in its own module; list it here once.
# (imports below are for their side effect of registering tables on Base.metadata)
import db.models_tills  # noqa: E402,F401  offline tills: journal, variances, collections
import db.models_transfers  # noqa: F401,E402  transfers between locations (issue 14)
import db.models_webstore  # noqa: F401,E402  web stores, carts, order exceptions, stock sync
from db.models import Base

__all__ = ["Base"]
