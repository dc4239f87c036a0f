"""The back-office pages' one stylesheet and one script, served by `api/routes/backoffice_pages.py`
(no build step, no CDN).

The script signs staff in on the page (`POST /auth/login`), keeps the token in sessionStorage, loads
the screen's fragment (HTML rendered and escaped on the server) with it, and turns the fragment's
forms into JSON calls to the back-office API (`Idempotency-Key` on every write, `If-Match` where
the fragment carries an ETag). Data from the server reaches the DOM only as server-escaped fragment
HTML or through `textContent`.
"""

from __future__ import annotations

STYLE = r"""
:root { --ink: #1d1d1b; --paper: #f4f4f2; --line: #e2e2dc; --accent: #0f5f8c; --bad: #b91c1c;
  --good: #166534; }
* { box-sizing: border-box; }
body { font: 16px/1.45 system-ui, sans-serif; margin: 0; background: var(--paper);
  color: var(--ink); }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible,
textarea:focus-visible, summary:focus-visible { outline: 3px solid #f59e0b; outline-offset: 1px; }
header.top { display: flex; gap: 1rem; align-items: center; padding: .6rem 1.2rem;
  background: var(--ink); color: #fff; }
header.top a { color: #fff; text-decoration: none; font-weight: 600; }
header.top .title { flex: 1; }
header.top #who { font-size: .9rem; opacity: .85; }
.skip { position: absolute; left: -999px; }
.skip:focus { left: 1rem; top: .5rem; background: #fff; color: var(--ink); padding: .3rem .6rem; }
main { padding: 1rem 1.2rem; max-width: 72rem; margin: 0 auto; }
h1 { font-size: 1.35rem; margin: .3rem 0 .8rem; }
h2 { font-size: 1.1rem; margin: 1rem 0 .5rem; }
section.card, form.card { background: #fff; border-radius: 6px; padding: .8rem 1rem;
  margin-bottom: 1rem; border: 1px solid var(--line); }
table { width: 100%; border-collapse: collapse; background: #fff; }
th, td { text-align: left; padding: .35rem .45rem; border-bottom: 1px solid var(--line);
  vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: 700; border-top: 2px solid var(--ink); }
label { display: block; margin: .4rem 0; }
label.inline { display: inline-flex; gap: .35rem; align-items: center; margin-right: 1rem; }
input, select, textarea, button { font: inherit; }
input[type=text], input[type=search], input[type=number], input[type=password],
input[type=datetime-local], select, textarea { padding: .3rem .4rem; border: 1px solid #b8b8b0;
  border-radius: 4px; background: #fff; }
textarea { width: 100%; min-height: 4.5rem; }
.wide { width: 100%; }
.row { display: flex; flex-wrap: wrap; gap: .8rem; align-items: flex-end; }
.row > label { margin: 0; }
button { padding: .35rem .9rem; border-radius: 4px; border: 1px solid var(--accent);
  background: var(--accent); color: #fff; cursor: pointer; }
button.secondary { background: #fff; color: var(--accent); }
button:disabled { opacity: .55; cursor: progress; }
.form-error { color: var(--bad); font-weight: 600; min-height: 1.2em; margin: .3rem 0; }
.form-ok { color: var(--good); font-weight: 600; min-height: 1.2em; margin: .3rem 0; }
[aria-invalid=true] { border-color: var(--bad); outline: 2px solid var(--bad); }
#message { color: var(--bad); min-height: 1.2em; }
#message[data-kind=ok] { color: var(--good); }
form#signin { max-width: 22rem; margin: 3rem auto; background: #fff; padding: 1.2rem;
  border-radius: 6px; border: 1px solid var(--line); }
form#signin input { width: 100%; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(15rem, 1fr)); gap: .8rem; }
.tiles a { display: block; background: #fff; border: 1px solid var(--line); border-radius: 6px;
  padding: .8rem 1rem; text-decoration: none; color: var(--ink); }
.tiles a strong { display: block; color: var(--accent); }
.muted, .empty { color: #6b6b66; }
.pager { display: flex; gap: 1rem; align-items: center; margin: .6rem 0; }
.badge { display: inline-block; border-radius: 4px; padding: 0 .35rem; font-size: .85rem;
  background: var(--line); margin-right: .2rem; }
.badge.off { background: #fde2e2; color: var(--bad); }
kbd { border: 1px solid #b8b8b0; border-bottom-width: 2px; border-radius: 3px; padding: 0 .3rem;
  font-size: .85rem; background: #fff; }
#help { position: fixed; right: 1rem; bottom: 1rem; background: #fff; border: 1px solid var(--ink);
  border-radius: 6px; padding: .6rem 1rem; max-width: 22rem; }
#help dl { display: grid; grid-template-columns: auto 1fr; gap: .2rem .8rem; margin: 0; }
"""

SCRIPT = r"""
(() => {
  "use strict";
  const KEY = "tillflow.backoffice.token";
  const WHO = "tillflow.backoffice.who";
  const body = document.body;
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const view = $("#view");

  class SignedOut extends Error {}

  function say(text, kind) {
    const m = $("#message");
    m.textContent = text || "";
    m.dataset.kind = kind || "error";
  }

  function token() { return sessionStorage.getItem(KEY); }

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  }

  function signedOut(text) {
    sessionStorage.removeItem(KEY);
    sessionStorage.removeItem(WHO);
    view.replaceChildren();
    $("#signout").hidden = true;
    $("#who").textContent = "";
    $("#signin").hidden = false;
    say(text);
    $("#username").focus();
  }

  // One JSON call to the API with the session's token; a 401 ends the session on the page.
  async function call(method, url, payload, headers) {
    const h = Object.assign({ Authorization: `Bearer ${token()}` }, headers || {});
    const init = { method, headers: h, cache: "no-store" };
    if (payload !== undefined) {
      h["Content-Type"] = "application/json";
      init.body = JSON.stringify(payload);
    }
    let r;
    try { r = await fetch(url, init); } catch (e) {
      return { ok: false, status: 0, data: null, etag: null };
    }
    if (r.status === 401) {
      signedOut("Your session ended: sign in again.");
      throw new SignedOut();
    }
    const data = r.status === 204 ? null : await r.json().catch(() => null);
    return { ok: r.ok, status: r.status, data, etag: r.headers.get("ETag") };
  }

  function problem(res) {
    if (res.status === 0) return "The server cannot be reached; nothing was changed. Try again.";
    if (res.data && res.data.error && res.data.error.message) return res.data.error.message;
    return `The server answered ${res.status}.`;
  }

  // ---- the screen's fragment ---------------------------------------------------------------

  async function load(focus) {
    if (!token()) return signedOut("");
    const url = body.dataset.fragment + location.search;
    let r;
    try {
      r = await fetch(url, { headers: { Authorization: `Bearer ${token()}` }, cache: "no-store" });
    } catch (e) {
      return say("The server cannot be reached; reload the page to try again.");
    }
    if (r.status === 401) return signedOut("Your session ended: sign in again.");
    if (!r.ok) {
      const b = await r.json().catch(() => null);
      view.replaceChildren();
      return say(b && b.error ? b.error.message : `Error ${r.status}`);
    }
    view.innerHTML = await r.text(); // rendered and escaped on the server
    const flash = sessionStorage.getItem("tillflow.backoffice.flash");
    sessionStorage.removeItem("tillflow.backoffice.flash");
    say(flash || "", flash ? "ok" : "error");
    wire(view);
    if (focus !== false) {
      const first = $("[data-focus]", view) || $("input, select, textarea, button, a[href]", view);
      if (first) first.focus();
    }
  }

  function go(url) {
    history.pushState(null, "", url);
    load();
  }

  window.addEventListener("popstate", () => load());

  // ---- forms -------------------------------------------------------------------------------

  // "12.5" with exponent 2 -> 1250, exactly (no floating point); null when it is not an amount.
  function minorUnits(text, exp) {
    const t = String(text).trim().replace(",", ".");
    const m = /^(-?)(\d+)(?:\.(\d*))?$/.exec(t);
    if (!m) return null;
    const frac = (m[3] || "");
    if (frac.length > exp) return null;
    const n = Number(m[2] + frac.padEnd(exp, "0"));
    return m[1] ? -n : n;
  }

  // A datetime-local value is the browser's wall-clock time: send it as an instant.
  function instant(text) {
    if (!text) return null;
    const d = new Date(text);
    return isNaN(d.getTime()) ? null : d.toISOString();
  }

  class Invalid extends Error {
    constructor(field, message) { super(message); this.field = field; }
  }

  function valueOf(el) {
    const t = el.dataset.type || "";
    if (el.type === "checkbox") return el.checked;
    const v = el.value;
    if (t === "int") {
      if (v.trim() === "") return el.dataset.optional !== undefined ? null : 0;
      if (!/^-?\d+$/.test(v.trim())) {
        throw new Invalid(el, `${labelOf(el)}: a whole number, please.`);
      }
      return Number(v.trim());
    }
    if (t === "money") {
      if (v.trim() === "") return null;
      const n = minorUnits(v, Number(el.dataset.exponent || "2"));
      if (n === null) throw new Invalid(el, `${labelOf(el)}: an amount such as 12.50, please.`);
      return n;
    }
    if (t === "instant") return instant(v);
    if (t === "lines") return v.split(/[\s,;]+/).map((x) => x.trim()).filter(Boolean);
    if (t === "json") return v ? JSON.parse(v) : null;
    if (el.dataset.optional !== undefined && v.trim() === "") return null;
    return v;
  }

  function labelOf(el) {
    const l = el.closest("label");
    const text = l ? (l.dataset.name || l.textContent) : el.name;
    return text.trim().split("\n")[0];
  }

  // Named fields (not inside a line table) -> {name: value}; "a.b" names nest.
  function fields(form) {
    const out = {};
    for (const el of $$("[name]", form)) {
      if (el.closest("[data-lines]") || el.disabled || el.dataset.skip !== undefined) continue;
      if (el.type === "radio" && !el.checked) continue;
      const path = el.name.split(".");
      let at = out;
      while (path.length > 1) { const k = path.shift(); at = at[k] = at[k] || {}; }
      at[path[0]] = valueOf(el);
    }
    return out;
  }

  // The rows of a line table -> [{sku, quantity, ...}] (rows with a zero quantity are left out
  // unless the table says to keep them).
  function lines(form, name) {
    const table = $(`[data-lines="${name || "lines"}"]`, form);
    if (!table) return [];
    const keepZero = table.dataset.keepZero !== undefined;
    const out = [];
    for (const row of $$("tbody tr[data-sku]", table)) {
      const line = { sku: row.dataset.sku };
      for (const el of $$("[data-field]", row)) line[el.dataset.field] = valueOf(el);
      if ("quantity" in line && (line.quantity === null || (!keepZero && !line.quantity))) continue;
      out.push(line);
    }
    return out;
  }

  function clearErrors(form) {
    for (const el of $$("[aria-invalid=true]", form)) el.removeAttribute("aria-invalid");
    const e = $(".form-error", form); if (e) e.textContent = "";
    const ok = $(".form-ok", form); if (ok) ok.textContent = "";
  }

  function showError(form, text, field) {
    let e = $(".form-error", form);
    if (!e) {
      e = document.createElement("p");
      e.className = "form-error";
      e.setAttribute("role", "alert");
      form.prepend(e);
    }
    e.textContent = text;
    const el = typeof field === "string" ? $(`[name="${CSS.escape(field)}"]`, form) : field;
    if (el) { el.setAttribute("aria-invalid", "true"); el.focus(); }
  }

  function showOk(form, text) {
    const ok = $(".form-ok", form);
    if (ok) ok.textContent = text; else say(text, "ok");
  }

  function fill(template, data) {
    return template.replace(/\{([a-z_]+)\}/g,
      (_, k) => encodeURIComponent(data && data[k] != null ? data[k] : ""));
  }

  // Each kind of form says how it becomes a request: {method, url, payload, headers}.
  const REQUESTS = {
    // A plain JSON form: the fields (and its line table, if any) as they are.
    json(form) {
      const payload = fields(form);
      if ($("[data-lines]", form)) payload.lines = lines(form);
      return { payload };
    },
    // Starting a count: the SKUs scanned into its table.
    count(form) {
      const payload = fields(form);
      payload.skus = lines(form).map((l) => l.sku);
      if (!payload.skus.length) {
        throw new Invalid($("[data-scan]", form), "Scan the SKUs to count.");
      }
      return { payload };
    },
    // Counted quantities: one entry per SKU (and the bin they were counted in).
    entries(form) {
      const bin = ($("[name=bin]", form) || { value: "" }).value.trim();
      const entries = lines(form).map((l) => ({ sku: l.sku, quantity: l.quantity, bin }));
      if (!entries.length) throw new Invalid($("[data-scan]", form), "Nothing counted yet.");
      return { payload: { entries } };
    },
    // The product form: only what changed goes in the PATCH; barcodes per variant.
    product(form) {
      const payload = {};
      const now = fields(form);
      const before = JSON.parse(form.dataset.original || "{}");
      for (const [k, v] of Object.entries(now)) {
        if (k === "variants") continue;
        if (JSON.stringify(v) !== JSON.stringify(before[k])) payload[k] = v;
      }
      const variants = [];
      for (const box of $$("[data-variant]", form)) {
        const codes = valueOf($("[data-barcodes]", box));
        const was = JSON.parse(box.dataset.barcodes || "[]");
        const name = $("[data-variant-name]", box);
        const v = { sku: box.dataset.variant };
        let changed = false;
        if (JSON.stringify(codes) !== JSON.stringify(was)) { v.barcodes = codes; changed = true; }
        if (name && name.value !== name.defaultValue) { v.name = name.value; changed = true; }
        if (changed) variants.push(v);
      }
      if (variants.length) payload.variants = variants;
      if (!Object.keys(payload).length) throw new Invalid(null, "Nothing changed.");
      return { payload, headers: { "If-Match": form.dataset.etag } };
    },
  };

  async function submit(form) {
    clearErrors(form);
    let req;
    try {
      req = (REQUESTS[form.dataset.request || "json"])(form);
    } catch (e) {
      if (e instanceof Invalid) return showError(form, e.message, e.field);
      throw e;
    }
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
    // One key per intended write: a resubmission after a lost answer replays, never repeats.
    const digest = JSON.stringify([form.dataset.api, req.payload]);
    if (form._digest !== digest) { form._digest = digest; form._key = newKey(); }
    const headers = Object.assign({ "Idempotency-Key": form._key }, req.headers || {});
    const buttons = $$("button", form);
    buttons.forEach((b) => { b.disabled = true; });
    let res;
    try {
      res = await call(form.dataset.method || "POST", form.dataset.api, req.payload, headers);
    } catch (e) {
      if (e instanceof SignedOut) return;
      throw e;
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
    if (!res.ok) {
      const err = (res.data && res.data.error) || {};
      // Every problem the API names is marked on its field; the first one gets the focus.
      const marked = (err.problems || [{ field: err.field || "", code: err.code }])
        .map((p) => fieldOf(form, p.field || "", p.code)).filter(Boolean);
      marked.slice(1).forEach((el) => el.setAttribute("aria-invalid", "true"));
      return showError(form, problem(res), marked[0] || null);
    }
    form._digest = null;
    const done = form.dataset.done || "Saved.";
    if (form.dataset.then) {
      sessionStorage.setItem("tillflow.backoffice.flash", done);
      return go(fill(form.dataset.then, res.data));
    }
    await load(false);
    say(done, "ok");
    const again = form.id && document.getElementById(form.id);
    const focus = again && ($("[data-focus]", again) || $("input, select, textarea", again));
    if (focus) focus.focus();
  }

  // The input a problem's field names: "name", "lines[2].quantity", "variants[1].barcodes[0]"
  // (the second variant's barcodes), or by its code through the form's data-codes.
  function fieldOf(form, field, code) {
    const at = /^variants\[(\d+)\]/.exec(field);
    const box = at && $$("[data-variant]", form)[Number(at[1])];
    if (box) return $("[data-barcodes]", box);
    const line = /^lines\[(\d+)\]/.exec(field);
    const row = line && $$("[data-lines] tbody tr[data-sku]", form)[Number(line[1])];
    if (row) return $("[data-field=quantity]", row) || row;
    const base = field.split(/[.[]/)[0];
    return (base && $(`[name="${CSS.escape(base)}"]`, form)) || fieldFor(form, code);
  }

  // An error code the form maps to one of its fields, e.g. data-codes="bad_barcode:barcodes".
  function fieldFor(form, code) {
    for (const pair of (form.dataset.codes || "").split(" ")) {
      const [c, f] = pair.split(":");
      const name = CSS.escape(f);
      if (c && c === code) return $(`[name="${name}"], [data-field-name="${name}"]`, form);
    }
    return null;
  }

  // ---- line tables: scan or type a SKU or barcode, Enter adds it (or one more) --------------

  async function addLine(box, code, qty) {
    const table = $("table", box);
    const tbody = $("tbody", table);
    const out = $(".form-error", box.closest("form")) || $("#message");
    let sku = null, name = "";
    const known = $$("tr[data-sku]", tbody).find((r) => r.dataset.sku === code
      || (r.dataset.barcodes || "").split(" ").includes(code));
    if (known) {
      sku = known.dataset.sku;
    } else {
      const res = await call("GET", fill(box.dataset.lookup, { code }));
      if (!res.ok) { out.textContent = problem(res); return false; }
      sku = res.data.sku; name = res.data.name;
    }
    let row = $$("tr[data-sku]", tbody).find((r) => r.dataset.sku === sku);
    if (!row) {
      if (box.dataset.fixed !== undefined) {
        out.textContent = `${sku} is not on this list.`;
        return false;
      }
      row = document.createElement("tr");
      row.dataset.sku = sku;
      // SKU, item, blank cells up to the quantity column, quantity, remove.
      const width = $$("thead th", table).length;
      const noQty = box.dataset.noQty !== undefined;
      const cells = [sku, name];
      while (cells.length < width - (noQty ? 1 : 2)) cells.push("");
      for (const text of cells) {
        const td = document.createElement("td"); td.textContent = text; row.append(td);
      }
      if (!noQty) {
        const td = document.createElement("td"); td.className = "num";
        const input = document.createElement("input");
        input.type = "number"; input.min = "0"; input.value = "0"; input.dataset.type = "int";
        input.dataset.field = "quantity"; input.setAttribute("aria-label", `Quantity of ${sku}`);
        td.append(input); row.append(td);
      }
      const rm = document.createElement("td");
      const b = document.createElement("button");
      b.type = "button"; b.className = "secondary"; b.textContent = "Remove";
      b.setAttribute("aria-label", `Remove ${sku}`);
      b.addEventListener("click", () => row.remove());
      rm.append(b); row.append(rm);
      tbody.append(row);
    }
    const input = $("[data-field=quantity]", row);
    if (input) input.value = String(Number(input.value || "0") + qty);
    row.dataset.touched = "1";
    const status = $("[data-last]", box);
    if (status) status.textContent = input ? `${sku}: ${input.value}` : `${sku} added`;
    out.textContent = "";
    return true;
  }

  function wireLines(box) {
    const scan = $("[data-scan]", box);
    const qty = $("[data-scan-qty]", box);
    if (!scan) return;
    scan.addEventListener("keydown", async (ev) => {
      if (ev.key !== "Enter" || ev.ctrlKey || ev.metaKey) return;
      ev.preventDefault();
      let code = scan.value.trim();
      if (!code) return;
      // "3*4006381333931" counts three at once, as at the till.
      let n = qty ? Number(qty.value || "1") : 1;
      const m = /^(\d+)\*(.+)$/.exec(code);
      if (m) { n = Number(m[1]); code = m[2].trim(); }
      if (await addLine(box, code, n)) {
        scan.value = "";
        if (qty) qty.value = "1";
      }
      scan.focus();
    });
  }

  // ---- wiring a freshly loaded fragment ----------------------------------------------------

  function wire(root) {
    for (const form of $$("form[data-search]", root)) {
      form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        const q = new URLSearchParams();
        for (const el of $$("[name]", form)) {
          if ((el.type === "checkbox" || el.type === "radio") && !el.checked) continue;
          if (el.value.trim()) q.set(el.name, el.value.trim());
        }
        const target = form.dataset.search || location.pathname;
        go(`${target}${q.toString() ? "?" + q : ""}`);
      });
    }
    for (const form of $$("form[data-api]", root)) {
      form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        submit(form).catch((e) => showError(form, String(e)));
      });
      // Ctrl+Enter submits from anywhere in the form (Enter in a scan field adds a line).
      form.addEventListener("keydown", (ev) => {
        if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
          ev.preventDefault();
          form.requestSubmit();
        }
      });
    }
    for (const box of $$("[data-lines]", root)) wireLines(box);
    for (const a of $$("a[data-nav]", root)) {
      a.addEventListener("click", (ev) => {
        if (ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
        ev.preventDefault();
        go(a.getAttribute("href"));
      });
    }
    // A price list has its currency: choosing the list fills it in.
    for (const sel of $$("select[data-sets-currency]", root)) {
      sel.addEventListener("change", () => {
        const opt = sel.selectedOptions[0];
        const cur = $("[name=currency]", sel.form);
        if (opt && opt.dataset.currency && cur) cur.value = opt.dataset.currency;
      });
    }
    for (const t of $$("time[data-local]", root)) {
      const d = new Date(t.getAttribute("datetime"));
      if (!isNaN(d.getTime())) {
        t.title = t.textContent;
        t.textContent = d.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
      }
    }
    for (const sel of $$("select[data-go]", root)) {
      sel.addEventListener("change", () => go(fill(sel.dataset.go, { value: sel.value })));
    }
  }

  // ---- keyboard shortcuts ------------------------------------------------------------------

  function typing(el) {
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }

  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") {
      $("#help").hidden = true;
      if (typing(document.activeElement)) document.activeElement.blur();
      return;
    }
    if (typing(ev.target) || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const shortcut = ev.key === "/" ? $("[data-shortcut='/']", view)
      : ev.key === "n" ? $("a[data-page=next]", view)
      : ev.key === "p" ? $("a[data-page=prev]", view)
      : ev.key === "h" ? $("#home-link") : null;
    if (ev.key === "?") { ev.preventDefault(); $("#help").hidden = !$("#help").hidden; return; }
    if (!shortcut) return;
    ev.preventDefault();
    if (shortcut.tagName === "A") return shortcut.click();
    shortcut.focus();
    if (shortcut.select) shortcut.select();
  });

  // ---- sign-in -----------------------------------------------------------------------------

  function start() {
    $("#signin").hidden = true;
    $("#signout").hidden = false;
    $("#who").textContent = sessionStorage.getItem(WHO) || "";
    load();
  }

  $("#signin").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    let r;
    try {
      r = await fetch("/auth/login", { method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ username: $("#username").value, password: $("#password").value }) });
    } catch (e) {
      return say("The server cannot be reached.");
    }
    const b = await r.json().catch(() => null);
    if (!r.ok) {
      say(b && b.error ? b.error.message : "Sign-in failed.");
      $("#password").select();
      return;
    }
    sessionStorage.setItem(KEY, b.token);
    sessionStorage.setItem(WHO, `${b.display_name} (${b.role})`);
    $("#password").value = "";
    start();
  });

  $("#signout").addEventListener("click", async () => {
    const t = token();
    if (t) {
      await fetch("/auth/logout", { method: "POST", headers: { Authorization: `Bearer ${t}` } })
        .catch(() => null);
    }
    signedOut("Signed out.");
  });

  if (token()) start(); else signedOut("");
})();
"""
