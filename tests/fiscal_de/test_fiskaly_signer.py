"""FiskalySigner against FakeFiskalyServer, without Temporal or the database: signatures verify
with the TSS's public key, counters go up, a retried finish gives the same signature, cancels,
closings, and the errors (503 / hang retryable, refused 4xx a DomainError)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import pytest
from helpers.fake_fiskaly import (
    FakeFiskalyServer,
    signed_message,
    verify_fiscal_fields,
    verify_signature,
)

from contracts.fiscal import FiscalClosing, FiscalDocument, FiscalLine, TenderAmount, VatAmount
from domain.errors import Conflict, DomainError, InvalidRequest
from integrations.fiscal import FiscalUnit
from integrations.fiskaly import FiskalySigner, FiskalyUnavailable, tx_id


def sale(
    kind: str = "sale",
    *,
    gross_19: int = 1190,
    gross_7: int = 0,
    cash: int | None = None,
    card: int = 0,
    refers_to: str = "",
) -> FiscalDocument:
    """A Berlin document: one line at 19 %, optionally one at 7 %, paid cash and/or card."""
    sign = -1 if kind in ("return", "void") else 1
    vat = [VatAmount(rate_bp=1900, gross=gross_19, net=round(gross_19 / 1.19), vat=0)]
    lines = [
        FiscalLine(
            line_no=1,
            sku="SKU-A",
            name="Kaffee",
            quantity=sign,
            unit_price=abs(gross_19),
            total=gross_19,
            rate_bp=1900,
        )
    ]
    if gross_7:
        vat.append(VatAmount(rate_bp=700, gross=gross_7, net=round(gross_7 / 1.07), vat=0))
        lines.append(
            FiscalLine(
                line_no=2,
                sku="SKU-B",
                name="Buch",
                quantity=sign,
                unit_price=abs(gross_7),
                total=gross_7,
                rate_bp=700,
            )
        )
    total = gross_19 + gross_7
    tenders = [TenderAmount(kind="cash", amount=total - card if cash is None else cash)]
    if card:
        tenders.append(TenderAmount(kind="card", amount=card))
    return FiscalDocument(
        document_id=f"sale:{uuid.uuid4()}",
        kind=kind,  # type: ignore[arg-type]  # the test passes valid kinds only
        location_code="BER",
        till_code="BER1",
        currency="EUR",
        occurred_at=datetime.now(UTC),
        cashier="Anna",
        total=total,
        vat=tuple(vat),
        tenders=tuple(tenders),
        lines=tuple(lines),
        number="B-1",
        refers_to=refers_to,
    )


async def test_a_sale_is_signed_with_a_verifiable_signature(
    signer: FiskalySigner, unit: FiscalUnit, fiskaly: FakeFiskalyServer
) -> None:
    doc = sale(gross_19=1190, gross_7=535, card=1000)
    sig = await signer.finish(unit, doc)

    assert sig.status == "signed" and sig.scheme == "de-fiskaly"
    tss_id = unit.options["tss_id"]
    assert sig.field("public_key") == fiskaly.public_key_b64(tss_id)
    assert sig.field("process_type") == "Kassenbeleg-V1"
    assert sig.field("process_data") == "Beleg^11.90_5.35_0.00_0.00_0.00^7.25:Bar_10.00:Unbar"
    assert sig.field("client_serial") == "TILLFLOW-BERTEST"
    assert sig.field("algorithm") == "ecdsa-plain-SHA256"
    # the bytes the fake TSE signed (tests/helpers/fake_fiskaly.py's signed_message), rebuilt from
    # what tillflow keeps, verify with the TSS's public key
    assert verify_fiscal_fields(sig.fields)
    tampered = dict(sig.fields) | {"process_data": "Beleg^1.00_5.35_0.00_0.00_0.00^1.00:Bar"}
    assert not verify_fiscal_fields(tampered)
    # the receipt prints the TSE data in German; the QR code is the DSFinV-K V0 string
    text = "\n".join(sig.receipt_lines)
    for label in ("TSE-Seriennummer", "TSE-Transaktion", "TSE-Signaturzähler", "TSE-Start"):
        assert label in text
    assert f"TSE-Signatur (Prüfwert): {sig.field('signature')}" in sig.receipt_lines
    qr = sig.qr.split(";")
    assert qr[0] == "V0" and qr[1] == "TILLFLOW-BERTEST" and qr[2] == "Kassenbeleg-V1"
    assert qr[4] == sig.field("transaction_number") and qr[5] == sig.field("signature_counter")
    assert qr[10] == sig.field("signature") and qr[11] == sig.field("public_key")
    # one transaction, under the document's stable tx id, finished with the standard_v1 receipt
    tx = fiskaly.transactions[(tss_id, tx_id(doc.document_id, "sale"))]
    receipt = tx["schema"]["standard_v1"]["receipt"]
    assert receipt["receipt_type"] == "RECEIPT"
    assert receipt["amounts_per_vat_rate"] == [
        {"vat_rate": "NORMAL", "amount": "11.90"},
        {"vat_rate": "REDUCED_1", "amount": "5.35"},
    ]
    assert {(p["payment_type"], p["amount"]) for p in receipt["amounts_per_payment_type"]} == {
        ("CASH", "7.25"),
        ("NON_CASH", "10.00"),
    }


async def test_counters_go_up_and_a_retried_finish_gives_the_same_signature(
    signer: FiskalySigner, unit: FiscalUnit, fiskaly: FakeFiskalyServer
) -> None:
    first, second = sale(), sale(gross_19=2380)
    await signer.start(unit, first)  # the till started the sale: revision 1
    a = await signer.finish(unit, first)
    b = await signer.finish(unit, second)  # never started: finish starts it first
    assert int(b.field("transaction_number")) == int(a.field("transaction_number")) + 1
    assert int(b.field("signature_counter")) > int(a.field("signature_counter"))
    assert verify_fiscal_fields(a.fields) and verify_fiscal_fields(b.fields)

    before = fiskaly.signature_counter(unit.options["tss_id"])
    again = await signer.finish(unit, first)  # an activity retried after a lost answer
    assert again == a
    await signer.start(unit, first)  # a late start changes nothing either
    assert fiskaly.signature_counter(unit.options["tss_id"]) == before
    assert len(fiskaly.transactions) == 2


async def test_a_return_is_a_receipt_with_negative_amounts(
    signer: FiskalySigner, unit: FiscalUnit
) -> None:
    original = sale()
    await signer.finish(unit, original)
    refund = sale("return", gross_19=-1190, refers_to=original.document_id)
    sig = await signer.finish(unit, refund)
    assert sig.field("process_data") == "Beleg^-11.90_0.00_0.00_0.00_0.00^-11.90:Bar"
    assert verify_fiscal_fields(sig.fields)
    void = sale("void", gross_19=-1190, refers_to=original.document_id)
    assert (await signer.finish(unit, void)).field("process_data").startswith("AVBelegstorno^")


async def test_a_cancelled_transaction_is_never_signed_as_a_sale(
    signer: FiskalySigner, unit: FiscalUnit, fiskaly: FakeFiskalyServer
) -> None:
    doc = sale()
    await signer.cancel(unit, doc)  # never started: nothing at fiskaly
    assert fiskaly.transactions == {}

    await signer.start(unit, doc)
    await signer.cancel(unit, doc)
    await signer.cancel(unit, doc)  # idempotent
    tx = fiskaly.transactions[(unit.options["tss_id"], tx_id(doc.document_id, "sale"))]
    assert tx["state"] == "CANCELLED" and tx["revision"] == 2
    with pytest.raises(Conflict) as refused:
        await signer.finish(unit, doc)
    assert refused.value.code == "fiskaly_tx_cancelled"


async def test_a_closing_is_recorded_as_a_sonstiger_vorgang(
    signer: FiskalySigner, unit: FiscalUnit
) -> None:
    closing = FiscalClosing(
        document_id=f"shift:BER1:{uuid.uuid4()}",
        location_code="BER",
        till_code="BER1",
        currency="EUR",
        z_number=7,
        opened_at=datetime.now(UTC),
        closed_at=datetime.now(UTC),
        total=1725,
        vat=(
            VatAmount(rate_bp=1900, gross=1190, net=1000, vat=190),
            VatAmount(rate_bp=700, gross=535, net=500, vat=35),
        ),
        tenders=(TenderAmount(kind="cash", amount=1725),),
    )
    sig = await signer.sign_closing(unit, closing)
    assert sig.field("process_type") == "SonstigerVorgang"
    assert sig.field("process_data") == "Kassenabschluss^7^11.90_5.35_0.00_0.00_0.00^17.25:Bar"
    assert sig.receipt_lines[0] == "Kassenabschluss Z-Nr. 7"
    assert verify_fiscal_fields(sig.fields)
    assert await signer.sign_closing(unit, closing) == sig


async def test_fiskaly_unavailable_is_retryable_and_the_retry_signs_once(
    signer: FiskalySigner, unit: FiscalUnit, fiskaly: FakeFiskalyServer
) -> None:
    doc = sale()
    fiskaly.unavailable = True
    with pytest.raises(FiskalyUnavailable) as down:
        await signer.finish(unit, doc)
    assert not isinstance(down.value, DomainError)  # the activity retries it
    fiskaly.unavailable = False

    # one 503 in the middle of the flow: the retry carries on from where fiskaly is and signs once
    fiskaly.fail_next("PUT", "/tx/", 503, body={"status_code": 503}, times=1)
    with pytest.raises(FiskalyUnavailable):
        await signer.finish(unit, doc)
    sig = await signer.finish(unit, doc)  # the retry
    assert verify_fiscal_fields(sig.fields)
    assert len(fiskaly.transactions) == 1


async def test_a_hanging_fiskaly_times_out_as_retryable(
    unit: FiscalUnit, fiskaly: FakeFiskalyServer
) -> None:
    async with httpx.AsyncClient() as http:
        signer = FiskalySigner(
            http, fiskaly.url, fiskaly.api_key, fiskaly.api_secret, None, timeout_s=0.2
        )
        fiskaly.delay_s = 1.0
        with pytest.raises(FiskalyUnavailable):
            await signer.finish(unit, sale())
        fiskaly.delay_s = 0.0


async def test_an_expired_token_is_renewed(
    signer: FiskalySigner, unit: FiscalUnit, fiskaly: FakeFiskalyServer
) -> None:
    await signer.finish(unit, sale())
    fiskaly.expire_tokens()
    assert verify_fiscal_fields((await signer.finish(unit, sale())).fields)
    assert len(fiskaly.requests("POST", "/api/v2/auth")) == 2


async def test_refusals_are_domain_errors(
    signer: FiskalySigner, unit: FiscalUnit, fiskaly: FakeFiskalyServer
) -> None:
    doc = sale()
    odd = FiscalDocument(
        **{**doc.__dict__, "vat": (VatAmount(rate_bp=1600, gross=1160, net=1000, vat=160),)}
    )
    with pytest.raises(InvalidRequest) as rate:
        await signer.finish(unit, odd)
    assert rate.value.code == "fiskaly_vat_rate_unknown"

    incomplete = FiscalUnit(location_code="BER", scheme="de-fiskaly", country="DE", options={})
    with pytest.raises(InvalidRequest) as options:
        await signer.finish(incomplete, doc)
    assert options.value.code == "fiskaly_unit_incomplete"

    unknown_tss = FiscalUnit(
        location_code="BER",
        scheme="de-fiskaly",
        country="DE",
        options={"tss_id": str(uuid.uuid4()), "client_id": unit.options["client_id"]},
    )
    with pytest.raises(InvalidRequest) as tss:
        await signer.finish(unit=unknown_tss, doc=doc)
    assert tss.value.code == "fiskaly_refused"

    async with httpx.AsyncClient() as http:
        wrong = FiskalySigner(http, fiskaly.url, fiskaly.api_key, "not-the-secret", None)
        with pytest.raises(InvalidRequest) as auth:
            await wrong.finish(unit, doc)
    assert auth.value.code == "fiskaly_auth_failed"


def test_the_fake_signs_exactly_the_documented_bytes(fiskaly: FakeFiskalyServer) -> None:
    """The fake's own HTTP flow (TSS set-up with PUK and PIN, client, transaction) and the
    message it signs, rebuilt from its answer."""
    with httpx.Client(base_url=f"{fiskaly.url}/api/v2") as c:
        token = c.post(
            "/auth", json={"api_key": fiskaly.api_key, "api_secret": fiskaly.api_secret}
        ).json()["access_token"]
        h = {"Authorization": f"Bearer {token}"}
        tss, client, tx = (str(uuid.uuid4()) for _ in range(3))
        puk = c.put(f"/tss/{tss}", json={}, headers=h).json()["admin_puk"]
        assert c.patch(f"/tss/{tss}", json={"state": "UNINITIALIZED"}, headers=h).is_success
        body = {"admin_puk": puk, "new_admin_pin": "246810"}
        assert c.patch(f"/tss/{tss}/admin", json=body, headers=h).is_success
        assert c.post(f"/tss/{tss}/admin/auth", json={"admin_pin": "246810"}, headers=h)
        assert c.patch(f"/tss/{tss}", json={"state": "INITIALIZED"}, headers=h).is_success
        c.put(f"/tss/{tss}/client/{client}", json={"serial_number": "K1"}, headers=h)
        start = {"state": "ACTIVE", "client_id": client}
        c.put(f"/tss/{tss}/tx/{tx}", params={"tx_revision": 1}, json=start, headers=h)
        receipt = {
            "receipt_type": "RECEIPT",
            "amounts_per_vat_rate": [{"vat_rate": "NULL", "amount": "2.50"}],
            "amounts_per_payment_type": [{"payment_type": "CASH", "amount": "2.50"}],
        }
        finish = {
            "state": "FINISHED",
            "client_id": client,
            "schema": {"standard_v1": {"receipt": receipt}},
        }
        done = c.put(f"/tss/{tss}/tx/{tx}", params={"tx_revision": 2}, json=finish, headers=h)
        assert done.status_code == 200
        again = c.put(f"/tss/{tss}/tx/{tx}", params={"tx_revision": 2}, json=finish, headers=h)
        assert again.status_code == 409 and again.json()["code"] == "E_TX_ALREADY_FINISHED"
        assert c.get(f"/tss/{tss}").status_code == 401  # no token
    t = done.json()
    message = signed_message(
        operation="finishTransaction",
        tss_serial=t["tss_serial_number"],
        client_serial="K1",
        number=t["number"],
        signature_counter=t["signature"]["counter"],
        log_time=t["log"]["timestamp"],
        process_type="Kassenbeleg-V1",
        process_data="Beleg^0.00_0.00_0.00_0.00_2.50^2.50:Bar",
    )
    assert verify_signature(t["signature"]["public_key"], message, t["signature"]["value"])
    assert t["signature"]["counter"] == 2 and t["number"] == 1
