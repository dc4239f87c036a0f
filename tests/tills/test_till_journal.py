"""The till's SQLite journal: durable on commit, one entry per client sale id, card money held
offline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tills.cashiers import hash_pin, pin_matches
from tills.journal import APPLIED, CachedCashier, Journal
from tills.till import batch_id_for

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_commits_are_fsynced_and_each_sale_is_kept_once(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "T1.journal.sqlite")
    with journal._tx() as conn:
        assert conn.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL: fsync on every commit
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert journal.add_sale("a", T0, {"n": 1}, {"sale_id": "a"}, 0)
    assert not journal.add_sale(
        "a", T0, {"n": 2}, {"sale_id": "a"}, 0
    )  # a double tap changes nothing
    assert journal.entry("a").body == {"n": 1}  # type: ignore[union-attr]  # the entry was just added
    # A fresh process sees what was committed.
    assert Journal(tmp_path / "T1.journal.sqlite").counts() == {"waiting": 1}


def test_card_money_held_counts_only_what_is_not_yet_confirmed(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    assert journal.stored_cards() == (0, None)
    journal.add_sale("c1", T0, {}, {}, 3000)
    journal.add_sale("cash", T0 - timedelta(hours=5), {}, {}, 0)  # cash only: no card money, no age
    journal.add_sale("c2", T0 + timedelta(hours=1), {}, {}, 2000)
    assert journal.stored_cards() == (5000, T0)
    journal.settle_entry("c1", APPLIED, "T1-000009", "")
    assert journal.stored_cards() == (2000, T0 + timedelta(hours=1))
    assert [e.client_sale_id for e in journal.waiting(10)] == ["cash", "c2"]
    assert journal.entry("T1-000009").client_sale_id == "c1"  # type: ignore[union-attr]  # by central number too


def test_offline_sign_in_and_snapshot_survive_a_restart(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    journal.remember_cashier(CachedCashier("1001", "carl", "Carl", "cashier", hash_pin("1234")))
    journal.save_snapshot({"till": "T1"}, T0)
    again = Journal(tmp_path / "j.sqlite")
    cached = again.cashier("1001")
    assert (
        cached is not None
        and pin_matches("1234", cached.pin_hash)
        and not pin_matches("4321", cached.pin_hash)
    )
    assert "1234" not in cached.pin_hash
    assert again.snapshot() == ({"till": "T1"}, T0)
    again.forget_cashier("1001")
    assert again.cashier("1001") is None


def test_batch_ids_follow_the_sales_they_carry() -> None:
    assert batch_id_for(["a", "b"]) == batch_id_for(["a", "b"]) != batch_id_for(["b", "a"])
