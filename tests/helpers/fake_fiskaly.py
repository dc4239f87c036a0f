"""FakeFiskalyServer: a local stand-in for fiskaly SIGN DE (KassenSichV API v2), tests only.

It answers, on 127.0.0.1 and an ephemeral port, the paths and shapes of fiskaly's API reference
(https://developer.fiskaly.com/api/kassensichv/v2), all under `/api/v2`:

- `POST /auth` with `{"api_key", "api_secret"}` (or `{"refresh_token"}`) -> `{"access_token",
  "access_token_expires_in", "access_token_expires_at", "refresh_token", ...}`; every other call
  needs `Authorization: Bearer <access_token>` (401 otherwise).
- TSS: `PUT /tss/{tss_id}` (state CREATED, answers `admin_puk` once), `PATCH /tss/{tss_id}`
  (state UNINITIALIZED / INITIALIZED / DISABLED), `PATCH /tss/{tss_id}/admin` (admin PIN from the
  PUK), `POST /tss/{tss_id}/admin/auth`, `GET /tss/{tss_id}`.
- Clients: `PUT /tss/{tss_id}/client/{client_id}` (`{"serial_number"}`), `GET` the same path.
- Transactions: `PUT /tss/{tss_id}/tx/{tx_id}?tx_revision=N` with `{"state": ACTIVE | FINISHED |
  CANCELLED, "client_id", "schema"?}` and `GET /tss/{tss_id}/tx/{tx_id}`. Revision 1 must be
  ACTIVE (it starts the transaction and gives it its `number`); each next PUT must carry
  `latest_revision + 1` and a FINISHED / CANCELLED transaction takes no more revisions: any other
  revision is `409` `{"status_code": 409, "error": "Conflict", "code": "E_TX_REVISION_CONFLICT"
  | "E_TX_ALREADY_FINISHED", "message"}` (read the transaction and carry on from its state).
  Errors always have fiskaly's shape `{status_code, error, code, message}`.

Every revision is a TSE log message and is signed with a REAL key pair of its TSS (ECDSA over
P-256 with SHA-256, `signature.algorithm` "ecdsa-plain-SHA256": the signature is r || s, 32 bytes
each, big-endian, base64). The per-TSS `signature_counter` goes up by one for each signature and
the per-TSS `transaction_counter` gives each started transaction its `number`. The bytes signed
are exactly `signed_message(...)` below: the UTF-8 of

    "{operation};{tss_serial};{client_serial};{number};{signature_counter};{log_time};
     {process_type};{process_data}"        (one line, no spaces)

with operation startTransaction / updateTransaction / finishTransaction, log_time the unix
seconds of the revision (`log.timestamp`, = `time_end` of a finished transaction), and process
type / data as fiskaly derives them from the schema (`standard_v1.receipt` -> "Kassenbeleg-V1" and
"Beleg^<gross NORMAL>_<REDUCED_1>_<SPECIAL_RATE_1>_<SPECIAL_RATE_2>_<NULL>^<amount>:Bar_<amount>:
Unbar"; `raw` -> its own process_type and its base64 process_data, decoded; start: both empty).
A real TSE signs the BSI TR-03151 ASN.1 log message instead; the fake keeps the same fields in a
flat form that a test can rebuild. `verify_signature(public_key_b64, message, signature_b64)`
checks one; `verify_fiscal_fields(signature.fields)` checks a FiscalSignature of FiskalySigner
(its finishTransaction signature, with the public key it carries); the TSS's `public_key`
(base64 of the uncompressed X9.62 point) is in `GET /tss/{id}`, in each transaction's
`signature.public_key` and in `server.public_key_b64(tss_id)`. The TSS `serial_number` is the hex
SHA-256 of that public key (as BSI TR-03153 defines it). A finished transaction answers
`qr_code_data`, the DSFinV-K / TR-03153 QR content
"V0;<client serial>;<process type>;<process data>;<number>;<signature counter>;<start ISO>;
<log time ISO>;ecdsa-plain-SHA256;unixTime;<signature>;<public key>".

How to use it (e.g. an end-to-end Berlin sale):

    with FakeFiskalyServer() as fiskaly:              # or fiskaly = FakeFiskalyServer().start()
        tss_id, client_id = fiskaly.provision()       # an INITIALIZED TSS + a REGISTERED client
        signer = FiskalySigner(httpx.AsyncClient(), fiskaly.url, fiskaly.api_key,
                               fiskaly.api_secret, db)
        unit options for scheme "de-fiskaly": {"tss_id": tss_id, "client_id": client_id}
        (store them in fiscal_units.options; worker settings TILLFLOW_FISKALY_BASE_URL =
        fiskaly.url, TILLFLOW_FISKALY_API_KEY / _API_SECRET = fiskaly.api_key / .api_secret)

Faults, for "signature pending" and retry tests: `fiskaly.unavailable = True` answers every call
503 `E_SERVICE_UNAVAILABLE` until set back; `fiskaly.delay_s = 2.0` holds every answer that long
(a hang a client times out on); `fiskaly.fail_next("PUT", "/tx/", 503, times=1)` fails only the
next matching calls (from FakeHttpServer); `fiskaly.expire_tokens()` makes the next call 401 so
the client must authenticate again. `fiskaly.transactions[(tss_id, tx_id)]` is what it holds.
Stop it with `stop()` (or leave the `with`).
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from helpers.fake_http import FakeHttpServer, Reply, Seen

ALGORITHM = "ecdsa-plain-SHA256"
TIME_FORMAT = "unixTime"
VAT_RATES = ("NORMAL", "REDUCED_1", "SPECIAL_RATE_1", "SPECIAL_RATE_2", "NULL")
RECEIPT_TYPES = {  # fiskaly receipt_type -> DSFinV-K Vorgangstyp
    "RECEIPT": "Beleg",
    "TRAINING": "AVTraining",
    "TRANSFER": "AVTransfer",
    "ORDER": "AVBestellung",
    "CANCELLATION": "AVBelegstorno",
    "ABORT": "AVBelegabbruch",
    "BENEFIT_IN_KIND": "AVSachbezug",
    "INVOICE": "AVRechnung",
    "OTHER": "AVSonstige",
}
OPERATIONS = {"ACTIVE": "updateTransaction", "FINISHED": "finishTransaction"}
API = "/api/v2"
UUID_RE = r"[0-9a-fA-F-]{36}"


def signed_message(
    *,
    operation: str,
    tss_serial: str,
    client_serial: str,
    number: int,
    signature_counter: int,
    log_time: int,
    process_type: str,
    process_data: str,
) -> bytes:
    """Exactly the bytes the fake TSE signs for one log message (see the module docstring)."""
    return ";".join(
        [
            operation,
            tss_serial,
            client_serial,
            str(number),
            str(signature_counter),
            str(log_time),
            process_type,
            process_data,
        ]
    ).encode()


def verify_signature(public_key_b64: str, message: bytes, signature_b64: str) -> bool:
    """True when `signature_b64` (plain r || s) is a P-256/SHA-256 signature of `message` by the
    key `public_key_b64` (uncompressed X9.62 point)."""
    key = ec.EllipticCurvePublicKey.from_encoded_point(
        ec.SECP256R1(), base64.b64decode(public_key_b64)
    )
    raw = base64.b64decode(signature_b64)
    if len(raw) != 64:
        return False
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    try:
        key.verify(der, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def verify_fiscal_fields(fields: Mapping[str, str] | Iterable[tuple[str, str]]) -> bool:
    """Check the finishTransaction signature a FiscalSignature's `fields` (FiskalySigner) carry:
    rebuild `signed_message` from tse_serial, client_serial, transaction_number,
    signature_counter, log_time, process_type and process_data, and verify `signature` with
    `public_key`."""
    f = dict(fields)
    message = signed_message(
        operation="finishTransaction",
        tss_serial=f["tse_serial"],
        client_serial=f["client_serial"],
        number=int(f["transaction_number"]),
        signature_counter=int(f["signature_counter"]),
        log_time=int(f["log_time"]),
        process_type=f["process_type"],
        process_data=f["process_data"],
    )
    return verify_signature(f["public_key"], message, f["signature"])


def iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _error(status: int, error: str, code: str, message: str) -> Reply:
    return Reply(status, {"status_code": status, "error": error, "code": code, "message": message})


def _amount(value: Any) -> Decimal:
    if not isinstance(value, str) or not re.fullmatch(r"-?\d+(\.\d{1,5})?", value):
        raise ValueError(f"amount {value!r} is not a decimal string")
    try:
        return Decimal(value)
    except InvalidOperation as err:  # pragma: no cover - the regex already refuses these
        raise ValueError(str(err)) from err


def process_of(schema: Any) -> tuple[str, str]:
    """(process_type, process_data) as fiskaly derives them from a transaction's schema."""
    if not isinstance(schema, dict) or not schema:
        return "", ""
    if "raw" in schema:
        raw = schema["raw"]
        if not isinstance(raw, dict) or not isinstance(raw.get("process_type"), str):
            raise ValueError("schema.raw needs process_type and process_data")
        try:  # fiskaly takes raw process data base64-encoded; the TSE signs the bytes
            data = base64.b64decode(str(raw.get("process_data", "")), validate=True).decode()
        except ValueError as err:
            raise ValueError("schema.raw.process_data must be base64 of UTF-8 text") from err
        return raw["process_type"], data
    receipt = (schema.get("standard_v1") or {}).get("receipt")
    if not isinstance(receipt, dict):
        raise ValueError("schema.standard_v1.receipt is required")
    kind = RECEIPT_TYPES.get(str(receipt.get("receipt_type")))
    if kind is None:
        raise ValueError(f"receipt_type {receipt.get('receipt_type')!r} is not one of fiskaly's")
    per_rate = dict.fromkeys(VAT_RATES, Decimal(0))
    for row in receipt.get("amounts_per_vat_rate") or []:
        rate = row.get("vat_rate") if isinstance(row, dict) else None
        if rate not in per_rate:
            raise ValueError(f"vat_rate {rate!r} is not one of {', '.join(VAT_RATES)}")
        per_rate[rate] += _amount(row.get("amount"))
    payments = []
    for row in receipt.get("amounts_per_payment_type") or []:
        kind_ = row.get("payment_type") if isinstance(row, dict) else None
        if kind_ not in ("CASH", "NON_CASH"):
            raise ValueError(f"payment_type {kind_!r} is not CASH or NON_CASH")
        text = f"{_amount(row.get('amount')):.2f}:{'Bar' if kind_ == 'CASH' else 'Unbar'}"
        currency = row.get("currency_code") or "EUR"
        payments.append(text if currency == "EUR" else f"{text}:{currency}")
    amounts = "_".join(f"{per_rate[r]:.2f}" for r in VAT_RATES)
    return "Kassenbeleg-V1", f"{kind}^{amounts}^{'_'.join(payments)}"


class _Tss:
    def __init__(self, tss_id: str) -> None:
        self.id = tss_id
        self.key = ec.generate_private_key(ec.SECP256R1())
        point = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        self.public_key = base64.b64encode(point).decode()
        self.serial = hashlib.sha256(point).hexdigest()
        self.state = "CREATED"
        self.admin_puk = secrets.token_hex(5)
        self.admin_pin = ""
        self.admin_authed = False
        self.signature_counter = 0
        self.transaction_counter = 0
        self.created = int(time.time())
        self.clients: dict[str, dict[str, Any]] = {}

    def sign(self, message: bytes) -> str:
        r, s = decode_dss_signature(self.key.sign(message, ec.ECDSA(hashes.SHA256())))
        return base64.b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")).decode()

    def body(self) -> dict[str, Any]:
        return {
            "_id": self.id,
            "_type": "TSS",
            "_env": "TEST",
            "_version": "2.0.0",
            "serial_number": self.serial,
            "public_key": self.public_key,
            "certificate": "",
            "signature_algorithm": ALGORITHM,
            "signature_timestamp_format": TIME_FORMAT,
            "transaction_data_encoding": "UTF-8",
            "state": self.state,
            "signature_counter": str(self.signature_counter),
            "transaction_counter": str(self.transaction_counter),
            "number_registered_clients": len(self.clients),
            "max_number_registered_clients": 199,
            "time_creation": self.created,
            "description": "",
            "metadata": {},
        }


class FakeFiskalyServer(FakeHttpServer):
    """fiskaly SIGN DE v2: auth, TSS, clients, transactions with revisions, real signatures."""

    def __init__(
        self, api_key: str = "test_fiskaly_api_key", api_secret: str = "test_fiskaly_api_secret"
    ) -> None:
        super().__init__()
        self.api_key = api_key
        self.api_secret = api_secret
        self.unavailable = False
        self.delay_s = 0.0
        self.tokens: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self.tss: dict[str, _Tss] = {}
        self.transactions: dict[tuple[str, str], dict[str, Any]] = {}
        self._revisions: dict[tuple[str, str], list[dict[str, Any]]] = {}
        t = f"{API}/tss/(?P<tss>{UUID_RE})"
        self.route("POST", f"{API}/auth", self._auth)
        self.route("PUT", t, self._put_tss)
        self.route("PATCH", t, self._patch_tss)
        self.route("GET", t, self._get_tss)
        self.route("PATCH", f"{t}/admin", self._set_admin_pin)
        self.route("POST", f"{t}/admin/auth", self._admin_auth)
        self.route("PUT", f"{t}/client/(?P<client>{UUID_RE})", self._put_client)
        self.route("GET", f"{t}/client/(?P<client>{UUID_RE})", self._get_client)
        self.route("PUT", f"{t}/tx/(?P<tx>{UUID_RE})", self._put_tx)
        self.route("GET", f"{t}/tx/(?P<tx>{UUID_RE})", self._get_tx)

    # ---- the server ------------------------------------------------------------------------

    def start(self) -> FakeFiskalyServer:
        owner = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _handle(self) -> None:
                if owner.delay_s:
                    time.sleep(owner.delay_s)
                owner._dispatch(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        server = self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        # a short poll interval: stop() returns at once (tests start one server each)
        self._thread = threading.Thread(
            target=lambda: server.serve_forever(poll_interval=0.05), daemon=True
        )
        self._thread.start()
        return self

    def __enter__(self) -> FakeFiskalyServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def not_found(self) -> Reply:
        return _error(404, "Not Found", "E_NOT_FOUND", "Resource not found")

    def authorized(self, seen: Seen) -> Reply | None:
        if self.unavailable:
            return _error(503, "Service Unavailable", "E_SERVICE_UNAVAILABLE", "Please retry later")
        if seen.path == f"{API}/auth":
            return None
        auth = seen.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
            return _error(401, "Unauthorized", "E_UNAUTHORIZED", "Invalid or expired token")
        return None

    # ---- for tests -------------------------------------------------------------------------

    def provision(
        self, tss_id: str = "", client_id: str = "", client_serial: str = ""
    ) -> tuple[str, str]:
        """An INITIALIZED TSS with one REGISTERED client, without HTTP: (tss_id, client_id)."""
        tss_id = tss_id or str(uuid.uuid4())
        client_id = client_id or str(uuid.uuid4())
        with self.lock:
            tss = self.tss.setdefault(tss_id, _Tss(tss_id))
            tss.state = "INITIALIZED"
            tss.clients.setdefault(client_id, self._client_body(tss, client_id, client_serial))
        return tss_id, client_id

    def public_key_b64(self, tss_id: str) -> str:
        return self.tss[tss_id].public_key

    def signature_counter(self, tss_id: str) -> int:
        return self.tss[tss_id].signature_counter

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    # ---- auth ------------------------------------------------------------------------------

    def _auth(self, seen: Seen, _: re.Match[str]) -> Reply:
        body = seen.body if isinstance(seen.body, dict) else {}
        refresh = body.get("refresh_token")
        if refresh is not None:
            if refresh not in self.refresh_tokens:
                return _error(401, "Unauthorized", "E_UNAUTHORIZED", "Invalid refresh token")
        elif body.get("api_key") != self.api_key or body.get("api_secret") != self.api_secret:
            return _error(401, "Unauthorized", "E_UNAUTHORIZED", "Invalid API key or secret")
        access, new_refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self.tokens.add(access)
        self.refresh_tokens.add(new_refresh)
        now = int(time.time())
        return Reply(
            200,
            {
                "access_token": access,
                "access_token_claims": {"env": "TEST", "organization_id": str(uuid.uuid4())},
                "access_token_expires_in": 300,
                "access_token_expires_at": now + 300,
                "refresh_token": new_refresh,
                "refresh_token_expires_in": 7200,
                "refresh_token_expires_at": now + 7200,
            },
        )

    # ---- TSS and clients -------------------------------------------------------------------

    def _put_tss(self, seen: Seen, m: re.Match[str]) -> Reply:
        if m["tss"] in self.tss:
            return _error(409, "Conflict", "E_TSS_CONFLICT", "TSS already exists")
        tss = self.tss[m["tss"]] = _Tss(m["tss"])
        return Reply(200, {**tss.body(), "admin_puk": tss.admin_puk})

    def _get_tss(self, seen: Seen, m: re.Match[str]) -> Reply:
        tss = self.tss.get(m["tss"])
        return Reply(200, tss.body()) if tss else self.not_found()

    def _patch_tss(self, seen: Seen, m: re.Match[str]) -> Reply:
        tss = self.tss.get(m["tss"])
        if tss is None:
            return self.not_found()
        state = (seen.body or {}).get("state") if isinstance(seen.body, dict) else None
        allowed = {
            "UNINITIALIZED": {"CREATED", "UNINITIALIZED"},
            "INITIALIZED": {"UNINITIALIZED", "INITIALIZED"},
            "DISABLED": {"CREATED", "UNINITIALIZED", "INITIALIZED", "DISABLED"},
        }
        if state not in allowed or tss.state not in allowed[state]:
            return _error(400, "Bad Request", "E_TSS_STATE", f"cannot go {tss.state} -> {state}")
        if state == "INITIALIZED" and tss.state != "INITIALIZED" and not tss.admin_authed:
            return _error(401, "Unauthorized", "E_ADMIN_NOT_AUTHENTICATED", "admin not signed in")
        tss.state = state
        return Reply(200, tss.body())

    def _set_admin_pin(self, seen: Seen, m: re.Match[str]) -> Reply:
        tss = self.tss.get(m["tss"])
        if tss is None:
            return self.not_found()
        body = seen.body if isinstance(seen.body, dict) else {}
        if body.get("admin_puk") != tss.admin_puk or len(str(body.get("new_admin_pin"))) < 6:
            return _error(400, "Bad Request", "E_ADMIN_PUK", "wrong PUK or PIN too short")
        tss.admin_pin = str(body["new_admin_pin"])
        return Reply(200, None)

    def _admin_auth(self, seen: Seen, m: re.Match[str]) -> Reply:
        tss = self.tss.get(m["tss"])
        if tss is None:
            return self.not_found()
        body = seen.body if isinstance(seen.body, dict) else {}
        if not tss.admin_pin or body.get("admin_pin") != tss.admin_pin:
            return _error(401, "Unauthorized", "E_ADMIN_PIN", "wrong admin PIN")
        tss.admin_authed = True
        return Reply(200, None)

    def _client_body(self, tss: _Tss, client_id: str, serial: str) -> dict[str, Any]:
        return {
            "_id": client_id,
            "_type": "CLIENT",
            "_env": "TEST",
            "_version": "2.0.0",
            "serial_number": serial or f"TILLFLOW-{client_id[:8].upper()}",
            "state": "REGISTERED",
            "tss_id": tss.id,
            "time_creation": int(time.time()),
            "metadata": {},
        }

    def _put_client(self, seen: Seen, m: re.Match[str]) -> Reply:
        tss = self.tss.get(m["tss"])
        if tss is None:
            return self.not_found()
        if tss.state != "INITIALIZED":
            return _error(400, "Bad Request", "E_TSS_NOT_INITIALIZED", "TSS is not initialized")
        if m["client"] in tss.clients:
            return _error(409, "Conflict", "E_CLIENT_CONFLICT", "client already exists")
        body = seen.body if isinstance(seen.body, dict) else {}
        serial = body.get("serial_number")
        if not isinstance(serial, str) or not serial:
            return _error(400, "Bad Request", "E_VALIDATION", "serial_number is required")
        tss.clients[m["client"]] = self._client_body(tss, m["client"], serial)
        return Reply(200, tss.clients[m["client"]])

    def _get_client(self, seen: Seen, m: re.Match[str]) -> Reply:
        tss = self.tss.get(m["tss"])
        client = tss.clients.get(m["client"]) if tss else None
        return Reply(200, client) if client else self.not_found()

    # ---- transactions ----------------------------------------------------------------------

    def _get_tx(self, seen: Seen, m: re.Match[str]) -> Reply:
        key = (m["tss"], m["tx"])
        if key not in self.transactions:
            return self.not_found()
        wanted = seen.query.get("tx_revision")
        if wanted:
            revisions = self._revisions[key]
            n = int(wanted[0]) if wanted[0].isdigit() else 0
            return Reply(200, revisions[n - 1]) if 0 < n <= len(revisions) else self.not_found()
        return Reply(200, self.transactions[key])

    def _put_tx(self, seen: Seen, m: re.Match[str]) -> Reply:
        tss = self.tss.get(m["tss"])
        if tss is None:
            return self.not_found()
        if tss.state != "INITIALIZED":
            return _error(400, "Bad Request", "E_TSS_NOT_INITIALIZED", "TSS is not initialized")
        body = seen.body if isinstance(seen.body, dict) else {}
        rev_text = (seen.query.get("tx_revision") or [""])[0]
        if not rev_text.isdigit() or int(rev_text) < 1:
            return _error(400, "Bad Request", "E_VALIDATION", "tx_revision must be >= 1")
        revision = int(rev_text)
        state = body.get("state")
        if state not in ("ACTIVE", "FINISHED", "CANCELLED"):
            return _error(
                400, "Bad Request", "E_VALIDATION", "state must be ACTIVE|FINISHED|CANCELLED"
            )
        client = tss.clients.get(str(body.get("client_id")))
        if client is None:
            return _error(400, "Bad Request", "E_CLIENT_NOT_FOUND", "client_id is not registered")
        try:
            process_type, process_data = process_of(body.get("schema"))
        except ValueError as err:
            return _error(400, "Bad Request", "E_VALIDATION", str(err))
        key = (tss.id, m["tx"])
        current = self.transactions.get(key)
        if current is None:
            if revision != 1 or state != "ACTIVE":
                return _error(
                    409,
                    "Conflict",
                    "E_TX_REVISION_CONFLICT",
                    "a transaction starts with tx_revision=1 and state ACTIVE",
                )
            tss.transaction_counter += 1
            number, operation = tss.transaction_counter, "startTransaction"
        else:
            if current["state"] != "ACTIVE":
                return _error(
                    409, "Conflict", "E_TX_ALREADY_FINISHED", f"transaction is {current['state']}"
                )
            if revision != current["latest_revision"] + 1:
                return _error(
                    409,
                    "Conflict",
                    "E_TX_REVISION_CONFLICT",
                    f"tx_revision must be {current['latest_revision'] + 1}",
                )
            if client["_id"] != current["client_id"]:
                return _error(400, "Bad Request", "E_CLIENT_MISMATCH", "another client's tx")
            number = int(current["number"])
            operation = "finishTransaction" if state != "ACTIVE" else OPERATIONS[state]
        now = int(time.time())
        tss.signature_counter += 1
        message = signed_message(
            operation=operation,
            tss_serial=tss.serial,
            client_serial=client["serial_number"],
            number=number,
            signature_counter=tss.signature_counter,
            log_time=now,
            process_type=process_type,
            process_data=process_data,
        )
        signature = tss.sign(message)
        tx: dict[str, Any] = {
            "_id": m["tx"],
            "_type": "TRANSACTION",
            "_env": "TEST",
            "_version": "2.0.0",
            "tss_id": tss.id,
            "client_id": client["_id"],
            "client_serial_number": client["serial_number"],
            "tss_serial_number": tss.serial,
            "certificate_serial": tss.serial,
            "number": number,
            "state": state,
            "revision": revision,
            "latest_revision": revision,
            "time_start": current["time_start"] if current else now,
            "schema": body.get("schema") or {},
            "log": {"operation": operation, "timestamp": now, "timestamp_format": TIME_FORMAT},
            "signature": {
                "value": signature,
                "algorithm": ALGORITHM,
                "counter": tss.signature_counter,
                "public_key": tss.public_key,
            },
            "metadata": body.get("metadata") or {},
        }
        if state != "ACTIVE":
            tx["time_end"] = now
            tx["qr_code_data"] = ";".join(
                [
                    "V0",
                    client["serial_number"],
                    process_type,
                    process_data,
                    str(number),
                    str(tss.signature_counter),
                    iso(int(tx["time_start"])),
                    iso(now),
                    ALGORITHM,
                    TIME_FORMAT,
                    signature,
                    tss.public_key,
                ]
            )
        self.transactions[key] = tx
        self._revisions.setdefault(key, []).append(tx)
        return Reply(200, tx)
