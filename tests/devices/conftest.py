"""Sample receipts and jobs shared by the device tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from contracts.devices import DrawerKick, PrintJob, Receipt, ReceiptLine, ReceiptTax, ReceiptTender


def _receipt(**changes: object) -> Receipt:
    # A small cash sale in EUR with two tax rates and change due.
    fields: dict[str, object] = {
        "sale_id": "S-1001",
        "store_name": "Corner Shop Soho",
        "store_address": "12 Greek Street\nLondon W1D 4DH",
        "till_code": "T1",
        "cashier_name": "Ann",
        "sold_at": datetime(2024, 5, 1, 14, 3, 59),
        "currency": "EUR",
        "lines": (
            ReceiptLine(
                name="Oat milk 1L",
                sku="SKU-1",
                quantity=2,
                unit_price=195,
                line_total=390,
                tax_code="S",
            ),
            ReceiptLine(
                name="Bread", sku="SKU-2", quantity=1, unit_price=250, line_total=250, tax_code="R"
            ),
        ),
        "taxes": (
            ReceiptTax(code="S", rate_bp=2000, net=325, tax=65),
            ReceiptTax(code="R", rate_bp=550, net=237, tax=13),
        ),
        "subtotal": 640,
        "tax_total": 78,
        "total": 640,
        "tenders": (ReceiptTender(kind="cash", amount=640, detail="handed 10.00"),),
        "change_due": 360,
    }
    fields.update(changes)
    return Receipt(**fields)  # type: ignore[arg-type]  # fields: a dict of mixed values


@pytest.fixture
def make_receipt() -> Callable[..., Receipt]:
    """The sample receipt with some fields changed."""
    return _receipt


@pytest.fixture
def receipt() -> Receipt:
    return _receipt()


@pytest.fixture
def print_job(receipt: Receipt) -> PrintJob:
    return PrintJob(job_id="receipt:sale:T1:abc", receipt=receipt)


@pytest.fixture
def drawer_kick() -> DrawerKick:
    return DrawerKick(job_id="drawer:sale:T1:abc", till_code="T1", reason="cash sale")
