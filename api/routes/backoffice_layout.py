"""What every back-office screen shares: the page shell (nothing secret in it), the fragment
answer, escaping, formatting, and the location check of the store-floor screens."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Annotated

from fastapi import Path
from fastapi.responses import HTMLResponse

from api.errors import ApiError
from api.permissions import require_location
from db.repositories import availability, fulfilment
from db.repositories.fulfilment import LocationRef
from db.repositories.users import Principal
from db.session import Database
from domain.errors import NotFound
from domain.money import format_minor

LocationCode = Annotated[
    str, Path(min_length=1, max_length=32, description="store or warehouse code, e.g. BER")
]

# The shells load only this origin's script and style: an injected tag could run nothing.
SHELL_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
FRAGMENT_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}

# Who runs the store-floor screens (goods in, counts, transfers): the API behind each decides the
# exact rights; the home page offers the links to these roles.
FLOOR_ROLES = frozenset({"admin", "manager", "fulfilment", "cashier"})


def e(value: object) -> str:
    """Text for HTML, quotes too (attributes take it as well)."""
    return escape("" if value is None else str(value), quote=True)


# ---- shells -----------------------------------------------------------------------------------


def shell(title: str, fragment: str, *, screen: str) -> HTMLResponse:
    """A screen's page: header, sign-in form and the place its fragment goes; nothing secret."""
    html = (
        SHELL.replace("{{title}}", e(title))
        .replace("{{fragment}}", e(fragment))
        .replace("{{screen}}", e(screen))
    )
    return HTMLResponse(html, headers=SHELL_HEADERS)


# ---- fragments: shared checks --------------------------------------------------------------------


def fragment(html: str) -> HTMLResponse:
    return HTMLResponse(html, headers=FRAGMENT_HEADERS)


def floor_location(db: Database, principal: Principal, code: str) -> LocationRef:
    """A store or warehouse the caller works at (unknown: 404; someone else's: 403)."""
    with db.unit_of_work() as s:
        ref = fulfilment.location_ref(s, code)
    if ref is None:
        raise NotFound(f"There is no store or warehouse {code}.", code="unknown_location")
    require_location(principal, ref.id, ref.code)
    if principal.role not in FLOOR_ROLES:
        raise ApiError(
            403,
            "forbidden",
            "Receiving, counting and transferring stock needs a manager or store staff; "
            f"you are a {principal.role}.",
        )
    return ref


def my_locations(db: Database, principal: Principal) -> list[tuple[str, str]]:
    """(code, name) of the caller's locations, by code."""
    with db.unit_of_work() as s:
        codes = availability.location_codes(s, principal.location_ids)
        names = availability.location_names(s, principal.location_ids)
    return sorted((codes[i], names.get(i, codes[i])) for i in codes)


def heading(title: str, *crumbs: tuple[str, str]) -> str:
    trail = "".join(f'<a href="{e(href)}">{e(text)}</a> › ' for href, text in crumbs)
    return f'<nav class="crumbs" aria-label="Breadcrumb">{trail}</nav><h1>{e(title)}</h1>'


def when(at: datetime | None) -> str:
    """A moment for people: a <time> the page shows in the browser's own time zone (UTC here)."""
    if at is None:
        return ""
    utc = at.astimezone(UTC)
    return (
        f'<time datetime="{utc.isoformat()}" data-local>{utc.strftime("%Y-%m-%d %H:%M")} UTC</time>'
    )


def money(amount: int | None, currency: str | None) -> str:
    return (
        "" if amount is None or not currency else f"{format_minor(amount, currency)} {e(currency)}"
    )


SHELL = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{title}} · tillflow back office</title>
<link rel="stylesheet" href="/backoffice/static/backoffice.css">
<script src="/backoffice/static/backoffice.js" defer></script>
</head>
<body data-fragment="{{fragment}}" data-screen="{{screen}}">
<a class="skip" href="#view">Skip to the screen</a>
<header class="top">
  <a id="home-link" class="title" href="/backoffice">tillflow back office</a>
  <span id="who" aria-live="polite"></span>
  <button id="signout" type="button" class="secondary" hidden>Sign out</button>
</header>
<main>
  <p id="message" role="alert"></p>
  <form id="signin" hidden aria-label="Sign in">
    <h1>Sign in</h1>
    <label>Username <input id="username" name="username" autocomplete="username" required></label>
    <label>Password <input id="password" name="password" type="password" \
autocomplete="current-password" required></label>
    <button type="submit">Sign in</button>
  </form>
  <div id="view" tabindex="-1" aria-live="polite"></div>
  <aside id="help" hidden aria-label="Keyboard shortcuts">
    <h2>Keyboard</h2>
    <dl>
      <dt><kbd>/</kbd></dt><dd>search on this screen</dd>
      <dt><kbd>Enter</kbd></dt><dd>submit the form, or add a scanned line</dd>
      <dt><kbd>Ctrl</kbd>+<kbd>Enter</kbd></dt><dd>submit a form with scan lines</dd>
      <dt><kbd>n</kbd> / <kbd>p</kbd></dt><dd>next / previous page of a list</dd>
      <dt><kbd>h</kbd></dt><dd>back-office home</dd>
      <dt><kbd>Esc</kbd></dt><dd>leave a field, close this help</dd>
      <dt><kbd>?</kbd></dt><dd>show or hide this help</dd>
    </dl>
  </aside>
</main>
</body>
</html>
"""
