"""The German fiscal signer (issue 20): fiskaly SIGN DE, a cloud TSE (KassenSichV, §146a AO).

Scheme "de-fiskaly". A location's fiscal unit names its TSS and its till's client in
`options` (`tss_id`, `client_id`, both UUIDs that fiskaly knows); the API key and secret are the
worker's (settings `fiskaly_api_key` / `fiskaly_api_secret`). The calls follow fiskaly's API
reference (https://developer.fiskaly.com/api/kassensichv/v2):

- `POST /api/v2/auth` trades the key and secret for a bearer token, kept per signer and fetched
  again when an answer is 401;
- a document is one TSE transaction `PUT /api/v2/tss/{tss_id}/tx/{tx_id}?tx_revision=N`: revision
  1 state ACTIVE (started), then state FINISHED with the `standard_v1` receipt schema (amounts
  per VAT rate NORMAL / REDUCED_1 / SPECIAL_RATE_1 / SPECIAL_RATE_2 / NULL and per payment type
  CASH / NON_CASH, decimal strings), or CANCELLED for an abandoned sale;
- the tx_id is a UUID5 of (document_id, kind), so a retried activity never opens a second
  transaction: a 409 on a PUT (the revision exists already) is answered by reading the
  transaction (`GET`) and carrying on from its state; a FINISHED transaction is read back as it
  is and gives the same signature again.

A return is a RECEIPT with negative amounts, a void a CANCELLATION ("AVBelegstorno") with negative
amounts; a closing (Z report) is recorded as its own transaction with the `raw` schema, process
type "SonstigerVorgang" (see docs/fiscal-germany.md for why).

Errors: a network failure, a timeout, a 429 or a 5xx is `FiskalyUnavailable` (a plain exception:
the activity retries it); a 4xx that will never succeed is an `InvalidRequest` / `Conflict` with a
`fiskaly_*` code.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from contracts.fiscal import (
    FiscalClosing,
    FiscalDocument,
    FiscalExport,
    FiscalExportRequest,
    FiscalScheme,
    FiscalSignature,
    TenderAmount,
    VatAmount,
)
from db.session import Database
from domain.errors import Conflict, InvalidRequest
from domain.money import exponent
from integrations.dsfinvk_export import build_export
from integrations.fiscal import FiscalUnit

# fiskaly's vat_rate names for Germany's rates (basis points): the five rates of the DSFinV-K.
VAT_RATE_NAMES: dict[int, str] = {
    1900: "NORMAL",
    700: "REDUCED_1",
    1070: "SPECIAL_RATE_1",
    550: "SPECIAL_RATE_2",
    0: "NULL",
}
VAT_ORDER = ("NORMAL", "REDUCED_1", "SPECIAL_RATE_1", "SPECIAL_RATE_2", "NULL")
RECEIPT_TYPES = {"sale": "RECEIPT", "return": "RECEIPT", "void": "CANCELLATION"}
VORGANGSTYP = {"RECEIPT": "Beleg", "CANCELLATION": "AVBelegstorno"}
PROCESS_TYPE = "Kassenbeleg-V1"
CLOSING_PROCESS_TYPE = "SonstigerVorgang"
LOG_TIME_FORMAT = "unixTime"
# every tx_id is uuid5(TX_NAMESPACE, "<document_id>:<kind>")
TX_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://tillflow.invalid/fiscal/fiskaly/tx")


class FiskalyUnavailable(RuntimeError):
    """fiskaly could not be reached or answered 5xx / 429: retry later (not a DomainError)."""


def tx_id(document_id: str, kind: str) -> str:
    return str(uuid.uuid5(TX_NAMESPACE, f"{document_id}:{kind}"))


def decimal_amount(minor: int, currency: str) -> str:
    """Integer minor units as fiskaly's decimal string (1190 EUR -> "11.90")."""
    places = exponent(currency)
    return f"{Decimal(minor).scaleb(-places):.{places}f}"


def vat_rate_name(rate_bp: int) -> str:
    try:
        return VAT_RATE_NAMES[rate_bp]
    except KeyError:
        raise InvalidRequest(
            f"VAT rate {rate_bp / 100:g} % is none of the German rates fiskaly signs "
            "(19, 7, 10.7, 5.5, 0 %).",
            code="fiskaly_vat_rate_unknown",
        ) from None


def receipt_schema(
    receipt_type: str, currency: str, vat: Sequence[VatAmount], tenders: Sequence[TenderAmount]
) -> dict[str, Any]:
    """The `standard_v1` receipt of a document: gross amounts per fiskaly VAT rate and per
    payment type (cash is CASH, every other tender NON_CASH), as decimal strings."""
    per_rate: dict[str, int] = {}
    for v in vat:
        name = vat_rate_name(v.rate_bp)
        per_rate[name] = per_rate.get(name, 0) + v.gross
    per_payment: dict[str, int] = {}
    for t in tenders:
        if t.amount:
            kind = "CASH" if t.kind == "cash" else "NON_CASH"
            per_payment[kind] = per_payment.get(kind, 0) + t.amount
    receipt: dict[str, Any] = {
        "receipt_type": receipt_type,
        "amounts_per_vat_rate": [
            {"vat_rate": name, "amount": decimal_amount(per_rate[name], currency)}
            for name in VAT_ORDER
            if name in per_rate
        ],
        "amounts_per_payment_type": [
            {
                "payment_type": kind,
                "amount": decimal_amount(amount, currency),
                **({} if currency == "EUR" else {"currency_code": currency}),
            }
            for kind, amount in sorted(per_payment.items())
        ],
    }
    return {"standard_v1": {"receipt": receipt}}


def process_data(schema: dict[str, Any]) -> str:
    """The DSFinV-K processData of a Kassenbeleg-V1 (what the TSE signs and the QR code shows):
    "<Vorgangstyp>^<gross per rate, 5 amounts>^<amount>:Bar|Unbar[:currency]_..."."""
    receipt = schema["standard_v1"]["receipt"]
    per_rate = dict.fromkeys(VAT_ORDER, Decimal(0))
    for row in receipt["amounts_per_vat_rate"]:
        per_rate[row["vat_rate"]] += Decimal(row["amount"])
    payments = []
    for row in receipt["amounts_per_payment_type"]:
        text = f"{Decimal(row['amount']):.2f}:{'Bar' if row['payment_type'] == 'CASH' else 'Unbar'}"
        payments.append(f"{text}:{row['currency_code']}" if row.get("currency_code") else text)
    amounts = "_".join(f"{per_rate[r]:.2f}" for r in VAT_ORDER)
    return (
        f"{VORGANGSTYP.get(receipt['receipt_type'], 'AVSonstige')}^{amounts}^{'_'.join(payments)}"
    )


def iso_utc(unix: int) -> str:
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def qr_content(tx: dict[str, Any], process_type: str, data: str) -> str:
    """The DSFinV-K / BSI TR-03153 QR code of a finished transaction (fiskaly's qr_code_data
    when it sent one)."""
    given = tx.get("qr_code_data")
    if isinstance(given, str) and given.startswith("V0;"):
        return given
    sig = tx.get("signature") or {}
    return ";".join(
        [
            "V0",
            str(tx.get("client_serial_number", "")),
            process_type,
            data,
            str(tx.get("number", "")),
            str(sig.get("counter", "")),
            iso_utc(int(tx.get("time_start") or 0)),
            iso_utc(int(tx.get("time_end") or 0)),
            str(sig.get("algorithm", "")),
            LOG_TIME_FORMAT,
            str(sig.get("value", "")),
            str(sig.get("public_key", "")),
        ]
    )


def signature_of(
    document_id: str, tx: dict[str, Any], process_type: str, data: str
) -> FiscalSignature:
    """A finished fiskaly transaction as tillflow keeps and prints it."""
    sig = tx.get("signature") or {}
    qr = qr_content(tx, process_type, data)
    parts = qr.split(";")
    if len(parts) >= 4 and parts[2]:  # what the TSE really signed, as fiskaly reports it
        process_type, data = parts[2], parts[3]
    log = tx.get("log") or {}
    start, end = int(tx.get("time_start") or 0), int(tx.get("time_end") or 0)
    fields = (
        ("tse_serial", str(tx.get("tss_serial_number", ""))),
        ("client_serial", str(tx.get("client_serial_number", ""))),
        ("tss_id", str(tx.get("tss_id", ""))),
        ("client_id", str(tx.get("client_id", ""))),
        ("tx_id", str(tx.get("_id", ""))),
        ("transaction_number", str(tx.get("number", ""))),
        ("signature_counter", str(sig.get("counter", ""))),
        ("time_start", iso_utc(start)),
        ("time_end", iso_utc(end)),
        ("log_time", str(log.get("timestamp", end))),
        ("log_time_format", str(log.get("timestamp_format", LOG_TIME_FORMAT))),
        ("algorithm", str(sig.get("algorithm", ""))),
        ("signature", str(sig.get("value", ""))),
        ("public_key", str(sig.get("public_key", ""))),
        ("process_type", process_type),
        ("process_data", data),
        ("certificate_serial", str(tx.get("certificate_serial", ""))),
    )
    f = dict(fields)
    receipt_lines = (
        f"TSE-Seriennummer: {f['tse_serial']}",
        f"Kassen-Seriennummer: {f['client_serial']}",
        f"TSE-Transaktion: {f['transaction_number']}",
        f"TSE-Signaturzähler: {f['signature_counter']}",
        f"TSE-Start: {f['time_start']}",
        f"TSE-Ende: {f['time_end']}",
        f"TSE-Zeitformat: {f['log_time_format']}",
        f"TSE-Algorithmus: {f['algorithm']}",
        f"TSE-Signatur (Prüfwert): {f['signature']}",
    )
    return FiscalSignature(
        document_id=document_id,
        scheme="de-fiskaly",
        status="signed",
        receipt_lines=receipt_lines,
        qr=qr,
        fields=fields,
    )


def _error_text(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:300] or str(resp.status_code)
    if isinstance(body, dict):
        return f"{body.get('code', '')} {body.get('message', '')}".strip() or str(body)[:300]
    return str(body)[:300]


class FiskalySigner:
    """fiskaly SIGN DE behind the FiscalSigner Protocol (integrations/fiscal.py)."""

    scheme: FiscalScheme = "de-fiskaly"

    def __init__(
        self,
        http: httpx.AsyncClient | None,
        base_url: str,
        api_key: str,
        api_secret: str,
        db: Database | None,
        *,
        timeout_s: float = 5.0,
    ) -> None:
        self._http = http or httpx.AsyncClient(timeout=timeout_s)
        self._owns_http = http is None
        self.base_url = base_url.rstrip("/")
        self._api_key, self._api_secret = api_key, api_secret
        self.db = db
        self.timeout_s = timeout_s
        self._token: str = ""
        self._auth_lock = asyncio.Lock()

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    # ---- HTTP ------------------------------------------------------------------------------

    async def _send(
        self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        try:
            resp = await self._http.request(
                method,
                f"{self.base_url}/api/v2{path}",
                json=json,
                params=params,
                headers=headers,
                timeout=self.timeout_s,
            )
        except httpx.HTTPError as err:
            raise FiskalyUnavailable(
                f"fiskaly could not be reached ({method} {path}): {err!r}"
            ) from err
        if resp.status_code >= 500 or resp.status_code == 429:
            raise FiskalyUnavailable(
                f"fiskaly answered {resp.status_code} to {method} {path}: {_error_text(resp)}"
            )
        return resp

    async def _authenticate(self, stale: str) -> None:
        async with self._auth_lock:
            if self._token and self._token != stale:
                return  # another call authenticated meanwhile
            if not self._api_key or not self._api_secret:
                raise FiskalyUnavailable(
                    "fiskaly API key and secret are not configured (TILLFLOW_FISKALY_API_KEY / "
                    "_API_SECRET): German documents stay pending until they are"
                )
            self._token = ""
            resp = await self._send(
                "POST", "/auth", json={"api_key": self._api_key, "api_secret": self._api_secret}
            )
            if resp.status_code != 200:
                raise InvalidRequest(
                    f"fiskaly refused the API key: {_error_text(resp)}", code="fiskaly_auth_failed"
                )
            self._token = str(resp.json()["access_token"])

    async def _call(
        self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None
    ) -> httpx.Response:
        """One authenticated call; a 401 authenticates again once."""
        if not self._token:
            await self._authenticate("")
        token = self._token
        resp = await self._send(method, path, json=json, params=params)
        if resp.status_code == 401:
            await self._authenticate(token)
            resp = await self._send(method, path, json=json, params=params)
        return resp

    def _refused(self, resp: httpx.Response, what: str) -> InvalidRequest:
        return InvalidRequest(
            f"fiskaly refused {what}: {_error_text(resp)}", code="fiskaly_refused"
        )

    # ---- transactions ----------------------------------------------------------------------

    @staticmethod
    def _ids(unit: FiscalUnit) -> tuple[str, str]:
        tss, client = unit.options.get("tss_id", ""), unit.options.get("client_id", "")
        if not tss or not client:
            raise InvalidRequest(
                f"Location {unit.location_code}'s fiscal unit needs options tss_id and client_id "
                "(its fiskaly TSS and client).",
                code="fiskaly_unit_incomplete",
            )
        return tss, client

    async def _get_tx(self, tss: str, tx: str) -> dict[str, Any] | None:
        resp = await self._call("GET", f"/tss/{tss}/tx/{tx}")
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise self._refused(resp, f"reading transaction {tx}")
        body: dict[str, Any] = resp.json()
        return body

    async def _put_tx(
        self, tss: str, tx: str, revision: int, body: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The transaction after the PUT; None when the revision was taken (409): read it."""
        resp = await self._call(
            "PUT", f"/tss/{tss}/tx/{tx}", json=body, params={"tx_revision": revision}
        )
        if resp.status_code == 409:
            return None
        if resp.status_code != 200:
            raise self._refused(resp, f"transaction {tx} (revision {revision})")
        answer: dict[str, Any] = resp.json()
        return answer

    async def _started(self, tss: str, client: str, tx: str) -> dict[str, Any]:
        """The transaction, started (revision 1, ACTIVE) unless it exists already."""
        got = await self._put_tx(tss, tx, 1, {"state": "ACTIVE", "client_id": client})
        if got is None:
            got = await self._get_tx(tss, tx)
        if got is None:  # 409 yet not found: fiskaly is inconsistent for a moment, retry
            raise FiskalyUnavailable(f"transaction {tx} answered 409 but cannot be read")
        return got

    async def _ended(
        self, tss: str, client: str, tx: str, state: str, schema: dict[str, Any]
    ) -> dict[str, Any]:
        """Drive the transaction to `state` (FINISHED / CANCELLED) from wherever it is."""
        current = await self._started(tss, client, tx)
        for _ in range(5):
            if current.get("state") != "ACTIVE":
                return current
            revision = int(current.get("latest_revision") or current.get("revision") or 1) + 1
            body = {"state": state, "client_id": client, "schema": schema}
            got = await self._put_tx(tss, tx, revision, body)
            if got is not None:
                return got
            again = await self._get_tx(tss, tx)
            if again is None:
                raise FiskalyUnavailable(f"transaction {tx} vanished")
            current = again
        raise FiskalyUnavailable(f"transaction {tx} kept changing under us")

    # ---- the Protocol ----------------------------------------------------------------------

    async def start(self, unit: FiscalUnit, doc: FiscalDocument) -> None:
        tss, client = self._ids(unit)
        await self._started(tss, client, tx_id(doc.document_id, doc.kind))

    async def finish(self, unit: FiscalUnit, doc: FiscalDocument) -> FiscalSignature:
        tss, client = self._ids(unit)
        if doc.kind == "closing":
            raise InvalidRequest("A closing is signed with sign_closing.", code="fiskaly_kind")
        schema = receipt_schema(RECEIPT_TYPES[doc.kind], doc.currency, doc.vat, doc.tenders)
        tx = await self._ended(tss, client, tx_id(doc.document_id, doc.kind), "FINISHED", schema)
        if tx.get("state") != "FINISHED":
            raise Conflict(
                f"The TSE transaction of {doc.document_id} was {tx.get('state')}, not finished: "
                "it cannot be signed any more.",
                code="fiskaly_tx_cancelled",
            )
        return signature_of(doc.document_id, tx, PROCESS_TYPE, process_data(schema))

    async def cancel(self, unit: FiscalUnit, doc: FiscalDocument) -> None:
        tss, client = self._ids(unit)
        tx = tx_id(doc.document_id, doc.kind)
        if await self._get_tx(tss, tx) is None:
            return  # never started: nothing to cancel
        # an abandoned sale: "AVBelegabbruch" with nothing paid
        schema = {
            "standard_v1": {
                "receipt": {
                    "receipt_type": "ABORT",
                    "amounts_per_vat_rate": [],
                    "amounts_per_payment_type": [],
                }
            }
        }
        await self._ended(tss, client, tx, "CANCELLED", schema)

    async def sign_closing(self, unit: FiscalUnit, closing: FiscalClosing) -> FiscalSignature:
        tss, client = self._ids(unit)
        text = closing_process_data(closing)
        schema = {
            "raw": {
                "process_type": CLOSING_PROCESS_TYPE,
                "process_data": base64.b64encode(text.encode()).decode(),
            }
        }
        tx = await self._ended(
            tss, client, tx_id(closing.document_id, "closing"), "FINISHED", schema
        )
        sig = signature_of(closing.document_id, tx, CLOSING_PROCESS_TYPE, text)
        return FiscalSignature(
            document_id=sig.document_id,
            scheme=sig.scheme,
            status=sig.status,
            receipt_lines=(f"Kassenabschluss Z-Nr. {closing.z_number}", *sig.receipt_lines),
            qr=sig.qr,
            fields=sig.fields,
        )

    async def export(self, unit: FiscalUnit, request: FiscalExportRequest) -> FiscalExport:
        if self.db is None:
            raise RuntimeError("FiskalySigner.export needs the database (db=...)")
        return build_export(self.db, unit, request)


def closing_process_data(closing: FiscalClosing) -> str:
    """What the TSE signs for a closing: "Kassenabschluss^<Z-Nr>^<gross per rate>^<payments>"."""
    schema = receipt_schema("OTHER", closing.currency, closing.vat, closing.tenders)
    _, amounts, payments = process_data(schema).split("^")
    return f"Kassenabschluss^{closing.z_number}^{amounts}^{payments}"
