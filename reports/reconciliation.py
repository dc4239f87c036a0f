"""Tender reconciliation (day close): cash per shift, till and store (the Z's own arithmetic from
domain/shifts.py), card tenders against Stripe's balance transactions matched on the
PaymentIntent id (fees, net, payout), every unmatched item on either side with its age, gift
card and store credit liability per store and day, offline card payments still uncaptured and
collection tasks still open. Pure: frames in (db/report_loaders/reconciliation.py), frames out."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from domain.shifts import CashEvent, RefundPayment, SalePayment, shift_figures
from reports.base import Chart, ReportParams, ReportResult, Section, workflow_link

NAME = "reconciliation"
TITLE = "Tender reconciliation"
CHARGE_TYPES = ("charge", "payment")
REFUND_TYPES = ("refund", "payment_refund")
DISPUTE_CATEGORIES = ("dispute", "dispute_reversal")
CASH_MONEY = (
    "float",
    "cash_sales",
    "change",
    "cash_refunds",
    "paid_in",
    "paid_out",
    "drops",
    "expected",
    "counted",
    "over_short",
)
DISCREPANCY_COLUMNS = [
    "kind",
    "business_day",
    "store",
    "currency",
    "tillflow_amount",
    "stripe_amount",
    "difference",
    "order_number",
    "payment_intent",
    "stripe_id",
    "refund_id",
    "return_id",
    "shift",
    "workflow_id",
    "at",
    "age_days",
    "detail",
    "workflow_link",
]
DISCREPANCY_MONEY = ("tillflow_amount", "stripe_amount", "difference")

Frames = Mapping[str, pd.DataFrame]


def _frame(frames: Frames, name: str) -> pd.DataFrame:
    f = frames.get(name)
    return f.copy() if f is not None else pd.DataFrame()


def _age_days(now: datetime, at: Any) -> float:
    if at is None or (isinstance(at, float) and pd.isna(at)) or at is pd.NaT:
        return 0.0
    ts = pd.Timestamp(at)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return round((pd.Timestamp(now) - ts).total_seconds() / 86400, 1)


def _link(ctx: Any, workflow_id: Any) -> str:
    return workflow_link(ctx.ui_base, ctx.namespace, str(workflow_id) if workflow_id else None)


def _s(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


# ---- cash ------------------------------------------------------------------------------------


def _by_shift(frame: pd.DataFrame, key: str) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    for r in frame.to_dict("records") if not frame.empty else []:
        out.setdefault(int(r["shift_id"]), []).append(r)
    return out


def cash_rows(frames: Frames, ctx: Any) -> pd.DataFrame:
    """One row per shift: the drawer's movements, expected, counted and over / short, computed by
    the Z's own function (domain.shifts.shift_figures) from the shift's aggregated rows."""
    shifts = _frame(frames, "shifts")
    events = _by_shift(_frame(frames, "shift_events"), "kind")
    payments = _by_shift(_frame(frames, "shift_payments"), "tender")
    refunds = _by_shift(_frame(frames, "shift_refunds"), "tender")
    rows = []
    for s in shifts.to_dict("records") if not shifts.empty else []:
        sid = int(s["shift_id"])
        counted_all = s.get("counted")
        counted = (
            {str(k): int(v) for k, v in counted_all.items()}
            if isinstance(counted_all, Mapping)
            else None
        )
        # Aggregated per tender: `tendered` is what was handed over, `change` what went back, so
        # one SalePayment per tender gives the Z's cash taken and change exactly.
        pays = [
            SalePayment(
                order=f"shift:{sid}:{p['tender']}",
                tender=str(p["tender"]),
                amount=int(p["tendered"]) - int(p["change"])
                if p["tender"] == "cash"
                else int(p["amount"]),
                tendered=int(p["tendered"]),
            )
            for p in payments.get(sid, [])
        ]
        figures = shift_figures(
            currency=str(s["currency"]),
            float_amount=int(s["float_amount"]),
            manual=[
                CashEvent(kind=e["kind"], amount=int(e["amount"])) for e in events.get(sid, [])
            ],
            payments=pays,
            taxes=(),
            refunds=[
                RefundPayment(tender=str(r["tender"]), amount=int(r["amount"]))
                for r in refunds.get(sid, [])
            ],
            counted=counted,
        )
        m = figures.movements
        expected = figures.expected["cash"]
        cash_line = next((t for t in figures.tenders if t.tender == "cash"), None)
        rows.append(
            {
                "business_day": s["business_day"],
                "store": s["store"],
                "till": s["till"],
                "shift": int(s["n"]),
                "z_number": s["z_number"] if pd.notna(s["z_number"]) else None,
                "status": s["status"],
                "currency": s["currency"],
                "float": m["float"],
                "cash_sales": m["sale_cash"],
                "change": m["change"],
                "cash_refunds": m["refund_cash"],
                "paid_in": m["paid_in"],
                "paid_out": m["paid_out"],
                "drops": m["drop"],
                "expected": expected,
                "counted": cash_line.counted if cash_line else None,
                "over_short": cash_line.variance if cash_line else None,
                "approved_by": _s(s.get("approved_by")),
                "approval_note": _s(s.get("approval_note")),
                "opened_by": _s(s.get("opened_by")),
                "closed_by": _s(s.get("closed_by")),
                "opened_at": s["opened_at"],
                "closed_at": s.get("closed_at"),
                "shift_workflow_id": s["workflow_id"],
                "workflow_link": _link(ctx, s["workflow_id"]),
            }
        )
    columns = [
        "business_day",
        "store",
        "till",
        "shift",
        "z_number",
        "status",
        "currency",
        *CASH_MONEY,
        "approved_by",
        "approval_note",
        "opened_by",
        "closed_by",
        "opened_at",
        "closed_at",
        "shift_workflow_id",
        "workflow_link",
    ]
    out = pd.DataFrame(rows, columns=columns)
    for c in ("counted", "over_short", "z_number"):
        out[c] = out[c].astype("Int64")
    return out


def cash_totals(cash: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """The shifts' cash summed per `by` (counted and over / short of the counted shifts only)."""
    keys = [*by, "currency"]
    if cash.empty:
        return pd.DataFrame(columns=[*keys, "shifts", "uncounted", *CASH_MONEY])
    g = cash.groupby(keys, as_index=False, dropna=False)
    out = g[list(CASH_MONEY)].sum(min_count=0)
    out.insert(len(keys), "shifts", g.size()["size"].to_numpy())
    out.insert(
        len(keys) + 1,
        "uncounted",
        cash.assign(_uncounted=cash["counted"].isna())
        .groupby(keys, as_index=False, dropna=False)["_uncounted"]
        .sum()["_uncounted"]
        .astype("int64")
        .to_numpy(),
    )
    for c in CASH_MONEY:
        out[c] = out[c].astype("int64")
    return out


# ---- cards -----------------------------------------------------------------------------------


def _stripe_parts(stripe: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    if stripe.empty:
        return stripe, stripe, stripe
    sid = stripe["source_id"].fillna("").astype(str)
    disputes = stripe["reporting_category"].isin(DISPUTE_CATEGORIES) | sid.str.startswith("dp_")
    refunds = ~disputes & (stripe["type"].isin(REFUND_TYPES) | sid.str.startswith("re_"))
    charges = ~disputes & ~refunds & stripe["type"].isin(CHARGE_TYPES)
    return stripe[charges], stripe[refunds], stripe[disputes]


def _discrepancy(**values: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(DISCREPANCY_COLUMNS, "")
    row |= values
    return row


CARD_COLUMNS = [
    "business_day", "store", "till", "channel", "currency", "order_number", "payment_intent",
    "tillflow_amount", "stripe_amount", "stripe_refunded", "fee", "net", "payout_id", "status",
    "workflow_id", "workflow_link",
]  # fmt: skip


def _records(frame: pd.DataFrame) -> list[Any]:
    """The rows as dicts, for the few rows a loop still needs (to_dict boxes every value)."""
    return frame.to_dict("records") if not frame.empty else []


def _col(frame: pd.DataFrame, column: str) -> list[Any]:
    """A column's values as Python objects (None where the frame has no such column)."""
    if frame.empty:
        return []
    return frame[column].tolist() if column in frame else [None] * len(frame)


def _notna(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame:
        return pd.Series(False, index=frame.index)
    return frame[column].notna()


def _joined(keys: pd.Series, values: pd.Series) -> pd.Series:
    """Per key, its distinct values as text, sorted and joined by ", "."""
    groups: dict[Any, set[str]] = {}
    for k, v in zip(keys.tolist(), values.tolist(), strict=True):
        groups.setdefault(k, set()).add(str(v))
    return pd.Series({k: ", ".join(sorted(v)) for k, v in groups.items()}, dtype=object)


def _by_payment_intent(
    stripe: pd.DataFrame, charges: pd.DataFrame, s_refunds: pd.DataFrame
) -> pd.DataFrame:
    """Stripe's side per PaymentIntent: fees and net of all its transactions, the payouts that
    paid them, and what its charges took (their currency and ids) and its refunds gave back."""
    cols = ["known", "fee", "net", "payouts", "charged", "currency", "has_charge", "charge_ids",
            "refunded"]  # fmt: skip
    if stripe.empty:
        return pd.DataFrame(columns=cols)

    def key(frame: pd.DataFrame) -> pd.Series:
        return pd.Series(
            [str(v or "") if not _missing(v) else "nan" for v in frame["payment_intent"].tolist()],
            index=frame.index,
            dtype=object,
        )

    k = key(stripe)
    out = stripe.groupby(k)[["fee", "net"]].sum()
    out["known"] = True
    paid = stripe["payout_id"].notna()
    out["payouts"] = _joined(k[paid], stripe.loc[paid, "payout_id"]).reindex(out.index)
    out["payouts"] = out["payouts"].astype(object).where(out["payouts"].notna(), "")
    if not charges.empty:
        kc = key(charges)
        g = charges.groupby(kc)
        out["charged"] = g["amount"].sum().reindex(out.index)
        out["currency"] = g["currency"].last().reindex(out.index)
        out["charge_ids"] = _joined(kc, charges["txn_id"]).reindex(out.index)
        out["has_charge"] = out.index.isin(kc.unique())
    else:
        out["charged"], out["currency"], out["charge_ids"], out["has_charge"] = 0, "", "", False
    out["charged"] = out["charged"].fillna(0).astype("int64")
    out["currency"] = out["currency"].astype(object).where(out["currency"].notna(), "")
    out["charge_ids"] = out["charge_ids"].astype(object).where(out["charge_ids"].notna(), "")
    refunded = (
        -s_refunds.groupby(key(s_refunds))["amount"].sum()
        if not s_refunds.empty
        else pd.Series(dtype="int64")
    )
    out["refunded"] = refunded.reindex(out.index).fillna(0).astype("int64")
    return out[cols]


def _missing(value: Any) -> bool:
    return isinstance(value, float) and pd.isna(value)


def card_rows(frames: Frames, ctx: Any) -> tuple[pd.DataFrame, pd.DataFrame, list[dict[str, Any]]]:
    """Card tenders against Stripe (one row per tender), totals per store and day, and the
    discrepancies: tenders Stripe does not know, amounts that differ, charges no sale claims,
    refunds on one side only, disputes."""
    tenders = _frame(frames, "card_tenders")
    refunds = _frame(frames, "card_refunds")
    stripe = _frame(frames, "stripe")
    charges, s_refunds, disputes = _stripe_parts(stripe)
    issues: list[dict[str, Any]] = []
    if "card_totals_parts" in frames:  # matched and summed by the loader
        rows = _frame(frames, "card_rows" if "card_rows" in frames else "card_odd")
        tender_pis = {_s(v) for v in _col(rows, "payment_intent")}
        odd = rows[rows["match"] != "matched"] if not rows.empty else rows
        issues += _summary_tender_issues(odd, ctx)
        cards = (
            _matched_cards(rows, ctx)
            if "card_rows" in frames
            else pd.DataFrame(columns=CARD_COLUMNS)
        )
        totals = _summary_totals(_frame(frames, "card_totals_parts"), refunds)
    else:
        cards, tender_pis = _tender_rows(tenders, stripe, charges, s_refunds, ctx, issues)
        totals = _card_totals(cards, refunds, charges, s_refunds, stripe)
    _stripe_issues(charges, s_refunds, disputes, refunds, tender_pis, ctx, issues)
    return cards, totals, issues


def _matched_cards(rows: pd.DataFrame, ctx: Any) -> pd.DataFrame:
    """The "cards" section from the loader's `card_rows` (each tender with its PaymentIntent's
    Stripe figures and status), as `_tender_rows` makes it from the raw frames."""
    if rows.empty:
        return pd.DataFrame(columns=CARD_COLUMNS)
    known = (rows["payment_intent"].fillna("") != "") & rows["known"].astype(bool)

    def ints(column: str) -> list[int]:
        return rows[column].where(known, 0).astype("int64").tolist()

    return pd.DataFrame(
        {
            "business_day": rows["business_day"].tolist(),
            "store": rows["store"].tolist(),
            "till": [_s(v) for v in _col(rows, "till")],
            "channel": [_s(v) for v in _col(rows, "channel")],
            "currency": rows["currency"].tolist(),
            "order_number": [_s(v) for v in _col(rows, "order_number")],
            "payment_intent": [_s(v) for v in _col(rows, "payment_intent")],
            "tillflow_amount": rows["amount"].astype("int64").tolist(),
            "stripe_amount": ints("charged"),
            "stripe_refunded": ints("refunded"),
            "fee": ints("fee"),
            "net": ints("net"),
            "payout_id": rows["payouts"].where(known, "").tolist(),
            "status": rows["match"].tolist(),
            "workflow_id": rows["workflow_id"].tolist(),
            "workflow_link": [_link(ctx, w) for w in _col(rows, "workflow_id")],
        },
        columns=CARD_COLUMNS,
    )


def _summary_tender_issues(tenders: pd.DataFrame, ctx: Any) -> list[dict[str, Any]]:
    """The tenders that do not match Stripe, from the loader's matched rows (each with its
    PaymentIntent's `known`, `charged`, `stripe_currency`, `charge_ids` and its `match`), as
    `_tender_rows` words them."""
    out = []
    for t in _records(tenders):
        pi = _s(t["payment_intent"])
        known = bool(pi) and bool(t["known"])
        unknown = t["match"] == "unknown_to_stripe"
        stripe_amount = int(t["charged"]) if known else 0
        out.append(
            _discrepancy(
                kind="card_unknown_to_stripe" if unknown else str(t["match"]),
                business_day=t["business_day"],
                store=t["store"],
                currency=t["currency"],
                tillflow_amount=int(t["amount"]),
                stripe_amount=stripe_amount,
                difference=stripe_amount - int(t["amount"]),
                order_number=_s(t["order_number"]),
                payment_intent=pi,
                stripe_id=str(t["charge_ids"]) if known else "",
                workflow_id=t["workflow_id"],
                at=t["created_at"],
                age_days=_age_days(ctx.now, t["created_at"]),
                detail="Stripe has no charge for this card tender"
                if unknown
                else f"Stripe charged {stripe_amount} {t['stripe_currency'] if known else ''}",
                workflow_link=_link(ctx, t["workflow_id"]),
            )
        )
    return out


def _summary_totals(parts: pd.DataFrame, refunds: pd.DataFrame) -> pd.DataFrame:
    """`_card_totals` from the loader's per-key sums (`card_totals_parts`) and the refunds."""
    keys = ["business_day", "store", "currency"]
    money = [
        "tillflow_sales", "tillflow_refunds", "stripe_charges", "stripe_refunds", "stripe_fees",
        "stripe_net", "paid_out_net",
    ]  # fmt: skip
    out = parts
    if not refunds.empty:
        f = refunds.assign(store=refunds["store"].fillna(""), _v=refunds["amount"])
        r = f.groupby(keys, as_index=False)["_v"].sum().rename(columns={"_v": "tillflow_refunds"})
        out = r if out.empty else out.merge(r, on=keys, how="outer")
    if out.empty:
        return pd.DataFrame(columns=[*keys, *money, "difference"])
    for c in money:
        out[c] = out[c].fillna(0).astype("int64") if c in out else 0
    out["difference"] = (out["stripe_charges"] - out["stripe_refunds"]) - (
        out["tillflow_sales"] - out["tillflow_refunds"]
    )
    return out[[*keys, *money, "difference"]].sort_values(keys).reset_index(drop=True)


def _tender_rows(
    tenders: pd.DataFrame,
    stripe: pd.DataFrame,
    charges: pd.DataFrame,
    s_refunds: pd.DataFrame,
    ctx: Any,
    issues: list[dict[str, Any]],
) -> tuple[pd.DataFrame, set[str]]:
    """One row per card tender with its PaymentIntent's Stripe figures; the tenders that do not
    match go to `issues`. Returns the rows and the tenders' PaymentIntents."""
    acc = _by_payment_intent(stripe, charges, s_refunds)
    pis = [_s(v) for v in tenders["payment_intent"].tolist()] if not tenders.empty else []
    tender_pis = set(pis)
    # Each tender's Stripe figures by its PaymentIntent (none without one, or unknown to Stripe).
    mine = acc.reindex([pi if pi else None for pi in pis])
    known = (
        pd.Series([bool(pi) for pi in pis], dtype=bool).to_numpy()
        & mine["known"].eq(True).to_numpy()
    )
    amount = tenders["amount"].astype("int64").to_numpy() if not tenders.empty else []
    charged = mine["charged"].fillna(0).astype("int64").to_numpy()
    has_charge = known & mine["has_charge"].eq(True).to_numpy()
    same_currency = mine["currency"].to_numpy(dtype=object) == (
        tenders["currency"].to_numpy(dtype=object) if not tenders.empty else []
    )
    status = np.select(
        [~has_charge, (charged != amount) | ~same_currency],
        ["unknown_to_stripe", "amount_differs"],
        "matched",
    )

    def known_or(column: str, empty: Any) -> Any:
        values = mine[column].to_numpy(dtype=object)
        return [v if k else empty for v, k in zip(values, known, strict=True)]

    cards = pd.DataFrame(
        {
            "business_day": tenders["business_day"].tolist() if not tenders.empty else [],
            "store": tenders["store"].tolist() if not tenders.empty else [],
            "till": [_s(v) for v in _col(tenders, "till")],
            "channel": [_s(v) for v in _col(tenders, "channel")],
            "currency": tenders["currency"].tolist() if not tenders.empty else [],
            "order_number": [_s(v) for v in _col(tenders, "order_number")],
            "payment_intent": pis,
            "tillflow_amount": [int(v) for v in amount],
            "stripe_amount": [int(v) if k else 0 for v, k in zip(charged, known, strict=True)],
            "stripe_refunded": [int(v) for v in known_or("refunded", 0)],
            "fee": [int(v) for v in known_or("fee", 0)],
            "net": [int(v) for v in known_or("net", 0)],
            "payout_id": known_or("payouts", ""),
            "status": status.tolist() if len(status) else [],
            "workflow_id": tenders["workflow_id"].tolist() if not tenders.empty else [],
            "workflow_link": [_link(ctx, w) for w in _col(tenders, "workflow_id")],
        },
        columns=CARD_COLUMNS,
    )
    odd = np.flatnonzero(status != "matched") if len(status) else np.array([], dtype=int)
    for i, t in zip(odd, _records(tenders.iloc[odd]) if len(odd) else [], strict=True):
        c = cards.iloc[i]
        a = acc.loc[c["payment_intent"]] if known[i] else None
        unknown = c["status"] == "unknown_to_stripe"
        issues.append(
            _discrepancy(
                kind="card_unknown_to_stripe" if unknown else c["status"],
                business_day=t["business_day"],
                store=t["store"],
                currency=t["currency"],
                tillflow_amount=int(c["tillflow_amount"]),
                stripe_amount=int(c["stripe_amount"]),
                difference=int(c["stripe_amount"]) - int(c["tillflow_amount"]),
                order_number=_s(t["order_number"]),
                payment_intent=c["payment_intent"],
                stripe_id=a["charge_ids"] if a is not None else "",
                workflow_id=t["workflow_id"],
                at=t["created_at"],
                age_days=_age_days(ctx.now, t["created_at"]),
                detail="Stripe has no charge for this card tender"
                if unknown
                else f"Stripe charged {int(c['stripe_amount'])} "
                f"{a['currency'] if a is not None else ''}",
                workflow_link=c["workflow_link"],
            )
        )
    return cards, tender_pis


def _stripe_issues(
    charges: pd.DataFrame,
    s_refunds: pd.DataFrame,
    disputes: pd.DataFrame,
    refunds: pd.DataFrame,
    tender_pis: set[str],
    ctx: Any,
    issues: list[dict[str, Any]],
) -> None:
    """Stripe's side one by one: charges nobody claims, refunds on one side only or of another
    amount, disputes (added to `issues`)."""
    # Charges no tender of the report names and no tillflow payment claims (matched above, or
    # claimed by a tender outside this report's scope).
    unclaimed = (
        charges[
            ~pd.Series(
                [_s(v) in tender_pis for v in charges["payment_intent"].tolist()],
                dtype=bool,
                index=charges.index,
            )
            & ~_notna(charges, "claimed_payment_id")
        ]
        if not charges.empty
        else charges
    )
    for x in _records(unclaimed):
        pi = _s(x["payment_intent"])
        issues.append(
            _discrepancy(
                kind="stripe_charge_unclaimed",
                business_day=x["business_day"],
                store=_s(x.get("store")),
                currency=x["currency"],
                tillflow_amount=0,
                stripe_amount=int(x["amount"]),
                difference=int(x["amount"]),
                payment_intent=pi,
                stripe_id=x["txn_id"],
                workflow_id=_s((x.get("details") or {}).get("metadata", {}).get("workflow_id")),
                at=x["created_at"],
                age_days=_age_days(ctx.now, x["created_at"]),
                detail="No sale claims this Stripe charge",
                workflow_link=_link(
                    ctx, (x.get("details") or {}).get("metadata", {}).get("workflow_id")
                ),
            )
        )
    # Refunds: matched on Stripe's refund id (re_…), which tillflow keeps on its refund row.
    stripe_refund_ids = (
        {
            str(v): r
            for v, r in zip(s_refunds["source_id"], s_refunds.to_dict("records"), strict=True)
        }
        if not s_refunds.empty
        else {}
    )
    ours = set()
    for f in refunds.to_dict("records") if not refunds.empty else []:
        rid = _s(f["stripe_refund"])
        ours.add(rid)
        x = stripe_refund_ids.get(rid) if rid else None
        wf = f"return:{f['return_id']}" if _s(f.get("return_id")) else _s(f["workflow_id"])
        common = {
            "business_day": f["business_day"],
            "store": f["store"],
            "currency": f["currency"],
            "order_number": _s(f["order_number"]),
            "payment_intent": _s(f["payment_intent"]),
            "refund_id": str(f["refund_id"]),
            "return_id": _s(f.get("return_id")),
            "workflow_id": wf,
            "at": f["created_at"],
            "age_days": _age_days(ctx.now, f["created_at"]),
            "workflow_link": _link(ctx, wf),
        }
        if x is None:
            issues.append(
                _discrepancy(
                    kind="refund_tillflow_only",
                    tillflow_amount=int(f["amount"]),
                    stripe_amount=0,
                    difference=-int(f["amount"]),
                    stripe_id=rid,
                    detail="tillflow refunded this card; Stripe's balance has no such refund",
                    **common,
                )
            )
        elif -int(x["amount"]) != int(f["amount"]):
            issues.append(
                _discrepancy(
                    kind="refund_amount_differs",
                    tillflow_amount=int(f["amount"]),
                    stripe_amount=-int(x["amount"]),
                    difference=-int(x["amount"]) - int(f["amount"]),
                    stripe_id=str(x["txn_id"]),
                    detail=f"Stripe refunded {-int(x['amount'])}",
                    **common,
                )
            )
    stripe_only = (
        s_refunds[
            ~pd.Series(
                [str(v) in ours for v in s_refunds["source_id"].tolist()],
                dtype=bool,
                index=s_refunds.index,
            )
            & ~_notna(s_refunds, "claimed_refund_id")
        ]
        if not s_refunds.empty
        else s_refunds
    )
    for x in _records(stripe_only):
        wf = _s(x.get("claimed_workflow"))
        issues.append(
            _discrepancy(
                kind="refund_stripe_only",
                business_day=x["business_day"],
                store=_s(x.get("store")),
                currency=x["currency"],
                tillflow_amount=0,
                stripe_amount=-int(x["amount"]),
                difference=-int(x["amount"]),
                order_number=_s(x.get("claimed_order")),
                payment_intent=_s(x["payment_intent"]),
                stripe_id=f"{x['txn_id']} ({x['source_id']})",
                workflow_id=wf,
                at=x["created_at"],
                age_days=_age_days(ctx.now, x["created_at"]),
                detail="Stripe refunded money tillflow did not refund",
                workflow_link=_link(ctx, wf),
            )
        )
    for x in disputes.to_dict("records") if not disputes.empty else []:
        wf = _s(x.get("claimed_workflow"))
        details = x.get("details") or {}
        issues.append(
            _discrepancy(
                kind="dispute",
                business_day=x["business_day"],
                store=_s(x.get("store")),
                currency=x["currency"],
                tillflow_amount=0,
                stripe_amount=int(x["amount"]),
                difference=int(x["amount"]),
                order_number=_s(x.get("claimed_order")),
                payment_intent=_s(x["payment_intent"]),
                stripe_id=f"{x['txn_id']} ({x['source_id']})",
                workflow_id=wf,
                at=x["created_at"],
                age_days=_age_days(ctx.now, x["created_at"]),
                detail=f"{x['reporting_category']}: {details.get('reason', '')}".strip(": "),
                workflow_link=_link(ctx, wf),
            )
        )


def _card_totals(
    cards: pd.DataFrame,
    refunds: pd.DataFrame,
    charges: pd.DataFrame,
    s_refunds: pd.DataFrame,
    stripe: pd.DataFrame,
) -> pd.DataFrame:
    """Per store, day and currency: tillflow's card sales and refunds, Stripe's charges, refunds,
    fees and net, and how much of that net is paid out."""
    keys = ["business_day", "store", "currency"]
    parts = []

    def add(frame: pd.DataFrame, column: str, values: pd.Series) -> None:
        if frame.empty:
            return
        f = frame.assign(store=frame["store"].fillna(""), _v=values)
        parts.append(f.groupby(keys, as_index=False)["_v"].sum().rename(columns={"_v": column}))

    add(cards, "tillflow_sales", cards.get("tillflow_amount", pd.Series(dtype="int64")))
    add(refunds, "tillflow_refunds", refunds.get("amount", pd.Series(dtype="int64")))
    add(charges, "stripe_charges", charges.get("amount", pd.Series(dtype="int64")))
    add(s_refunds, "stripe_refunds", -s_refunds.get("amount", pd.Series(dtype="int64")))
    add(stripe, "stripe_fees", stripe.get("fee", pd.Series(dtype="int64")))
    add(stripe, "stripe_net", stripe.get("net", pd.Series(dtype="int64")))
    if not stripe.empty:
        paid = stripe["net"].where(stripe["payout_id"].notna(), 0)
        add(stripe, "paid_out_net", paid)
    money = [
        "tillflow_sales", "tillflow_refunds", "stripe_charges", "stripe_refunds", "stripe_fees",
        "stripe_net", "paid_out_net",
    ]  # fmt: skip
    if not parts:
        return pd.DataFrame(columns=[*keys, *money, "difference"])
    out = parts[0]
    for p in parts[1:]:
        out = out.merge(p, on=keys, how="outer")
    for c in money:
        out[c] = out[c].fillna(0).astype("int64") if c in out else 0
    out["difference"] = (out["stripe_charges"] - out["stripe_refunds"]) - (
        out["tillflow_sales"] - out["tillflow_refunds"]
    )
    return out[[*keys, *money, "difference"]].sort_values(keys).reset_index(drop=True)


# ---- gift cards and store credit -------------------------------------------------------------


def liability_rows(frames: Frames, params: ReportParams) -> pd.DataFrame:
    """Per store, kind, currency and day: opening + issued − redeemed − expired (+ adjusted) =
    closing, the closing of one day the opening of the next."""
    stores = _frame(frames, "stores")
    codes = (
        dict(zip(stores["location_id"], stores["code"], strict=True)) if not stores.empty else {}
    )
    opening = _frame(frames, "liability_opening")
    moves = _frame(frames, "liability_moves")
    keys: dict[tuple[int, str, str], int] = {}
    for r in opening.to_dict("records") if not opening.empty else []:
        keys[(int(r["location_id"]), r["kind"], r["currency"])] = int(r["opening"])
    per_day: dict[tuple[int, str, str, date], dict[str, int]] = {}
    for r in moves.to_dict("records") if not moves.empty else []:
        k = (int(r["location_id"]), r["kind"], r["currency"])
        keys.setdefault(k, 0)
        day = pd.Timestamp(r["business_day"]).date()
        per_day[(*k, day)] = {
            c: int(r[c] or 0) for c in ("issued", "redeemed", "expired", "adjusted")
        }
    rows = []
    for (loc, kind, cur), start in sorted(keys.items()):
        balance = start
        for day in params.days:
            m = per_day.get((loc, kind, cur, day), {})
            issued, redeemed = m.get("issued", 0), m.get("redeemed", 0)
            expired, adjusted = m.get("expired", 0), m.get("adjusted", 0)
            closing = balance + issued - redeemed - expired + adjusted
            rows.append(
                {
                    "business_day": day,
                    "store": codes.get(loc, str(loc)),
                    "kind": kind,
                    "currency": cur,
                    "opening": balance,
                    "issued": issued,
                    "redeemed": redeemed,
                    "expired": expired,
                    "adjusted": adjusted,
                    "closing": closing,
                }
            )
            balance = closing
    return pd.DataFrame(
        rows,
        columns=[
            "business_day", "store", "kind", "currency", "opening", "issued", "redeemed",
            "expired", "adjusted", "closing",
        ],
    )  # fmt: skip


# ---- the report ------------------------------------------------------------------------------


def _open_items(frame: pd.DataFrame, columns: list[str], ctx: Any, at: str) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame(columns=[*columns, "age_days", "workflow_link"])
    out = frame[columns].copy()
    out["age_days"] = [_age_days(ctx.now, v) for v in frame[at]]
    out["workflow_link"] = [_link(ctx, w) for w in frame["workflow_id"]]
    return out.reset_index(drop=True)


def build(frames: Frames, params: ReportParams, ctx: Any) -> ReportResult:
    """The reconciliation's sections from the loader's frames."""
    cash = cash_rows(frames, ctx)
    cards, card_totals, issues = card_rows(frames, ctx)
    for c in cash.to_dict("records"):
        if pd.notna(c["over_short"]) and c["over_short"] != 0:
            issues.append(
                _discrepancy(
                    kind="cash_short" if c["over_short"] < 0 else "cash_over",
                    business_day=c["business_day"],
                    store=c["store"],
                    currency=c["currency"],
                    tillflow_amount=c["expected"],
                    stripe_amount=0,
                    difference=int(c["over_short"]),
                    shift=f"{c['till']} #{c['shift']}",
                    workflow_id=c["shift_workflow_id"],
                    at=c["closed_at"] if pd.notna(c["closed_at"]) else c["opened_at"],
                    age_days=_age_days(ctx.now, c["opened_at"]),
                    detail=f"counted {c['counted']} against {c['expected']} expected"
                    + (f", approved by {c['approved_by']}" if c["approved_by"] else ""),
                    workflow_link=c["workflow_link"],
                )
            )
        elif c["status"] != "closed":
            issues.append(
                _discrepancy(
                    kind="shift_not_closed",
                    business_day=c["business_day"],
                    store=c["store"],
                    currency=c["currency"],
                    tillflow_amount=c["expected"],
                    stripe_amount=0,
                    difference=0,
                    shift=f"{c['till']} #{c['shift']}",
                    workflow_id=c["shift_workflow_id"],
                    at=c["opened_at"],
                    age_days=_age_days(ctx.now, c["opened_at"]),
                    detail=f"the shift is {c['status']}",
                    workflow_link=c["workflow_link"],
                )
            )
    discrepancies = pd.DataFrame(issues, columns=DISCREPANCY_COLUMNS)
    for c in DISCREPANCY_MONEY:
        discrepancies[c] = discrepancies[c].astype("int64")
    offline = _open_items(
        _frame(frames, "offline"),
        ["store", "till", "currency", "card_amount", "status", "client_sale_id", "batch_id",
         "sold_at", "message", "workflow_id"],
        ctx,
        "sold_at",
    )  # fmt: skip
    collections = _open_items(
        _frame(frames, "collections"),
        ["store", "till", "currency", "amount", "card_brand", "card_last4", "decline_reason",
         "client_sale_id", "sold_at", "collection_id", "workflow_id"],
        ctx,
        "sold_at",
    )  # fmt: skip
    sections = (
        Section(
            "discrepancies",
            "Discrepancies to chase",
            discrepancies,
            money=DISCREPANCY_MONEY,
            note="Every item that does not reconcile, with the ids and the workflow to chase it.",
        ),
        Section("cash_shifts", "Cash per shift", cash, money=CASH_MONEY),
        Section(
            "cash_tills",
            "Cash per till",
            cash_totals(cash, ["business_day", "store", "till"]),
            money=CASH_MONEY,
        ),
        Section(
            "cash_stores",
            "Cash per store",
            cash_totals(cash, ["business_day", "store"]),
            money=CASH_MONEY,
            chart=Chart("bar", "store", "over_short", "Cash over / short per store"),
        ),
        Section(
            "cards",
            "Card tenders against Stripe",
            cards,
            money=("tillflow_amount", "stripe_amount", "stripe_refunded", "fee", "net"),
            note=""
            if "card_odd" not in frames
            else "Tender by tender for a report of one day. Over a longer range the tenders "
            "that do not match Stripe are in the discrepancies, and the cards per store and "
            "day below.",
        ),
        Section(
            "card_totals",
            "Cards per store: tillflow against Stripe",
            card_totals,
            money=(
                "tillflow_sales",
                "tillflow_refunds",
                "stripe_charges",
                "stripe_refunds",
                "stripe_fees",
                "stripe_net",
                "paid_out_net",
                "difference",
            ),
        ),  # fmt: skip
        Section(
            "liability",
            "Gift card and store credit liability",
            liability_rows(frames, params),
            money=("opening", "issued", "redeemed", "expired", "adjusted", "closing"),
        ),
        Section(
            "offline_uncaptured",
            "Offline card payments not captured yet",
            offline,
            money=("card_amount",),
        ),
        Section("collections_open", "Collection tasks still open", collections, money=("amount",)),
    )
    stores = _frame(frames, "stores")
    currency = str(stores["currency"].iloc[0]) if not stores.empty else "EUR"
    return ReportResult(
        name=NAME,
        title=TITLE,
        params=params,
        sections=sections,
        currency=currency,
        notes=(f"{len(discrepancies)} discrepancies",),
    )
