"""Text messages to customers: the SmsSender Protocol and its Twilio adapter.

Twilio's Programmable Messaging REST API (https://www.twilio.com/docs/messaging/api/message-
resource#create-a-message-resource): `POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`,
HTTP basic auth with the Account SID (or an API key SID) and its auth token (or API key secret),
a form body `To`, `From` (or `MessagingServiceSid`) and `Body`. 201 answers the Message resource
(`sid` "SM…", `status` "queued" / "accepted", `error_code` null); an error answers
`{"code": 21211, "message": "…", "more_info": "…", "status": 400}`.

Twilio has no idempotency key for creating a message, so the drain's claim-before-send is what
keeps a message from going out twice. Another provider plugs in behind the same Protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from contracts.messages import SendOutcome

# Twilio error codes that mean this recipient cannot get the message: invalid or unreachable
# number, landline, opted out (STOP), region not enabled, blocked.
TWILIO_RECIPIENT_CODES = frozenset({21211, 21214, 21217, 21219, 21408, 21610, 21612, 21614, 30006})


class SmsSender(Protocol):
    async def send(self, *, key: str, to: str, text: str) -> SendOutcome:
        """Hand one text to the provider; never raises for a refusal (see SendOutcome)."""
        ...


@dataclass(frozen=True, kw_only=True)
class TwilioConfig:
    account_sid: str
    auth_token: str
    from_number: str = ""  # E.164, e.g. +4930123456; or:
    messaging_service_sid: str = ""  # MG…, Twilio picks the sender
    api_key_sid: str = ""  # SK…: basic auth as the API key instead of the account
    base_url: str = "https://api.twilio.com"
    timeout_s: float = 30.0


class TwilioSms:
    """Sends through Twilio's Messages resource (one request per message)."""

    def __init__(self, config: TwilioConfig, transport: httpx.AsyncBaseTransport | None = None):
        self.config = config
        self.transport = transport

    def _form(self, to: str, text: str) -> dict[str, str]:
        c = self.config
        form = {"To": to, "Body": text}
        if c.messaging_service_sid:
            form["MessagingServiceSid"] = c.messaging_service_sid
        else:
            form["From"] = c.from_number
        return form

    async def send(self, *, key: str, to: str, text: str) -> SendOutcome:
        """Create the message; Twilio's own error code and words come back on a refusal."""
        c = self.config
        url = f"{c.base_url.rstrip('/')}/2010-04-01/Accounts/{c.account_sid}/Messages.json"
        try:
            async with httpx.AsyncClient(
                transport=self.transport,
                timeout=c.timeout_s,
                auth=(c.api_key_sid or c.account_sid, c.auth_token),
            ) as http:
                response = await http.post(url, data=self._form(to, text))
        except httpx.HTTPError as err:
            return SendOutcome(outcome="retry", error=f"{type(err).__name__}: {err}"[:1000])
        body = _json(response)
        if response.status_code in (200, 201):
            if body.get("error_code"):
                return SendOutcome(
                    outcome="failed",
                    provider_id=str(body.get("sid") or ""),
                    error=f"twilio {body.get('error_code')}: {body.get('error_message') or ''}",
                )
            return SendOutcome(outcome="sent", provider_id=str(body.get("sid") or ""))
        code = body.get("code")
        words = f"twilio {response.status_code}/{code}: {body.get('message') or response.text}"
        words = words[:1000]
        if response.status_code == 429 or response.status_code >= 500:
            return SendOutcome(outcome="retry", error=words)
        if response.status_code in (401, 403):  # credentials: the operator's to fix meanwhile
            return SendOutcome(outcome="retry", error=words)
        if isinstance(code, int) and code in TWILIO_RECIPIENT_CODES:
            return SendOutcome(outcome="bounced", error=words)
        return SendOutcome(outcome="failed", error=words)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
