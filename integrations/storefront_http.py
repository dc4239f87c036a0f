"""One HTTP call to a web store's API, with the errors every Storefront adapter maps the same
way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from integrations.storefront import StorefrontError, StorefrontUnavailable, parse_retry_after


def call_store(
    http: httpx.Client,
    vendor: str,
    error_text: Callable[[httpx.Response], str],
    method: str,
    path: str,
    **kwargs: Any,
) -> httpx.Response:
    """The response, or StorefrontUnavailable (network, 429, 5xx: retry later, honouring
    Retry-After) or StorefrontError (any other 4xx: retrying will not help). `error_text` reads the
    vendor's error body."""
    try:
        r = http.request(method, path, **kwargs)
    except httpx.HTTPError as err:
        raise StorefrontUnavailable(f"{vendor} {method} {path}: {err!r}") from err
    if r.status_code == 429 or r.status_code >= 500:
        raise StorefrontUnavailable(
            f"{vendor} {method} {path}: {r.status_code} {error_text(r)}",
            status=r.status_code,
            retry_after=parse_retry_after(r.headers.get("Retry-After")),
        )
    if r.status_code >= 400:
        raise StorefrontError(
            f"{vendor} {method} {path}: {r.status_code} {error_text(r)}", status=r.status_code
        )
    return r
