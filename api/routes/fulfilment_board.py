"""The fulfilment board: a plain page per location (no build step) that signs staff in and refreshes
itself.

`GET /fulfilment/{store}` is the page shell (nothing secret in it). Staff sign in on the page with
username and password (`POST /auth/login`); the token lives in sessionStorage (gone when the tab
closes) and every few seconds the page fetches `GET /fulfilment/{store}/board.html`, rows rendered
(and escaped) on the server, with that token.
"""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from api import fulfilment as steer
from api.deps import DbDep, PrincipalDep, SettingsDep
from api.errors import error_responses
from api.routes.fulfilment import StoreCode, board_data
from api.schemas_fulfilment import TaskOut

router = APIRouter(prefix="/fulfilment", tags=["fulfilment"])

SECTIONS = (
    ("curbside", "Curbside arrivals", "Nobody is waiting outside."),
    ("pickups", "Pickups waiting", "No orders waiting for their customer."),
    ("picks", "Picks to do", "Nothing to pick."),
    ("parcels", "Parcels to pack and ship", "No parcels to pack or ship."),
)


@router.get("/{store}", response_class=HTMLResponse, responses=error_responses(404, 422))
def board_page(store: StoreCode, db: DbDep, settings: SettingsDep) -> HTMLResponse:
    """The board page for a store's fulfilment staff (sign in on the page)."""
    ref = steer.location(db, store)
    return HTMLResponse(
        PAGE.replace("{{code}}", escape(ref.code))
        .replace("{{name}}", escape(ref.name))
        .replace("{{refresh}}", str(max(2, settings.board_refresh_seconds)))
    )


@router.get(
    "/{store}/board.html",
    response_class=HTMLResponse,
    responses=error_responses(401, 403, 404, 422),
)
def board_fragment(store: StoreCode, principal: PrincipalDep, db: DbDep) -> HTMLResponse:
    """The board's rows as HTML, for the page to show (same data as GET
    /fulfilment/{store}/board)."""
    ref = steer.require_staff(db, principal, store)
    data = board_data(db, ref)
    parts = [
        f'<p class="who">Signed in as {escape(principal.display_name)} '
        f"({escape(principal.role)})</p>"
    ]
    for key, title, empty in SECTIONS:
        tasks: list[TaskOut] = getattr(data, key)
        rows = "".join(_row(t, ref.timezone, key) for t in tasks)
        body = (
            f"<table><thead><tr><th>Order</th><th>Customer</th><th>Items</th><th>Due</th><th>Who</th>"
            f"<th>Status</th></tr></thead><tbody>{rows}</tbody></table>"
            if tasks
            else f'<p class="empty">{empty}</p>'
        )
        parts.append(
            f'<section id="{key}" class="{key}"><h2>{title} '
            f'<span class="count">{len(tasks)}</span></h2>'
            f"{body}</section>"
        )
    return HTMLResponse("".join(parts))


def _row(t: TaskOut, zone: str, section: str) -> str:
    items = ", ".join(f"{ln.quantity} × {escape(ln.name or ln.sku)}" for ln in t.lines)
    flags: list[str] = []
    if t.curbside_bay:
        flags.append(f'<span class="flag bay">Bay {escape(t.curbside_bay)}</span>')
    if t.escalated:
        flags.append('<span class="flag escalated">Escalated</span>')
    elif t.overdue:
        flags.append('<span class="flag overdue">Overdue</span>')
    if t.kind in ("pack", "ship"):
        flags.append(
            f'<span class="flag kind">{"Pack" if t.kind == "pack" else "Hand to carrier"}</span>'
        )
    detail: dict[str, Any] = t.detail
    if detail.get("tracking"):
        flags.append(f'<span class="flag tracking">{escape(str(detail["tracking"]))}</span>')
    if detail.get("wrong_codes"):
        flags.append(
            f'<span class="flag wrong">{escape(str(detail["wrong_codes"]))} wrong code(s)'
            f"{' · locked' if detail.get('locked') else ''}</span>"
        )
    classes = " ".join(
        c
        for c, on in (
            ("task", True),
            ("overdue", t.overdue),
            ("escalated", t.escalated),
            ("curbside", bool(t.curbside_bay)),
        )
        if on
    )
    due = steer.local_time(t.due_at, zone)
    return (
        f'<tr class="{classes}" data-task="{t.id}" data-kind="{t.kind}" '
        f'data-order="{escape(t.order_number)}" '
        f'data-section="{section}"><td class="order">{escape(t.order_number)}</td>'
        f'<td>{escape(t.customer_name)}</td><td>{items}</td><td class="due">{due}</td>'
        f"<td>{escape(t.assignee) or '—'}</td><td>{' '.join(flags) or t.status}</td></tr>"
    )


PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Fulfilment · {{name}}</title>
<style>
  body { font: 16px/1.4 system-ui, sans-serif; margin: 0; background: #f4f4f2; color: #1d1d1b; }
  header { display: flex; gap: 1rem; align-items: baseline; padding: .8rem 1.2rem; \
background: #1d1d1b; color: #fff; }
  header h1 { font-size: 1.2rem; margin: 0; flex: 1; }
  main { padding: 1rem 1.2rem; }
  section { background: #fff; border-radius: 6px; padding: .6rem 1rem; margin-bottom: 1rem; }
  section h2 { font-size: 1.05rem; margin: .2rem 0 .5rem; }
  section.curbside { border: 3px solid #d97706; }
  .count { background: #e5e5e0; border-radius: 999px; padding: 0 .5rem; font-size: .9rem; }
  table { width: 100%; border-collapse: collapse; }
  th, td { text-align: left; padding: .35rem .4rem; border-bottom: 1px solid #eee; \
vertical-align: top; }
  tr.overdue td { background: #fff1f1; }
  tr.curbside td { background: #fff7e6; font-weight: 600; }
  .flag { display: inline-block; border-radius: 4px; padding: 0 .35rem; margin-right: .25rem; \
font-size: .85rem; }
  .flag.escalated, .flag.overdue, .flag.wrong { background: #b91c1c; color: #fff; }
  .flag.bay { background: #d97706; color: #fff; }
  .flag.kind, .flag.tracking { background: #e5e5e0; }
  .empty { color: #777; margin: .2rem 0 .4rem; }
  form#signin { max-width: 22rem; margin: 3rem auto; background: #fff; padding: 1.2rem; \
border-radius: 6px; }
  form#signin label { display: block; margin-bottom: .7rem; }
  form#signin input { width: 100%; font-size: 1rem; padding: .3rem; box-sizing: border-box; }
  #message { color: #b91c1c; }
  button { font-size: 1rem; }
</style>
</head>
<body data-store="{{code}}" data-refresh="{{refresh}}">
<header>
  <h1>Fulfilment board · {{name}} ({{code}})</h1>
  <span id="updated"></span>
  <button id="signout" type="button" hidden>Sign out</button>
</header>
<main>
  <p id="message" role="alert"></p>
  <form id="signin" hidden>
    <label>Username <input id="username" name="username" autocomplete="username" required></label>
    <label>Password <input id="password" name="password" type="password" \
autocomplete="current-password" required></label>
    <button type="submit">Sign in</button>
  </form>
  <div id="board" aria-live="polite"></div>
</main>
<script>
(() => {
  const store = document.body.dataset.store;
  const every = Number(document.body.dataset.refresh) * 1000;
  const KEY = "tillflow.fulfilment.token";
  const $ = (id) => document.getElementById(id);
  let timer = null;

  function say(text) { $("message").textContent = text || ""; }

  function signedOut(text) {
    sessionStorage.removeItem(KEY);
    clearInterval(timer); timer = null;
    $("board").innerHTML = "";
    $("signout").hidden = true;
    $("signin").hidden = false;
    say(text);
    $("username").focus();
  }

  async function load() {
    const token = sessionStorage.getItem(KEY);
    if (!token) return signedOut("");
    let r;
    try {
      r = await fetch(`/fulfilment/${encodeURIComponent(store)}/board.html`,
                      { headers: { Authorization: `Bearer ${token}` }, cache: "no-store" });
    } catch (e) {
      return say("The server cannot be reached; retrying.");
    }
    if (r.status === 401) return signedOut("Your session ended: sign in again.");
    if (!r.ok) {
      const body = await r.json().catch(() => null);
      $("board").innerHTML = "";
      return say(body && body.error ? body.error.message : `Error ${r.status}`);
    }
    $("board").innerHTML = await r.text();
    $("updated").textContent = `Updated ${new Date().toLocaleTimeString()}`;
    say("");
  }

  function start() {
    $("signin").hidden = true;
    $("signout").hidden = false;
    load();
    if (!timer) timer = setInterval(load, every);
  }

  $("signin").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const r = await fetch("/auth/login", { method: "POST", \
headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: $("username").value, password: $("password").value }) });
    const body = await r.json().catch(() => null);
    if (!r.ok) return say(body && body.error ? body.error.message : "Sign-in failed.");
    sessionStorage.setItem(KEY, body.token);
    $("password").value = "";
    start();
  });

  $("signout").addEventListener("click", async () => {
    const token = sessionStorage.getItem(KEY);
    if (token) await fetch("/auth/logout", { method: "POST", \
headers: { Authorization: `Bearer ${token}` } })
      .catch(() => null);
    signedOut("Signed out.");
  });

  if (sessionStorage.getItem(KEY)) start(); else signedOut("");
})();
</script>
</body>
</html>
"""
