"""The sales report's "Card payments by wallet" section (issue 19): how much of the card tender
was paid with Apple Pay, Google Pay … and how much with a plain card, per store and currency.
A pure function of the `wallets` frame (db/report_loaders/wallets.py)."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from domain.wallets import wallet_label
from reports.base import Section

PLAIN_CARD = "card (no wallet)"


def build_wallets(wallets: pd.DataFrame, stores: pd.DataFrame) -> pd.DataFrame:
    """One row per store, currency and wallet: payments, amount and share of the store's card
    amount in that currency."""
    cols = ["store", "store_name", "currency", "wallet", "payments", "amount", "share_pct"]
    if wallets.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
    grouped = wallets.groupby(["location_id", "currency", "wallet"], as_index=False)[
        ["payments", "amount"]
    ].sum()
    totals = grouped.groupby(["location_id", "currency"])["amount"].transform("sum")
    grouped["share_pct"] = (grouped["amount"] * 100 / totals.where(totals != 0)).round(2)
    grouped["wallet"] = [wallet_label(str(w)) or PLAIN_CARD for w in grouped["wallet"]]
    grouped = grouped.merge(stores, on="location_id", how="left")
    return (
        grouped[cols]
        .sort_values(["store", "currency", "wallet"], kind="stable")
        .reset_index(drop=True)
    )


def wallet_sections(
    frames: Mapping[str, pd.DataFrame], stores: pd.DataFrame
) -> tuple[Section, ...]:
    """The section, when the loader gave a `wallets` frame (none for frames built without it)."""
    wallets = frames.get("wallets")
    if wallets is None:
        return ()
    return (
        Section(
            name="card_wallets",
            title="Card payments by wallet",
            frame=build_wallets(wallets, stores),
            money=("amount",),
            note="The wallet is what Stripe's charge reports (Apple Pay, Google Pay …); the card "
            "tender of the tender mix is their sum.",
        ),
    )
