"""Shift arithmetic on small inputs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.errors import InvalidRequest
from domain.shifts import (
    CashEvent,
    RefundPayment,
    SalePayment,
    TaxLine,
    closing_time,
    count_total,
    needs_approval,
    shift_figures,
    validate_count,
)
from domain.store_hours import DayHours, StoreHours


def test_count_is_validated_and_totalled() -> None:
    count = validate_count("EUR", {2000: 2, 1: 3, 50: 0})
    assert count == {2000: 2, 1: 3} and count_total(count) == 4003
    with pytest.raises(InvalidRequest):
        validate_count("EUR", {300: 1})
    with pytest.raises(InvalidRequest):
        validate_count("EUR", {100: -1})
    with pytest.raises(InvalidRequest):
        validate_count("XXX", {100: 1})


def test_expected_cash_and_variance() -> None:
    fig = shift_figures(
        currency="EUR",
        float_amount=15000,
        manual=[
            CashEvent(kind="paid_in", amount=500),
            CashEvent(kind="paid_out", amount=1500),
            CashEvent(kind="drop", amount=5000),
            CashEvent(kind="no_sale", amount=0),
        ],
        payments=[
            SalePayment(order="A", tender="cash", amount=2900, tendered=5000),
            SalePayment(order="B", tender="card", amount=1000, tendered=1000),
        ],
        taxes=[TaxLine(order="A", tax_code="std", rate_bp=1900, net=2437, tax=463)],
        refunds=[RefundPayment(tender="cash", amount=400, reference="R1")],
        counted={"cash": 11400, "card": 1000},
    )
    # 150 + 50 − 21 − 4 + 5 − 15 − 50 = 115.00
    assert fig.expected == {"card": 1000, "cash": 11500}
    assert fig.variance == -100 and fig.sales_count == 2 and fig.returns_count == 1
    assert fig.by_tax == (("std", 1900, 2437, 463),) and fig.no_sales == 1
    assert needs_approval(fig.tenders, 99) and not needs_approval(fig.tenders, 100)


def test_closing_time_from_store_hours() -> None:
    hours = StoreHours("Europe/Berlin", tuple(DayHours(d, 9 * 60, 20 * 60) for d in range(6)))
    opened = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # a Tuesday, 09:00 in Berlin
    assert closing_time(hours, opened) == datetime(2026, 12, 1, 19, 0, tzinfo=UTC)
    assert closing_time(StoreHours("Europe/Berlin"), opened) is None
