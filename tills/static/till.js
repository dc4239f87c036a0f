// The till page. Plain JS, no build step: it talks only to its local till agent (/api/...),
// which forwards to the central system or sells offline. Every action has a key.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  session: null,
  who: "",
  basket: [],          // {sku, name, quantity, unit_price}
  quote: null,
  selected: -1,
  mode: "scan",        // scan | tender
  tenderKind: "cash",
  split: false,
  parts: [],           // tenders collected in split mode
  saleId: null,        // client sale id of the basket being paid: the same id on every retry
  lastSale: null,
  currency: "EUR",
  busy: Promise.resolve(),
  screen: "login",     // the section shown: login | sale | shift-open | close | return | ...
  openSale: null,      // the central answer while a sale is open (a declined card, an approval)
  adjustments: [],     // discounts and price overrides: {scope, line, kind, value, reason}
  customer: null,      // {customer_id, name} attached to the sale
  coupons: [],         // coupon codes the customer handed over (central prices them)
};

// ---- money --------------------------------------------------------------------------------
const DECIMALS = { JPY: 0, KRW: 0, ISK: 0 };
const decimals = () => (state.currency in DECIMALS ? DECIMALS[state.currency] : 2);
function fmt(minor) {
  const d = decimals();
  const sign = minor < 0 ? "-" : "";
  const abs = Math.abs(minor);
  if (!d) return sign + abs;
  const unit = 10 ** d;
  return `${sign}${Math.floor(abs / unit)}.${String(abs % unit).padStart(d, "0")}`;
}
function parseAmount(text) {
  const t = text.trim().replace(",", ".");
  if (!/^\d+(\.\d{0,3})?$/.test(t)) return null;
  const [whole, frac = ""] = t.split(".");
  const d = decimals();
  if (frac.length > d) return null;
  return Number(whole) * 10 ** d + Number((frac + "000").slice(0, d) || 0);
}

// ---- talking to the agent -----------------------------------------------------------------
async function api(method, path, body, key) {
  const headers = { "content-type": "application/json" };
  if (state.session) headers["X-Till-Session"] = state.session;
  if (key) headers["Idempotency-Key"] = key;
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new Error("The till agent is not answering. Is `tillflow till` running?");
  }
  const data = response.status === 204 ? {} : await response.json().catch(() => ({}));
  if (!response.ok) {
    const message = (data.error && data.error.message) || `Error ${response.status}`;
    if (response.status === 401 && state.session) signOut(message);
    const err = new Error(message);
    err.status = response.status;
    err.code = data.error && data.error.code;
    throw err;
  }
  return data;
}

function say(text, kind = "") {
  const el = (state.session && document.querySelector(`#${state.screen} .message`)) || $("login-message");
  el.textContent = text;
  el.className = `message ${kind}`;
}

// Scans and keys run one after another, so a fast scanner never reorders lines.
function serial(task) {
  state.busy = state.busy.then(task).catch((err) => { if (!Day.refused(err)) say(err.message, "error"); });
  return state.busy;
}

// ---- status bar ---------------------------------------------------------------------------
function showStatus(s) {
  $("till-name").textContent = `Till ${s.till}`;
  const online = $("status-online");
  online.textContent = s.online ? "● Online" : "● Offline: sales are kept on this till";
  online.className = `pill ${s.online ? "online" : "offline"}`;
  const waiting = $("status-waiting");
  waiting.textContent = `Waiting to upload: ${s.waiting}` + (s.needs_attention ? ` · ${s.needs_attention} need a manager` : "");
  waiting.className = `pill ${s.waiting ? "busy" : ""}`;
  waiting.title = s.upload_note || "Sales made offline, waiting to upload";
  const printer = $("status-printer");
  const ok = ["ready", "paper_low", "unknown"].includes(s.printer.state);
  printer.textContent = ok ? `Printer: ${s.printer.state === "paper_low" ? "paper low" : "ready"}` : `Printer: ${s.printer.detail}`;
  printer.className = `pill ${ok ? "" : "alert"}`;
  printer.dataset.state = s.printer.state;
}

function listen() {
  const events = new EventSource("/api/events");
  events.addEventListener("status", (e) => showStatus(JSON.parse(e.data)));
  events.addEventListener("scan", (e) => {
    const { code } = JSON.parse(e.data);
    if (state.session && state.mode === "scan") serial(() => addBarcode(code, 1));
  });
}

// ---- sign in / out ------------------------------------------------------------------------
async function signIn() {
  const staff = $("staff").value.trim();
  const pin = $("pin").value.trim();
  if (!staff) { $("staff").focus(); return; }
  try {
    const s = await api("POST", "/api/login", { staff_code: staff, pin });
    state.session = s.session;
    state.who = s.display_name;
    $("who").textContent = s.display_name + (s.offline ? " (signed in offline)" : "");
    $("pin").value = "";
    newBasket();
    // The till's shift: no open shift means the float count comes first (Day, till-day.js).
    await Day.afterSignIn(s);
  } catch (err) {
    say(err.message, "error");
    $("pin").value = "";
    $("pin").focus();
  }
}

function signOut(message = "") {
  if (state.session) api("POST", "/api/logout").catch(() => {});
  state.session = null;
  showScreen("login");
  $("staff").value = "";
  $("pin").value = "";
  $("login-message").textContent = message;
  $("login-message").className = message ? "message error" : "message";
  $("staff").focus();
}

// ---- screens ------------------------------------------------------------------------------
function showScreen(name) {
  for (const section of document.querySelectorAll("main > section")) section.hidden = section.id !== name;
  state.screen = name;
}

// ---- the basket ---------------------------------------------------------------------------
function newBasket() {
  state.openSale = null;
  state.adjustments = [];
  state.coupons = [];
  state.customer = null;
  state.basketStartedAt = null;  // the first scan: sent with the sale (checkout time)
  state.basket = [];
  state.quote = null;
  state.selected = -1;
  state.parts = [];
  state.split = false;
  state.saleId = null;
  leaveTender();
  render();
}

async function addBarcode(code, quantity) {
  const item = await api("GET", `/api/lookup?barcode=${encodeURIComponent(code)}`);
  state.currency = item.currency || state.currency;
  const at = state.basket.findIndex((l) => l.sku === item.sku);
  if (at >= 0) {
    state.basket[at].quantity += quantity;
    state.selected = at;
  } else {
    state.basket.push({ sku: item.sku, name: item.name, quantity, unit_price: item.unit_price });
    state.basketStartedAt = state.basketStartedAt || new Date().toISOString();
    state.selected = state.basket.length - 1;
  }
  say(`${item.name} added`, "ok");
  await requote();
}

async function requote() {
  state.saleId = null;  // a changed basket is a new sale
  state.parts = [];
  state.openSale = null;
  if (!state.basket.length) { state.quote = null; state.adjustments = []; render(); return; }
  const body = { lines: state.basket.map((l) => ({ sku: l.sku, quantity: l.quantity })) };
  if (state.adjustments.length) body.adjustments = state.adjustments;
  if (state.coupons.length) body.coupon_codes = state.coupons;
  if (state.customer) body.customer_id = state.customer.customer_id;
  state.quote = await api("POST", "/api/quote", body);
  state.currency = state.quote.currency;
  render();
}

function setQuantity(quantity) {
  if (state.selected < 0) { say("Select a line first (↑ ↓).", "error"); return; }
  if (!(quantity >= 1 && quantity <= 9999)) { say("Quantity must be 1 to 9999.", "error"); return; }
  state.basket[state.selected].quantity = quantity;
  return requote();
}

function removeSelected() {
  if (state.selected < 0) return;
  const [gone] = state.basket.splice(state.selected, 1);
  state.selected = Math.min(state.selected, state.basket.length - 1);
  say(`${gone.name} removed`, "ok");
  return requote();
}

function render() {
  const body = $("basket").querySelector("tbody");
  body.innerHTML = "";
  const priced = state.quote ? state.quote.lines : [];
  state.basket.forEach((line, i) => {
    const row = document.createElement("tr");
    row.dataset.sku = line.sku;
    if (i === state.selected) row.className = "selected";
    const p = priced[i];
    for (const [text, cls] of [[i + 1, ""], [line.name, ""], [line.quantity, "num"],
                               [fmt(p ? p.unit_price : line.unit_price || 0), "num"],
                               [p ? fmt(p.gross) + (p.discount ? ` (−${fmt(p.discount)})` : "") : "…", "num"]]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      if (cls) cell.className = cls;
      row.appendChild(cell);
    }
    body.appendChild(row);
  });
  const q = state.quote;
  $("subtotal").textContent = fmt(q ? q.subtotal : 0);
  $("tax").textContent = fmt(q ? q.tax_total : 0);
  $("tax-label").textContent = q && q.prices_include_tax ? "Tax included" : "Tax";
  $("total").textContent = fmt(q ? q.total : 0);
  const paid = state.parts.reduce((sum, t) => sum + t.amount, 0);
  $("paid-row").hidden = !state.parts.length;
  $("paid").textContent = fmt(paid);
  Day.renderExtras();
}

// ---- paying -------------------------------------------------------------------------------
const due = () => (state.openSale ? state.openSale.due : (state.quote ? state.quote.total : 0)) - state.parts.reduce((s, t) => s + t.amount, 0);
const LABELS = { cash: "Cash given", card: "Card amount", gift_card: "Gift card amount" };

function enterTender(kind) {
  if (!state.quote) { say("Scan something first.", "error"); return; }
  state.mode = "tender";
  state.tenderKind = kind;
  $("tender").hidden = false;
  $("tender-label").textContent = (state.split ? "Split · " : "") + LABELS[kind];
  $("amount").value = fmt(Math.max(due(), 0));
  const gift = kind === "gift_card";
  $("gift-code").hidden = !gift;
  $("gift-label").hidden = !gift;
  $("gift-code").value = "";
  (gift ? $("gift-code") : $("amount")).focus();
  $("amount").select();
}

function leaveTender() {
  state.mode = "scan";
  $("tender").hidden = true;
  $("scan").value = "";
  $("scan").focus();
}

async function takeTender() {
  const amount = parseAmount($("amount").value);
  if (!amount) { say("Type the amount, e.g. 50 or 12.50.", "error"); $("amount").select(); return; }
  const tender = { kind: state.tenderKind, amount };
  if (state.tenderKind === "gift_card") {
    tender.reference = $("gift-code").value.trim();
    if (!tender.reference) { say("Scan or type the gift card code.", "error"); $("gift-code").focus(); return; }
  }
  if (state.tenderKind === "card" && Day.testCard()) tender.simulate = Day.testCard();
  const tenders = [...state.parts, tender];
  const given = tenders.reduce((s, t) => s + t.amount, 0);
  if (state.openSale) { await pay(tenders); return; }
  if (state.split && given < state.quote.total) {
    state.parts = tenders;
    render();
    say(`${fmt(due())} still due: F4 cash · F6 card · F7 gift card`, "ok");
    leaveTender();
    return;
  }
  if (given < state.quote.total) { say(`${fmt(state.quote.total - given)} still due.`, "error"); return; }
  await pay(tenders);
}

async function pay(tenders) {
  state.saleId = state.saleId || `${($("till-name").textContent.replace("Till ", "") || "T")}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const body = { client_sale_id: state.saleId, lines: state.basket.map((l) => ({ sku: l.sku, quantity: l.quantity })), tenders };
  if (state.adjustments.length) body.adjustments = state.adjustments;
  if (state.coupons.length) body.coupon_codes = state.coupons;
  if (state.customer) body.customer_id = state.customer.customer_id;
  if (state.basketStartedAt) body.basket_started_at = state.basketStartedAt;
  say("Taking payment…");
  let sale;
  try {
    // A sale left open (declined card) takes the new tender on the same sale, never a new one.
    sale = state.openSale
      ? await api("POST", `/api/sales/${encodeURIComponent(state.saleId)}/tenders`, { tenders: tenders.slice(-1) }, `${state.saleId}:t:${Date.now()}`)
      : await api("POST", "/api/sales", body);
  } catch (err) {
    state.parts = [];
    render();
    if (Day.refused(err)) return;
    say(err.message, "error");
    $("amount").select();
    return;
  }
  finishSale(sale);
}

function finishSale(sale) {
  if (sale.status === "abandoned") { newBasket(); say("Sale abandoned: nothing was charged.", "ok"); return; }
  if (sale.status && sale.status !== "completed") {
    state.openSale = sale;
    state.parts = [];
    render();
    if ((sale.approval_needed || []).length) {
      leaveTender();
      Day.askManager(`Needs a manager: ${sale.approval_needed.join(" · ")}`, (m) =>
        api("POST", `/api/sales/${encodeURIComponent(state.saleId)}/approve`, m, `${state.saleId}:approve`).then((answer) => {
          showScreen("sale");
          finishSale(answer);
        }));
      return;
    }
    const why = (sale.declines || []).join(" ") || `The sale is ${sale.status}.`;
    leaveTender();
    say(`${why} ${fmt(sale.due)} still due: F4 cash · F6 card · F7 gift card · Alt+A abandon.`, "error");
    return;
  }
  state.lastSale = sale.sale_id;
  const last = $("last-sale");
  last.innerHTML = "";
  const line = document.createElement("div");
  line.textContent = `Sale ${sale.sale_id} · total ${fmt(sale.total)}` + (sale.offline ? " · saved offline" : "");
  const change = document.createElement("div");
  change.className = "change";
  change.id = "change";
  change.textContent = `Change due ${fmt(sale.change_due)}`;
  last.append(line, change);
  for (const w of sale.warnings || []) {
    const warn = document.createElement("div");
    warn.textContent = w;
    last.appendChild(warn);
  }
  if (sale.printer && sale.printer !== "printed") {
    const p = document.createElement("div");
    p.textContent = `Receipt: ${sale.printer}`;
    last.appendChild(p);
  }
  newBasket();
  say("Next customer: scan the first item.", "ok");
}

async function reprint() {
  const typed = $("scan").value.trim();
  const id = typed || state.lastSale;
  if (!id) { say("No sale to reprint yet: type its number, then F9.", "error"); return; }
  await api("POST", `/api/sales/${encodeURIComponent(id)}/reprint`);
  $("scan").value = "";
  say(`Receipt ${id} sent to the printer (REPRINT).`, "ok");
}

// ---- keys ---------------------------------------------------------------------------------
function onScanKey(e) {
  const input = $("scan");
  const text = input.value.trim();
  if (e.key === "Enter") {
    e.preventDefault();
    const m = /^(\d{1,4})\*(.*)$/.exec(text);
    input.value = "";
    if (m && !m[2]) return serial(() => setQuantity(Number(m[1])));
    if (m) return serial(() => addBarcode(m[2].trim(), Number(m[1])));
    if (text) return serial(() => addBarcode(text, 1));
    return;
  }
  if (text) return;  // the keys below act on the basket only while the field is empty
  if (e.key === "ArrowUp" || e.key === "ArrowDown") {
    e.preventDefault();
    if (!state.basket.length) return;
    const step = e.key === "ArrowUp" ? -1 : 1;
    state.selected = (state.selected + step + state.basket.length) % state.basket.length;
    render();
  } else if (e.key === "Delete") {
    e.preventDefault();
    serial(removeSelected);
  } else if (e.key === "+" || e.key === "-") {
    e.preventDefault();
    if (state.selected >= 0) serial(() => setQuantity(state.basket[state.selected].quantity + (e.key === "+" ? 1 : -1)));
  }
}

document.addEventListener("keydown", (e) => {
  if (!state.session) {
    if (e.key === "Enter") {
      e.preventDefault();
      if (document.activeElement === $("staff")) $("pin").focus();
      else signIn();
    }
    return;
  }
  const fkeys = { F2: 1, F3: 1, F4: 1, F5: 1, F6: 1, F7: 1, F8: 1, F9: 1, F10: 1 };
  if (e.key in fkeys) e.preventDefault();
  if (state.screen !== "sale") { if (e.key === "F10") signOut(); else Day.key(e); return; }
  if (e.altKey && state.mode === "scan" && Day.saleAlt(e)) { e.preventDefault(); return; }
  if (e.key === "Escape") {
    e.preventDefault();
    if (state.mode === "tender") leaveTender();
    else if (state.split) { state.split = false; state.parts = []; render(); say("Split cancelled."); }
    else $("scan").value = "";
    return;
  }
  if (e.key === "F10") return signOut();
  if (state.mode === "tender") {
    if (e.key === "Enter") {
      e.preventDefault();
      if (document.activeElement === $("gift-code")) $("amount").focus();
      else serial(takeTender);
    }
    return;
  }
  switch (e.key) {
    case "F2": {
      const n = Number($("scan").value.trim());
      $("scan").value = "";
      return serial(() => setQuantity(n));
    }
    case "F3": return serial(removeSelected);
    case "F4": return enterTender("cash");
    case "F6": return enterTender("card");
    case "F7": return enterTender("gift_card");
    case "F8":
      state.split = !state.split;
      state.parts = [];
      render();
      return say(state.split ? "Split payment: F4 cash · F6 card · F7 gift card, one part at a time." : "Split off.", "ok");
    case "F9": return serial(reprint);
    default:
      if (document.activeElement === $("scan")) onScanKey(e);
      else if (e.key.length === 1 && !e.ctrlKey && !e.altKey && !e.metaKey) $("scan").focus();
  }
});

api("GET", "/api/status").then(showStatus).catch((err) => say(err.message, "error"));
listen();
$("staff").focus();
