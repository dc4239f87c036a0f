"""Indexes the finance reports need on other areas' tables (migration 0026): each report reads
its rows by store and UTC window (db/report_loaders/scope.py), so the store and the timestamp
lead. Declared here so the models and the migrations agree."""

from __future__ import annotations

from sqlalchemy import Index

from db.models import Order, Payment, Refund, StockMovement
from db.models_returns import Return

Index("ix_orders_location_id_placed_at", Order.location_id, Order.placed_at)
Index("ix_payments_created_at", Payment.created_at)
Index("ix_refunds_created_at", Refund.created_at)
Index("ix_returns_location_id_created_at", Return.location_id, Return.created_at)
Index(
    "ix_stock_movements_location_id_occurred_at",
    StockMovement.location_id,
    StockMovement.occurred_at,
)
