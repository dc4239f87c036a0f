"""Our payload converter reads back exactly what Temporal's default does, and fails the same way."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from temporalio.converter import DataConverter

from contracts.devices import PrintJob, Receipt, ReceiptLine, ReceiptTax, ReceiptTender, SaleDevices
from contracts.online import StockTaken
from contracts.sale import (
    BasketLine,
    CashCheckout,
    CashOutcome,
    PricedSale,
    RecordedOrder,
    SaleLine,
    SaleRequest,
    SaleResult,
    StockOutcome,
    TenderIn,
    TenderOut,
)
from tillflow.payloads import DATA_CONVERTER

OURS = DATA_CONVERTER.payload_converter
THEIRS = DataConverter.default.payload_converter
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Tagged:
    name: str
    count: int | None = None
    tags: tuple[str, ...] = ()
    derived: int = field(default=0, init=False)


def _lines() -> tuple[SaleLine, ...]:
    return tuple(
        SaleLine(i, f"SKU-{i}", "Thing", i, 990, 832, 158, 990 * i, "standard", 1900)
        for i in (1, 2)
    )


def _receipt() -> Receipt:
    return Receipt(
        sale_id="BER1-000042",
        store_name="Berlin Mitte",
        store_address="Torstr. 1",
        till_code="BER1",
        cashier_name="Ann",
        sold_at=NOW,
        currency="EUR",
        lines=(
            ReceiptLine(
                name="Thing", sku="SKU-1", quantity=1, unit_price=990, line_total=990, tax_code="S"
            ),
        ),
        taxes=(ReceiptTax(code="S", rate_bp=1900, net=832, tax=158),),
        subtotal=832,
        tax_total=158,
        total=990,
        tenders=(ReceiptTender(kind="cash", amount=2000, detail=""),),
        change_due=1010,
    )


SAMPLES: list[tuple[object, type]] = [
    (
        SaleRequest(
            till_code="BER1",
            client_sale_id="abc",
            cashier_id=7,
            lines=(BasketLine(sku="SKU-1", quantity=2),),
            tenders=(TenderIn(kind="cash", amount=5000),),
            sold_at=NOW,
        ),
        SaleRequest,
    ),
    (
        CashCheckout(
            workflow_id="sale:BER1:abc",
            request=SaleRequest(
                till_code="BER1", client_sale_id="abc", cashier_id=7, lines=(), tenders=()
            ),
            sold_at=NOW,
        ),
        CashCheckout,
    ),
    (
        CashOutcome(
            priced=PricedSale(
                till_id=1,
                location_id=2,
                location_code="BER",
                currency="EUR",
                prices_include_tax=True,
                lines=_lines(),
                stock_lines=_lines(),
                subtotal=1664,
                tax_total=316,
                total=1980,
            ),
            recorded=RecordedOrder(number="BER1-000042", receipt=_receipt()),
            stock=StockOutcome(
                warnings=("low",),
                taken_from_orders=(
                    StockTaken(
                        order_workflow_id="order:x",
                        location_id=2,
                        sku="SKU-1",
                        quantity=1,
                        sale_workflow_id="sale:BER1:abc",
                    ),
                ),
            ),
            tenders=(TenderOut(kind="cash", amount=1980, tendered=2000, reference=""),),
            change_due=20,
        ),
        CashOutcome,
    ),
    (
        CashOutcome(
            priced=PricedSale(
                till_id=1,
                location_id=2,
                location_code="BER",
                currency="EUR",
                prices_include_tax=True,
                lines=(),
                stock_lines=(),
                subtotal=0,
                tax_total=0,
                total=0,
            )
        ),
        CashOutcome,
    ),  # recorded None
    (SaleDevices(receipt=PrintJob(job_id="j", receipt=_receipt())), SaleDevices),
    (Tagged("x", 3, ("a", "b")), Tagged),
    (Tagged("y"), Tagged),
]


@pytest.mark.parametrize(("value", "hint"), SAMPLES)
def test_reads_back_what_the_default_converter_reads(value: object, hint: type) -> None:
    payloads = OURS.to_payloads([value])
    assert payloads == THEIRS.to_payloads([value])  # the wire format is unchanged
    ours = OURS.from_payloads(payloads, [hint])[0]
    assert ours == THEIRS.from_payloads(payloads, [hint])[0] == value


def test_init_false_fields_are_restored() -> None:
    value = Tagged("z")
    object.__setattr__(value, "derived", 9)
    back = OURS.from_payloads(OURS.to_payloads([value]), [Tagged])[0]
    assert back.derived == 9


def test_bad_payloads_fail_as_the_default_does() -> None:
    missing = THEIRS.to_payloads([{"count": 1}])  # no name
    for conv in (OURS, THEIRS):
        with pytest.raises(Exception, match="name"):
            conv.from_payloads(missing, [Tagged])
    wrong = THEIRS.to_payloads([{"name": "x", "count": "many"}])
    for conv in (OURS, THEIRS):
        with pytest.raises(Exception, match="count"):
            conv.from_payloads(wrong, [Tagged])


def test_a_sale_result_reads_back() -> None:
    result = SaleResult(
        sale_id="BER1-000042",
        workflow_id="sale:BER1:abc",
        status="completed",
        currency="EUR",
        lines=_lines(),
        subtotal=1664,
        tax_total=316,
        total=1980,
        tenders=(TenderOut(kind="cash", amount=1980, tendered=2000, reference=""),),
        change_due=20,
        warnings=(),
        sold_at=NOW,
        due=0,
        declines=(),
        gift_cards=(),
    )
    assert OURS.from_payloads(OURS.to_payloads([result]), [SaleResult])[0] == result
