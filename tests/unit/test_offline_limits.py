"""Offline tenders: cash always; cards only where allowed and within the limits; no gift cards or
credit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import InsufficientTender, InvalidRequest
from domain.offline import (
    OfflineCardPolicy,
    OfflineRefused,
    OfflineTender,
    StoredCards,
    check_offline_tenders,
    settle_offline,
)

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
NONE_STORED = StoredCards()
ALLOWED = OfflineCardPolicy(
    enabled=True, per_sale_cap=10_000, total_cap=30_000, max_age=timedelta(hours=24)
)


def check(
    tenders: list[tuple[str, int]],
    policy: OfflineCardPolicy = ALLOWED,
    stored: StoredCards = NONE_STORED,
    now: datetime = NOW,
) -> None:
    check_offline_tenders([OfflineTender(k, a) for k, a in tenders], policy, stored, now, "EUR")


def test_cash_is_always_accepted_even_where_cards_are_not() -> None:
    check([("cash", 50_000)], OfflineCardPolicy())
    check([("cash", 1)], OfflineCardPolicy(), StoredCards(10**9, NOW - timedelta(days=9)))


def test_cards_are_refused_where_the_store_does_not_allow_them_offline() -> None:
    with pytest.raises(OfflineRefused, match="not available while the till is offline"):
        check([("card", 500)], OfflineCardPolicy())


@pytest.mark.parametrize("kind", ["gift_card", "store_credit"])
def test_gift_cards_and_store_credit_need_the_central_ledger(kind: str) -> None:
    with pytest.raises(OfflineRefused, match="balance is kept centrally") as err:
        check([("cash", 100), (kind, 500)])
    assert err.value.code == "offline_refused" and err.value.http_status == 422


def test_per_sale_cap_counts_every_card_tender_of_the_sale() -> None:
    check([("card", 10_000)])
    with pytest.raises(OfflineRefused, match=r"at most 100\.00 per sale; take the rest \(0\.01\)"):
        check([("card", 6_000), ("card", 4_001)])


def test_total_stored_per_till_cap() -> None:
    check([("card", 10_000)], stored=StoredCards(20_000, NOW - timedelta(hours=1)))
    with pytest.raises(
        OfflineRefused, match=r"already holds 250\.00 .* limit is 300\.00, so at most 50\.00"
    ):
        check([("card", 5_001)], stored=StoredCards(25_000, NOW - timedelta(hours=1)))


def test_no_more_cards_24_hours_after_the_first_stored_one() -> None:
    first = NOW - timedelta(hours=24)
    check([("card", 100)], stored=StoredCards(100, first + timedelta(seconds=1)))
    with pytest.raises(OfflineRefused, match="more than 24 h old"):
        check([("card", 100)], stored=StoredCards(100, first))
    check([("cash", 100)], stored=StoredCards(100, first))  # cash still sells


def test_unknown_and_non_positive_tenders() -> None:
    with pytest.raises(OfflineRefused, match="cheque"):
        check([("cheque", 100)])
    with pytest.raises(InvalidRequest, match="positive"):
        check([("cash", 0)])


def test_settlement_gives_change_only_from_cash() -> None:
    s = settle_offline(2_990, [OfflineTender("card", 1_000), OfflineTender("cash", 5_000)], "EUR")
    assert s.applied == (("card", 1_000, 1_000), ("cash", 5_000, 1_990)) and s.change_due == 3_010
    assert s.card_total == 1_000
    with pytest.raises(InvalidRequest, match="change is given only from cash"):
        settle_offline(2_990, [OfflineTender("card", 3_000)], "EUR")
    with pytest.raises(InsufficientTender, match=r"9\.90 still due"):
        settle_offline(2_990, [OfflineTender("cash", 2_000)], "EUR")
