"""FakeShippoServer: a local stand-in for Shippo's REST API (https://docs.goshippo.com), tests only.

It answers the calls the Shippo adapter makes with the documented shapes: `Authorization:
ShippoToken <token>` (401 `{"detail": "Invalid token."}`), `POST /shipments/` (a Shipment with
`object_id`, `status` SUCCESS, `address_from`, `address_to`, `parcels` and its `rates`: each with
`object_id`, `amount` (a decimal string), `currency`, `provider`, `servicelevel` {`name`,
`token`}, `carrier_account`, `estimated_days`), 400 with per-field messages for an address
without street / city / country, and `POST /transactions/` (a Transaction with `status` SUCCESS,
`tracking_number`, `tracking_url_provider`, `label_url`, `messages`). The label URL is served by
the same server (a PDF or ZPL body).
"""

from __future__ import annotations

import itertools
import re
from http.server import BaseHTTPRequestHandler
from typing import Any

from helpers.fake_http import FakeHttpServer, Reply, Seen

RATES = (  # provider, service level token, name, amount, days
    ("DHL Germany", "dhl_germany_paket", "DHL Paket", "5.49", 2),
    ("DHL Express", "dhl_express_domestic_express_doc", "Domestic Express", "18.90", 1),
    ("Deutsche Post", "deutsche_post_warenpost", "Warenpost", "3.99", 3),
)


class FakeShippoServer(FakeHttpServer):
    def __init__(self, token: str = "shippo_test_0123456789abcdef") -> None:
        super().__init__()
        self.token = token
        self.ids = itertools.count(1)
        self.shipments: dict[str, dict[str, Any]] = {}
        self.rates: dict[str, dict[str, Any]] = {}
        self.transactions: dict[str, dict[str, Any]] = {}
        self.route("POST", "/shipments/", self._shipment)
        self.route("POST", "/transactions/", self._transaction)

    def authorized(self, seen: Seen) -> Reply | None:
        if seen.path.startswith("/labels/"):
            return None  # label URLs are signed links, no token
        if seen.headers.get("authorization") != f"ShippoToken {self.token}":
            return Reply(401, {"detail": "Invalid token."})
        return None

    def _dispatch(self, h: BaseHTTPRequestHandler) -> None:
        match = re.match(r"^/labels/(?P<id>[0-9a-f]+)\.(?P<ext>pdf|zpl)$", h.path)
        if h.command == "GET" and match:
            tx = self.transactions.get(match["id"])
            data = (
                b"%PDF-1.4 shippo test label " + tx["tracking_number"].encode()
                if tx and match["ext"] == "pdf"
                else (b"^XA^FD" + tx["tracking_number"].encode() + b"^FS^XZ" if tx else b"")
            )
            h.send_response(200 if tx else 404)
            h.send_header(
                "Content-Type", "application/pdf" if match["ext"] == "pdf" else "text/plain"
            )
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
            return
        super()._dispatch(h)

    def _oid(self) -> str:
        return f"{next(self.ids):032x}"

    def _shipment(self, seen: Seen, _: re.Match[str]) -> Reply:
        body = seen.body if isinstance(seen.body, dict) else {}
        errors: dict[str, list[str]] = {}
        for side in ("address_from", "address_to"):
            a = body.get(side)
            if not isinstance(a, dict):
                errors[side] = ["This field is required."]
                continue
            for field in ("street1", "city", "country"):
                if not a.get(field):
                    errors.setdefault(side, []).append(f"{field}: This field may not be blank.")
        parcels = body.get("parcels")
        if not isinstance(parcels, list) or not parcels:
            errors["parcels"] = ["This field is required."]
        if errors:
            return Reply(400, errors)
        shipment_id = self._oid()
        rates = []
        for provider, token, name, amount, days in RATES:
            rate_id = self._oid()
            rate: dict[str, Any] = {
                "object_id": rate_id,
                "object_owner": "shop@example.test",
                "shipment": shipment_id,
                "amount": amount,
                "currency": "EUR",
                "amount_local": amount,
                "currency_local": "EUR",
                "provider": provider,
                "servicelevel": {"name": name, "token": token, "terms": ""},
                "carrier_account": f"ca_{token[:12]}",
                "estimated_days": days,
                "attributes": [],
                "test": True,
            }
            self.rates[rate_id] = rate
            rates.append(rate)
        shipment = {
            "object_id": shipment_id,
            "status": "SUCCESS",
            "address_from": body["address_from"],
            "address_to": body["address_to"],
            "parcels": parcels,
            "metadata": body.get("metadata", ""),
            "rates": rates,
            "messages": [],
            "test": True,
        }
        self.shipments[shipment_id] = shipment
        return Reply(201, shipment)

    def _transaction(self, seen: Seen, _: re.Match[str]) -> Reply:
        body = seen.body if isinstance(seen.body, dict) else {}
        rate = self.rates.get(str(body.get("rate") or ""))
        if rate is None:
            return Reply(400, {"rate": ["Rate not found."]})
        tx_id = self._oid()
        ext = "zpl" if body.get("label_file_type") == "ZPLII" else "pdf"
        tracking = f"SHIPPO{int(tx_id, 16):012d}"
        tx = {
            "object_id": tx_id,
            "object_state": "VALID",
            "status": "SUCCESS",
            "rate": rate["object_id"],
            "tracking_number": tracking,
            "tracking_status": "UNKNOWN",
            "tracking_url_provider": f"https://www.dhl.de/track?piececode={tracking}",
            "label_url": f"{self.url}/labels/{tx_id}.{ext}",
            "commercial_invoice_url": None,
            "metadata": body.get("metadata", ""),
            "messages": [],
            "test": True,
        }
        self.transactions[tx_id] = tx
        return Reply(201, tx)
