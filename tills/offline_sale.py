"""A sale made while the central system is out of reach: priced from the snapshot, within the
offline limits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from contracts.devices import Receipt, ReceiptLine, ReceiptTax, ReceiptTender
from domain.offline import (
    CARD,
    OfflineRefused,
    OfflineTender,
    StoredCards,
    check_offline_tenders,
    settle_offline,
)
from tills.snapshot import Snapshot

OFFLINE_FOOTER = (
    "Thank you for shopping with us\nRecorded offline; it reaches our system when the link is back."
)


@dataclass(frozen=True)
class TenderInput:
    kind: str
    amount: int
    reference: str = ""  # card: the terminal's token for the payment it stored
    brand: str = ""
    last4: str = ""


@dataclass(frozen=True)
class OfflineSale:
    body: dict[str, Any]  # uploaded to POST /tills/{till}/journal
    sale: dict[str, Any]  # the answer for the till page
    receipt: Receipt
    card_total: int
    cash: bool


def make_offline_sale(
    snapshot: Snapshot,
    client_sale_id: str,
    lines: Sequence[tuple[str, int]],
    tenders: Sequence[TenderInput],
    cashier: tuple[str, str],  # username, display name
    stored: StoredCards,
    now: datetime,
) -> OfflineSale:
    """Price, check the offline limits, settle: everything short of writing it down and printing."""
    currency = snapshot.currency
    check_offline_tenders(
        [OfflineTender(t.kind, t.amount) for t in tenders],
        snapshot.card_policy,
        stored,
        now,
        currency,
    )
    for t in tenders:
        if t.kind == CARD and not (t.reference and t.last4):
            raise OfflineRefused(
                "The card terminal did not store this payment (no reference from it); "
                "take cash instead."
            )
    quote = snapshot.quote(lines, now)
    settled = settle_offline(
        quote.total, [OfflineTender(t.kind, t.amount) for t in tenders], currency
    )
    tender_rows: list[dict[str, Any]] = []
    for t, (kind, tendered, applied) in zip(tenders, settled.applied, strict=True):
        tender_rows.append(
            {
                "kind": kind,
                "amount": applied,
                "tendered": tendered,
                "reference": t.reference if kind == CARD else "",
                "brand": t.brand if kind == CARD else "",
                "last4": t.last4 if kind == CARD else "",
            }
        )
    body = {
        "client_sale_id": client_sale_id,
        "sold_at": now.isoformat(),
        "cashier": cashier[0],
        "lines": [
            {"sku": ln.sku, "quantity": ln.quantity, "unit_price": ln.unit_price}
            for ln in quote.lines
        ],
        "tenders": tender_rows,
        "total": quote.total,
        "change_due": settled.change_due,
    }
    sale = {
        "sale_id": client_sale_id,
        "client_sale_id": client_sale_id,
        "workflow_id": "",
        "status": "completed",
        "offline": True,
        "currency": currency,
        "lines": [asdict(ln) for ln in quote.lines],
        "subtotal": quote.subtotal,
        "tax_total": quote.tax_total,
        "total": quote.total,
        "tenders": [
            {
                "kind": r["kind"],
                "amount": r["amount"],
                "tendered": r["tendered"],
                "reference": "",
                "card_brand": r["brand"],
                "card_last4": r["last4"],
            }
            for r in tender_rows
        ],
        "change_due": settled.change_due,
        "warnings": [
            "Saved on this till while offline; "
            "it is sent to the central system when the link is back."
        ],
        "sold_at": now.isoformat(),
    }
    receipt = Receipt(
        sale_id=client_sale_id,
        store_name=snapshot.store_name,
        store_address=snapshot.address,
        till_code=snapshot.till,
        cashier_name=cashier[1],
        sold_at=now.astimezone(ZoneInfo(snapshot.timezone)),
        currency=currency,
        locale=snapshot.locale,
        lines=tuple(
            ReceiptLine(
                name=ln.name,
                sku=ln.sku,
                quantity=ln.quantity,
                unit_price=ln.unit_price,
                line_total=ln.gross,
                tax_code=ln.tax_code,
            )
            for ln in quote.lines
        ),
        taxes=tuple(
            ReceiptTax(code=t.code, rate_bp=t.rate_bp, net=t.net, tax=t.tax) for t in quote.taxes
        ),
        subtotal=quote.subtotal,
        tax_total=quote.tax_total,
        total=quote.total,
        tenders=tuple(
            ReceiptTender(
                kind=r["kind"],
                amount=r["tendered"] if r["kind"] != CARD else r["amount"],
                detail=f"{r['brand']} ****{r['last4']}".strip() if r["kind"] == CARD else "",
            )
            for r in tender_rows
        ),
        change_due=settled.change_due,
        prices_include_tax=snapshot.prices_include_tax,
        footer=OFFLINE_FOOTER,
    )
    return OfflineSale(
        body, sale, receipt, settled.card_total, any(r["kind"] == "cash" for r in tender_rows)
    )


def receipt_to_json(receipt: Receipt) -> dict[str, Any]:
    """A receipt as JSON for the journal, so a reprint shows exactly what the customer got."""
    body = asdict(receipt)
    body["sold_at"] = receipt.sold_at.isoformat()
    return body


def receipt_from_json(body: dict[str, Any], *, reprint: bool = False) -> Receipt:
    fields = dict(body)
    fields["sold_at"] = datetime.fromisoformat(body["sold_at"])
    fields["lines"] = tuple(ReceiptLine(**ln) for ln in body["lines"])
    fields["taxes"] = tuple(ReceiptTax(**t) for t in body["taxes"])
    fields["tenders"] = tuple(ReceiptTender(**t) for t in body["tenders"])
    for name in ("notes", "fiscal_lines"):
        if name in fields and isinstance(fields[name], list):
            fields[name] = tuple(fields[name])
    fields["reprint"] = reprint
    return Receipt(**fields)
