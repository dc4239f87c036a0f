"""Return policy: windows per category, final sale, serials, receipt-less cap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import Conflict, InvalidRequest
from domain.returns import (
    AskedLine,
    ReturnPolicy,
    SoldLine,
    assess_with_receipt,
    assess_without_receipt,
    unit_refunds,
)

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
SOLD = [
    SoldLine(1, "MUG", "Mug", "home", 2, 0, 2580),
    SoldLine(2, "TEA", "Tea", "food", 1, 0, 890),
    SoldLine(3, "GIFT-CARD", "Gift card", "gift_card", 1, 0, 5000),
    SoldLine(4, "LAMP", "Lamp", "home", 1, 0, 6900, serial="SN-1", serialized=True),
]


def test_within_window_refunds_unit_shares() -> None:
    a = assess_with_receipt(
        ReturnPolicy(), NOW - timedelta(days=3), NOW, SOLD, [AskedLine(1, 2, "restock")], "original"
    )
    assert a.refund_total == 2580 and a.approval_reasons == ()


def test_category_window_and_general_window_need_approval() -> None:
    a = assess_with_receipt(
        ReturnPolicy(),
        NOW - timedelta(days=20),
        NOW,
        SOLD,
        [AskedLine(2, 1, "damaged"), AskedLine(1, 1, "restock")],
        "original",
    )
    assert len(a.approval_reasons) == 1 and "14 days" in a.approval_reasons[0]
    late = assess_with_receipt(
        ReturnPolicy(),
        NOW - timedelta(days=31),
        NOW,
        SOLD,
        [AskedLine(1, 1, "restock")],
        "original",
    )
    assert "30 days" in late.approval_reasons[0]


def test_final_sale_over_return_and_bad_disposition_are_refused() -> None:
    with pytest.raises(Conflict, match="final sale"):
        assess_with_receipt(
            ReturnPolicy(), NOW, NOW, SOLD, [AskedLine(3, 1, "restock")], "original"
        )
    with pytest.raises(Conflict, match="only 2"):
        assess_with_receipt(
            ReturnPolicy(), NOW, NOW, SOLD, [AskedLine(1, 3, "restock")], "original"
        )
    with pytest.raises(InvalidRequest, match="disposition"):
        assess_with_receipt(ReturnPolicy(), NOW, NOW, SOLD, [AskedLine(1, 1, "eaten")], "original")
    with pytest.raises(InvalidRequest, match="no line 9"):
        assess_with_receipt(
            ReturnPolicy(), NOW, NOW, SOLD, [AskedLine(9, 1, "restock")], "original"
        )


def test_serial_must_match() -> None:
    ok = assess_with_receipt(
        ReturnPolicy(), NOW, NOW, SOLD, [AskedLine(4, 1, "quarantine", "SN-1")], "original"
    )
    assert ok.approval_reasons == ()
    bad = assess_with_receipt(
        ReturnPolicy(), NOW, NOW, SOLD, [AskedLine(4, 1, "quarantine", "SN-2")], "original"
    )
    assert "does not match" in bad.approval_reasons[0]


def test_receiptless_cap_and_fraud_signal() -> None:
    ok = assess_without_receipt(ReturnPolicy(), 2000, 2000, "EUR")
    assert ok.refund_method == "store_credit" and ok.approval_reasons == () and not ok.fraud_signal
    over = assess_without_receipt(ReturnPolicy(), 2000, 4000, "EUR")
    assert over.approval_reasons and over.fraud_signal == "receiptless_over_cap"


def test_partial_returns_of_a_line_add_up_to_its_gross() -> None:
    from domain.returns import line_refund

    line = SoldLine(1, "X", "X", "home", 3, 0, 1000)
    first = line_refund(line, 1)
    rest = line_refund(SoldLine(1, "X", "X", "home", 3, 1, 1000), 2)
    assert first + rest == 1000


def test_unit_refunds_add_up() -> None:
    assert unit_refunds(1000, 3) == [334, 333, 333] and sum(unit_refunds(997, 7)) == 997


def test_late_returns_can_be_refused_outright() -> None:
    strict = ReturnPolicy(late_needs_approval=False)
    with pytest.raises(InvalidRequest, match="return window is 30 days"):
        assess_with_receipt(
            strict, NOW - timedelta(days=40), NOW, SOLD, [AskedLine(1, 1, "restock")], "original"
        )
