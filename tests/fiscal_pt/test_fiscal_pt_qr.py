"""The QR code's content and the ATCUD (Portaria 195/2020), field by field."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from pt_helpers import ISSUER_NIF, pt_unit, sale

from db.session import Database
from domain.errors import InvalidRequest
from domain.fiscal_pt import (
    QrVat,
    hash_chars,
    parse_options,
    parse_qr,
    qr_string,
    verify,
)
from integrations.fiscal_pt import PortugalSigner, PtSoftware


def test_the_official_simplified_invoice_example() -> None:
    """The AT's own example 2 (a fatura simplificada), rebuilt from its amounts."""
    fake_signature = "Y" + "x" * 9 + "h" + "x" * 9 + "G" + "x" * 9 + "V" + "x" * 20
    got = qr_string(
        issuer_nif="123456789",
        buyer_nif="",
        buyer_country="PT",
        doc_type="FS",
        status="N",
        invoice_date=date(2019, 8, 12),
        number="FS CDVF/12345",
        atcud_code="CDF7T5HD-12345",
        tax_region="PT",
        vat=[QrVat(rate_bp=2300, net=65, vat=15)],
        gross_total=80,
        signature=fake_signature,
        certificate="9999",
    )
    assert got == (
        "A:123456789*B:999999990*C:PT*D:FS*E:N*F:20190812*G:FS CDVF/12345*H:CDF7T5HD-12345"
        "*I1:PT*I7:0.65*I8:0.15*N:0.15*O:0.80*Q:YhGV*R:9999"
    )


def test_every_band_in_the_spec_order() -> None:
    got = parse_qr(
        qr_string(
            issuer_nif=ISSUER_NIF,
            buyer_nif="123456789",
            buyer_country="PT",
            doc_type="NC",
            status="N",
            invoice_date=date(2026, 11, 2),
            number="NC X/7",
            atcud_code="AAJFJNC7-7",
            tax_region="PT",
            vat=[
                QrVat(rate_bp=2300, net=-1000, vat=-230),
                QrVat(rate_bp=600, net=-500, vat=-30),
                QrVat(rate_bp=1300, net=-200, vat=-26),
                QrVat(rate_bp=0, net=-100, vat=0),
            ],
            gross_total=-2086,
            signature="a" * 172,
            certificate="1234",
        )
    )
    assert list(got) == [
        "A", "B", "C", "D", "E", "F", "G", "H", "I1", "I2", "I3", "I4", "I5", "I6", "I7", "I8",
        "N", "O", "Q", "R",
    ]  # fmt: skip
    assert (got["I2"], got["I3"], got["I4"], got["I5"], got["I6"], got["I7"], got["I8"]) == (
        "1.00", "5.00", "0.30", "2.00", "0.26", "10.00", "2.30",
    )  # fmt: skip
    assert (got["N"], got["O"], got["B"]) == ("2.86", "20.86", "123456789")


def test_a_rate_portugal_does_not_have_is_refused() -> None:
    with pytest.raises(InvalidRequest) as err:
        qr_string(
            issuer_nif=ISSUER_NIF, buyer_nif="", buyer_country="PT", doc_type="FS", status="N",
            invoice_date=date(2026, 1, 1), number="FS A/1", atcud_code="AAAAAAAA-1",
            tax_region="PT", vat=[QrVat(rate_bp=1900, net=100, vat=19)], gross_total=119,
            signature="a" * 172, certificate="1",
        )  # fmt: skip
    assert err.value.code == "pt_unknown_vat_rate"


async def test_a_signed_sale_s_qr_atcud_and_receipt(
    db: Database, pt_software: PtSoftware, pt_store: str
) -> None:
    """A known sale signed through the signer: every QR field as the law says, the ATCUD is
    "<validation code>-<number>" and the hash characters are those of the verified signature."""
    entry = datetime(2026, 11, 14, 9, 31, 5, 123456, tzinfo=UTC)  # 09:31:05 in Lisbon (WET)
    signer = PortugalSigner(db, pt_software, clock=lambda: entry)
    unit = pt_unit(pt_store, "A2026")
    doc = sale(pt_store, total=1230)
    sig = await signer.finish(unit, doc)

    assert sig.status == "signed" and sig.scheme == "pt-at"
    assert sig.field("atcud") == "AAJFJ2K6-1"
    assert re.fullmatch(r"[A-Z0-9]{8,}-[0-9]+", sig.field("atcud"))
    message = "2026-11-14;2026-11-14T09:31:05;FS FSA2026/1;12.30;"
    assert sig.field("signed_message") == message
    assert verify(pt_software.public_pem, message, sig.field("hash"))
    assert len(sig.field("hash")) == 172
    q = hash_chars(sig.field("hash"))
    expected = {
        "A": ISSUER_NIF,
        "B": "999999990",
        "C": "PT",
        "D": "FS",
        "E": "N",
        "F": "20261114",
        "G": "FS FSA2026/1",
        "H": "AAJFJ2K6-1",
        "I1": "PT",
        "I7": "10.00",
        "I8": "2.30",
        "N": "2.30",
        "O": "12.30",
        "Q": q,
        "R": "9999",
    }
    got = parse_qr(sig.qr)
    for code, value in expected.items():
        assert got.get(code) == value, code
    assert list(got) == list(expected)  # nothing else, in this order
    assert sig.receipt_lines == (
        "ATCUD:AAJFJ2K6-1",
        "Fatura simplificada FS FSA2026/1",
        f"{q}-Processado por programa certificado n.º 9999/AT",
    )


async def test_a_return_is_a_credit_note_referring_to_its_invoice(
    db: Database, pt_signer: PortugalSigner, pt_store: str
) -> None:
    unit = pt_unit(pt_store, "B2026")
    first = sale(pt_store, total=2460, buyer="PT123456789")
    inv = await pt_signer.finish(unit, first)
    ret = sale(pt_store, total=2460, kind="return", refers_to=first.document_id)
    nc = await pt_signer.finish(unit, ret)
    assert nc.field("number") == "NC NCB2026/1" and nc.field("previous_hash") == ""
    assert f"Ref.: {inv.field('number')}" in nc.receipt_lines
    qr = parse_qr(nc.qr)
    assert (qr["D"], qr["O"], qr["H"]) == ("NC", "24.60", "AAJFJNC7-1")
    assert parse_qr(inv.qr)["B"] == "123456789"


def test_options_are_checked() -> None:
    good = dict(pt_unit("X", "C").options)
    assert parse_options(good).series_for("T9", "FS").series == "FSC"
    for key, value in (("nif", "123456780"), ("validation_code.FSC", "short"), ("series.XX", "A")):
        with pytest.raises(InvalidRequest) as err:
            parse_options({**good, key: value})
        assert err.value.code == "pt_options_invalid"
    no_nc = {k: v for k, v in good.items() if not k.startswith("series.NC")}
    with pytest.raises(InvalidRequest):
        parse_options(no_nc)
