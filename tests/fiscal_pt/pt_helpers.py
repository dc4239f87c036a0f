"""Builders of the Portuguese signer tests: a fiscal unit with its series, and documents."""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from contracts.fiscal import FiscalDocument, FiscalLine, TenderAmount, VatAmount
from integrations.fiscal import FiscalUnit

LISBON = ZoneInfo("Europe/Lisbon")
ISSUER_NIF = "500000000"  # a valid test NIF (check digit 0)


def pt_unit(code: str, suffix: str = "") -> FiscalUnit:
    tag = suffix or code
    return FiscalUnit(
        location_code=code,
        scheme="pt-at",
        country="PT",
        options={
            "nif": ISSUER_NIF,
            "company_name": "Retalho Demo, Lda.",
            "address": "Rua Augusta 1",
            "city": "Lisboa",
            "postal_code": "1100-048",
            "series.FS": f"FS{tag}",
            "series.NC": f"NC{tag}",
            "series.FT": f"FT{tag}",
            f"validation_code.FS{tag}": "AAJFJ2K6",
            f"validation_code.NC{tag}": "AAJFJNC7",
            f"validation_code.FT{tag}": "AAJFJFT8",
        },
    )


def sale(
    code: str,
    *,
    total: int = 1230,
    at: datetime | None = None,
    till: str = "T1",
    kind: str = "sale",
    refers_to: str = "",
    buyer: str = "",
) -> FiscalDocument:
    """A sale of one item at 23 % (gross `total` cents), or a return of it (negative)."""
    sign = -1 if kind in ("return", "void") else 1
    net = round(abs(total) * 10000 / 12300)
    return FiscalDocument(
        document_id=f"{kind}:{till}:{uuid.uuid4().hex}",
        kind=kind,  # type: ignore[arg-type]  # a FiscalKind
        location_code=code,
        till_code=till,
        currency="EUR",
        occurred_at=at or datetime(2026, 11, 14, 10, 30, tzinfo=LISBON),
        cashier="maria",
        total=sign * abs(total),
        vat=(
            VatAmount(
                rate_bp=2300, gross=sign * abs(total), net=sign * net, vat=sign * (abs(total) - net)
            ),
        ),
        tenders=(TenderAmount(kind="cash", amount=sign * abs(total)),),
        lines=(
            FiscalLine(
                line_no=1,
                sku="SKU-1",
                name="Caneca",
                quantity=sign,
                unit_price=abs(total),
                total=sign * abs(total),
                rate_bp=2300,
            ),
        ),
        refers_to=refers_to,
        buyer_tax_id=buyer,
    )
