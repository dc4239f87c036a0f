"""Receipt layout: plain text and the exact ESC/POS byte stream."""

from __future__ import annotations

from collections.abc import Callable

from escpos.constants import (
    BARCODE_FONT_A,
    BARCODE_HEIGHT,
    BARCODE_TXT_BLW,
    BARCODE_TYPE_B,
    BARCODE_WIDTH,
    CD_KICK_2,
    CODEPAGE_CHANGE,
    ESC,
    GS,
    HW_INIT,
    PAPER_FULL_CUT,
    TXT_NORMAL,
    TXT_STYLE,
)
from escpos.printer import Dummy

from contracts.devices import Receipt, ReceiptLine, ReceiptTender
from devices.receipt import (
    PAPER_COLUMNS,
    code128_payload,
    format_rate,
    receipt_bytes,
    receipt_text,
    render_receipt,
    two_columns,
)

HEADER = ["Corner Shop Soho", "12 Greek Street", "London W1D 4DH"]
BODY = [
    "Till T1                        Cashier Ann",
    "Sale S-1001               2024-05-01 14:03",
    "------------------------------------------",
    "Oat milk 1L           2 x 1.95        3.90",
    "Bread                 1 x 2.50        2.50",
    "------------------------------------------",
    "Subtotal                              6.40",
    "Tax included                          0.78",
    "Code        Rate          Net          Tax",
    "S            20%         3.25         0.65",
    "R           5.5%         2.37         0.13",
    "------------------------------------------",
]
TOTAL_DOUBLE = "TOTAL        EUR 6.40"  # double width: half the columns
TENDERS = ["Cash handed 10.00                     6.40"]
CHANGE = "Change due                            3.60"
FOOTER = "Thank you for shopping with us"

BOLD_ON, BOLD_OFF = TXT_STYLE["bold"][True], TXT_STYLE["bold"][False]
CENTER, LEFT = TXT_STYLE["align"]["center"], TXT_STYLE["align"]["left"]
CODE128_CMD = BARCODE_TYPE_B["CODE128"]  # GS k 73


def _text(lines: list[str]) -> bytes:
    return "".join(f"{line}\n" for line in lines).encode("ascii")


def expected_bytes() -> bytes:
    """The sample receipt spelled out command by command from escpos.constants."""
    barcode = (
        CENTER
        + BARCODE_HEIGHT
        + bytes([64])
        + BARCODE_WIDTH
        + bytes([2])
        + BARCODE_FONT_A
        + BARCODE_TXT_BLW
        + CODE128_CMD
        + bytes([8])
        + b"{BS-1001"
    )
    return b"".join(
        [
            HW_INIT,
            TXT_NORMAL + TXT_STYLE["size"]["2h"] + BOLD_ON + CENTER,
            CODEPAGE_CHANGE + b"\x00",  # python-escpos selects CP437 before the first text
            _text(HEADER[:1]),
            TXT_NORMAL + TXT_STYLE["size"]["normal"] + BOLD_OFF,
            _text(HEADER[1:]),
            LEFT,
            _text(BODY),
            TXT_NORMAL + TXT_STYLE["size"]["2x"] + BOLD_ON,
            _text([TOTAL_DOUBLE]),
            TXT_NORMAL + TXT_STYLE["size"]["normal"] + BOLD_OFF,
            _text(TENDERS),
            BOLD_ON + _text([CHANGE]) + BOLD_OFF,
            b"\n",
            barcode,
            b"\n",
            CENTER + _text([FOOTER]),
            ESC + b"d\x06" + PAPER_FULL_CUT,
        ]
    )


def test_receipt_bytes_are_exact(receipt: Receipt) -> None:
    assert receipt_bytes(receipt) == expected_bytes()


def test_key_sequences(receipt: Receipt) -> None:
    dummy = Dummy()
    render_receipt(dummy, receipt)
    out = dummy.output
    assert out.startswith(HW_INIT + TXT_NORMAL)
    assert BOLD_ON + CENTER in out[:20]
    assert GS + b"k" + bytes([73, len("{BS-1001")]) + b"{BS-1001" in out
    assert TXT_STYLE["size"]["2x"] + BOLD_ON + b"TOTAL" in out
    assert b"Change due" in out
    assert out.endswith(PAPER_FULL_CUT)
    assert ESC + b"p" not in out  # the drawer is its own job
    assert CD_KICK_2 not in out
    assert TXT_STYLE["invert"][True] not in out


def test_every_line_fits_the_paper(receipt: Receipt) -> None:
    assert all(len(line) <= PAPER_COLUMNS for line in receipt_text(receipt).splitlines())
    assert len(TOTAL_DOUBLE) == PAPER_COLUMNS // 2


def test_text_rendering(receipt: Receipt) -> None:
    centred = [line.center(PAPER_COLUMNS).rstrip() for line in HEADER]
    total = "TOTAL".ljust(PAPER_COLUMNS - len("EUR 6.40")) + "EUR 6.40"
    footer = FOOTER.center(PAPER_COLUMNS).rstrip()
    expected = [*centred, *BODY, total, *TENDERS, CHANGE, "", footer]
    assert receipt_text(receipt) == "\n".join(expected) + "\n"


def test_reprint_banner_only_on_reprints(make_receipt: Callable[..., Receipt]) -> None:
    original = receipt_text(make_receipt())
    reprint = make_receipt(reprint=True)
    assert "REPRINT" not in original
    assert "*** REPRINT ***" in receipt_text(reprint).splitlines()[3]
    banner = BOLD_ON + TXT_STYLE["invert"][True] + b" *** REPRINT *** \n"
    assert banner + BOLD_OFF + TXT_STYLE["invert"][False] in receipt_bytes(reprint)


def test_no_change_line_without_change(make_receipt: Callable[..., Receipt]) -> None:
    exact = make_receipt(
        change_due=0, tenders=(ReceiptTender(kind="card", amount=640, detail="VISA ****4242"),)
    )
    text = receipt_text(exact)
    assert "Change due" not in text
    assert two_columns("Card VISA ****4242", "6.40") in text.splitlines()


def test_long_names_get_their_own_line(make_receipt: Callable[..., Receipt]) -> None:
    name = "Organic extra virgin olive oil, cold pressed, 750 ml"
    text = receipt_text(
        make_receipt(
            lines=(
                ReceiptLine(
                    name=name,
                    sku="SKU-9",
                    quantity=3,
                    unit_price=1099,
                    line_total=3297,
                    tax_code="S",
                ),
            )
        )
    )
    lines = text.splitlines()
    at = lines.index("Organic extra virgin olive oil, cold")
    assert lines[at + 1] == "pressed, 750 ml"
    assert lines[at + 2] == "3 x 10.99".rjust(30) + "32.97".rjust(12)


def test_zero_decimal_currency(make_receipt: Callable[..., Receipt]) -> None:
    text = receipt_text(make_receipt(currency="JPY", total=640, subtotal=640))
    assert "TOTAL".ljust(PAPER_COLUMNS - len("JPY 640")) + "JPY 640" in text.splitlines()


def test_barcode_payload() -> None:
    assert code128_payload("S-1001") == "{BS-1001"
    assert code128_payload("A{1") == "{BA{{1"  # a literal brace is escaped, not a function code
    assert code128_payload("Café") is None
    assert code128_payload("") is None
    assert code128_payload("x" * 300) is None


def test_unencodable_sale_id_prints_without_barcode(make_receipt: Callable[..., Receipt]) -> None:
    out = receipt_bytes(make_receipt(sale_id="Vente-é"))
    assert CODE128_CMD not in out
    assert out.endswith(PAPER_FULL_CUT)


def test_format_rate() -> None:
    assert [format_rate(bp) for bp in (2000, 550, 0, 1234, 7)] == [
        "20%",
        "5.5%",
        "0%",
        "12.34%",
        "0.07%",
    ]


def test_long_sale_id_is_never_cut(make_receipt: Callable[..., Receipt]) -> None:
    sale_id = "ORDER-2024-05-01-STORE-0042-TILL-07-000123"
    lines = receipt_text(make_receipt(sale_id=sale_id)).splitlines()
    assert "".join(lines[4:6]) == f"Sale {sale_id}"
    assert lines[6] == "2024-05-01 14:03"
