"""Shippo (a carrier aggregator, REST API) behind the Carrier Protocol, and its tracking webhooks.

Buying a label is two calls of Shippo's API (https://docs.goshippo.com):
- `POST /shipments/` with `address_from`, `address_to`, `parcels` and `"async": false` answers a
  Shipment whose `rates` are the offers of every connected carrier account;
- `POST /transactions/` with the chosen `rate`'s `object_id`, the `label_file_type` and
  `"async": false` buys it: a Transaction with `status` SUCCESS, the `tracking_number`,
  `tracking_url_provider` and a `label_url` we download (the label's bytes go to the FileStore).

Auth is `Authorization: ShippoToken <API token>`. Tracking updates arrive as `track_updated`
webhooks (`{"event": "track_updated", "data": {Track}}`), verified by `verify_webhook`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from domain.online_orders import ShippingAddress, to_minor
from integrations.carrier import LABEL_FORMATS, CarrierError, Label, LabelRequest

API_URL = "https://api.goshippo.com"
FILE_TYPES = {"pdf": "PDF_A6", "zpl": "ZPLII"}  # our label format -> Shippo's label_file_type
TRACKING_STATUSES = ("PRE_TRANSIT", "TRANSIT", "DELIVERED", "RETURNED", "FAILURE", "UNKNOWN")
SIGNATURE_HEADER = "Shippo-Auth-Signature"


@dataclass(frozen=True)
class Rate:
    object_id: str
    amount: int  # minor units
    currency: str
    provider: str  # "DHL Express"
    service_level: str  # servicelevel.token, e.g. "dhl_express_domestic"
    service_name: str
    carrier_account: str
    estimated_days: int | None


def shippo_address(a: ShippingAddress, email: str = "") -> dict[str, str]:
    """Our address as Shippo's Address object."""
    lines = list(a.lines) + ["", ""]
    out = {
        "name": a.name,
        "street1": lines[0],
        "street2": lines[1],
        "city": a.city,
        "state": a.region,
        "zip": a.postcode,
        "country": a.country,
        "phone": a.phone,
    }
    if email:
        out["email"] = email
    return out


class ShippoCarrier:
    """Labels bought through Shippo: the configured service level (or carrier account), else the
    cheapest rate."""

    name = "shippo"

    def __init__(
        self,
        token: str,
        base_url: str = API_URL,
        *,
        label_format: str = "pdf",
        carrier_account: str = "",
        service_level: str = "",
        timeout_s: float = 20.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if label_format not in LABEL_FORMATS:
            raise ValueError(f"label format must be one of {', '.join(LABEL_FORMATS)}")
        if not token:
            raise ValueError("a Shippo API token is needed")
        self.format = label_format
        self.carrier_account = carrier_account
        self.service_level = service_level
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"ShippoToken {token}", "Accept": "application/json"},
            timeout=timeout_s,
            transport=transport,
        )

    def close(self) -> None:
        self.http.close()

    # ---- the API -----------------------------------------------------------------------------

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One call; a 4xx is the carrier's "no" for good (CarrierError), a 5xx or a network
        failure is raised as is (the activity retries)."""
        resp = self.http.request(method, path, json=body)
        if resp.status_code >= 500 or resp.status_code == 429:
            raise RuntimeError(f"Shippo answered {resp.status_code} to {method} {path}")
        if resp.status_code >= 400:
            raise CarrierError(f"Shippo refused the parcel: {_error_text(resp)}")
        return resp.json()

    def rates(self, req: LabelRequest) -> tuple[str, list[Rate]]:
        """Create the Shipment; its id and its rates (cheapest first)."""
        if req.ship_to is None or not req.ship_to.complete:
            raise CarrierError(
                f"Order {req.order_number} has no complete shipping address (street, city, "
                "country): a carrier label needs one."
            )
        if req.ship_from_address is None or not req.ship_from_address.complete:
            raise CarrierError(
                "The shipping location has no complete address (street, postcode city)."
            )
        shipment = self._call(
            "POST",
            "/shipments/",
            {
                "address_from": shippo_address(req.ship_from_address),
                "address_to": shippo_address(req.ship_to, req.email),
                "parcels": [
                    {
                        "length": str(req.length_cm),
                        "width": str(req.width_cm),
                        "height": str(req.height_cm),
                        "distance_unit": "cm",
                        "weight": str(req.weight_g),
                        "mass_unit": "g",
                    }
                ],
                "metadata": f"order {req.order_number}"[:100],
                "async": False,
            },
        )
        rates = [_rate(r) for r in shipment.get("rates") or [] if isinstance(r, dict)]
        rates.sort(key=lambda r: (r.currency, r.amount))
        return str(shipment.get("object_id") or ""), rates

    def choose(self, rates: list[Rate]) -> Rate:
        """The configured service level / carrier account; else the cheapest rate."""
        fits = [
            r
            for r in rates
            if (not self.service_level or r.service_level == self.service_level)
            and (not self.carrier_account or r.carrier_account == self.carrier_account)
        ]
        if not fits:
            wanted = self.service_level or self.carrier_account
            raise CarrierError(
                f"No carrier offers {wanted} for this parcel."
                if wanted
                else "No carrier offers a rate for this parcel (address, weight or size)."
            )
        return fits[0]

    def buy_label(self, req: LabelRequest) -> Label:
        _, rates = self.rates(req)
        rate = self.choose(rates)
        tx = self._call(
            "POST",
            "/transactions/",
            {
                "rate": rate.object_id,
                "label_file_type": FILE_TYPES[self.format],
                "metadata": req.key[:100],
                "async": False,
            },
        )
        if tx.get("status") != "SUCCESS":
            messages = "; ".join(
                str(m.get("text") or "") for m in tx.get("messages") or [] if isinstance(m, dict)
            )
            raise CarrierError(f"Shippo could not buy the label: {messages or tx.get('status')}")
        label_url = str(tx.get("label_url") or "")
        content = b""
        if label_url:
            got = self.http.get(label_url)
            if got.status_code != 200:
                raise RuntimeError(f"The label at {label_url} answered {got.status_code}")
            content = got.content
        return Label(
            carrier=f"shippo/{rate.provider}"[:64],
            tracking_number=str(tx.get("tracking_number") or ""),
            tracking_url=str(tx.get("tracking_url_provider") or "")[:500],
            path="" if content else label_url[:500],
            format=self.format,
            content=content,
        )


def _error_text(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:300] or str(resp.status_code)
    if isinstance(body, dict):
        if isinstance(body.get("detail"), str):
            return body["detail"]
        return "; ".join(f"{k}: {v}" for k, v in body.items())[:300]
    return str(body)[:300]


def _rate(r: dict[str, Any]) -> Rate:
    currency = str(r.get("currency") or "").upper()
    raw_level = r.get("servicelevel")
    level: dict[str, Any] = raw_level if isinstance(raw_level, dict) else {}
    days = r.get("estimated_days")
    return Rate(
        object_id=str(r.get("object_id") or ""),
        amount=to_minor(r.get("amount"), currency) if len(currency) == 3 else 0,
        currency=currency,
        provider=str(r.get("provider") or ""),
        service_level=str(level.get("token") or ""),
        service_name=str(level.get("name") or ""),
        carrier_account=str(r.get("carrier_account") or ""),
        estimated_days=days if isinstance(days, int) else None,
    )


# ---- tracking webhooks -----------------------------------------------------------------------


class SignatureError(Exception):
    """The webhook is not Shippo's: no valid signature and no valid token."""


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The `Shippo-Auth-Signature` header for a body: `t=<unix time>,v1=<hex HMAC-SHA256 of
    "<t>.<body>" keyed with the webhook secret>`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_webhook(
    body: bytes,
    *,
    secret: str,
    signature: str | None,
    token: str | None,
    tolerance_s: int = 300,
    now: float | None = None,
) -> None:
    """Accept a delivery signed with the HMAC header, or (Shippo's self-generated token option)
    sent to the webhook URL with `?token=<secret>`; raise SignatureError otherwise."""
    if not secret:
        raise SignatureError("Shippo webhooks are not configured (no webhook secret).")
    if signature:
        parts = dict(p.split("=", 1) for p in signature.split(",") if "=" in p)
        try:
            stamp = int(parts.get("t", ""))
        except ValueError:
            raise SignatureError("The signature has no timestamp.") from None
        current = time.time() if now is None else now
        if abs(current - stamp) > tolerance_s:
            raise SignatureError("The signature is too old (or from the future).")
        expected = sign(secret, body, stamp).split("v1=", 1)[1]
        if not hmac.compare_digest(expected, parts.get("v1", "")):
            raise SignatureError("The signature does not match the body.")
        return
    if token and hmac.compare_digest(token.encode(), secret.encode()):
        return
    raise SignatureError("The webhook carries no valid signature or token.")


@dataclass(frozen=True)
class TrackUpdate:
    event_key: str  # dedupe: Shippo's tracking_status object_id, else a digest of the update
    tracking_number: str
    carrier: str  # Shippo's carrier token, e.g. "dhl_express"
    status: str  # one of TRACKING_STATUSES
    status_details: str
    status_date: datetime | None


def track_update(payload: Any) -> TrackUpdate | None:
    """A `track_updated` webhook body as an update; None for other events. ValueError when it is
    not a Track."""
    if not isinstance(payload, dict):
        raise ValueError("expected a JSON object")
    if payload.get("event") != "track_updated":
        return None
    data = payload.get("data")
    if not isinstance(data, dict):
        raise ValueError("data must be a Track object")
    number = str(data.get("tracking_number") or "").strip()
    status_obj = data.get("tracking_status")
    if not number or len(number) > 64 or not isinstance(status_obj, dict):
        raise ValueError("a Track needs a tracking_number and a tracking_status")
    status = str(status_obj.get("status") or "UNKNOWN").upper()
    if status not in TRACKING_STATUSES:
        status = "UNKNOWN"
    when = _date(status_obj.get("status_date"))
    details = str(status_obj.get("status_details") or "")[:1000]
    object_id = str(status_obj.get("object_id") or "")
    digest = hashlib.sha256(
        json.dumps([number, status, str(status_obj.get("status_date")), details]).encode()
    ).hexdigest()[:40]
    return TrackUpdate(
        event_key=f"shippo:{object_id[:100] if object_id else digest}",
        tracking_number=number,
        carrier=str(data.get("carrier") or "")[:64],
        status=status,
        status_details=details,
        status_date=when,
    )


def _date(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
