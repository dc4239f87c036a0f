"""The till agent's line to the central API: a business answer, or "unreachable" (and the till sells
offline)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

CONNECT_TIMEOUT = 2.0
READ_TIMEOUT = 30.0  # calls that give no timeout of their own (the agent gives one to each)


class CentralUnavailable(Exception):
    """The central API could not be reached or failed (5xx): the answer is unknown, not a
    refusal.

    `sent` is False only when the request certainly never reached the central side (no connection
    was made); after that, the central system may have acted on it (a card may be at the reader)."""

    def __init__(self, message: str, *, sent: bool = True) -> None:
        super().__init__(message)
        self.sent = sent


class CentralRefused(Exception):
    """The central API answered 4xx: a business or auth answer to pass on to the till page."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"central answered {status}")
        self.status = status
        self.body = body


class CentralClient:
    """HTTP calls to the central till API for one till."""

    def __init__(
        self, base_url: str, till: str, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.till = till
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            transport=transport,
            timeout=httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT),
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def reachable(self, timeout: float = 2.0) -> bool:
        """Any HTTP answer from /health means the link is up (a 503 there is the central side's
        worry)."""
        try:
            await self._http.get("/health", timeout=timeout)
        except httpx.HTTPError:
            return False
        return True

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
        at_till: bool = True,
    ) -> tuple[int, Any]:
        """(status, body) for 2xx; CentralRefused for 4xx; CentralUnavailable for no answer or
        5xx.

        `path` is under /tills/{till} unless `at_till` is False (returns by id, a store's
        pickups). `timeout` bounds the whole call (connecting, sending, the central side's work,
        reading the answer), not each of its steps."""
        hdrs = dict(headers or {})
        if token:
            hdrs["Authorization"] = f"Bearer {token}"
        request = self._http.request(
            method,
            f"/tills/{self.till}{path}" if at_till else path,
            json=json,
            params=params,
            headers=hdrs,
            timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
        )
        try:
            response = await (request if timeout is None else asyncio.wait_for(request, timeout))
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as err:
            # No connection, so nothing was sent: the central side knows nothing of this call.
            raise CentralUnavailable(f"{type(err).__name__}: {err}", sent=False) from err
        except httpx.HTTPError as err:
            raise CentralUnavailable(f"{type(err).__name__}: {err}") from err
        except TimeoutError as err:
            raise CentralUnavailable(f"no answer within {timeout:g} s") from err
        try:
            body = response.json()
        except ValueError:
            body = {"error": {"code": "bad_gateway", "message": response.text[:200]}}
        if response.status_code >= 500:
            raise CentralUnavailable(f"central answered {response.status_code}")
        if response.status_code >= 400:
            raise CentralRefused(response.status_code, body)
        return response.status_code, body
