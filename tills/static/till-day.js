// The till's day beyond the sale: shift open / X / close, cash in and out, returns, pickups,
// product and customer search, discounts and the manager's PIN at the till. Keyboard first:
// every screen has its keys on screen, F5 does the screen's job, Escape backs out.
"use strict";

const Day = (() => {
  const day = {
    shift: null,         // the till's open shift from central (n, status, ...)
    denominations: [],   // notes and coins of the store's currency, minor units, largest first
    back: "sale",        // where Escape goes from the manager prompt
    approve: null,       // what the manager prompt does with {staff_code, pin, note}
    keys: {},            // one Idempotency-Key per action until it succeeds (a retry acts once)
    returnSale: null,
    results: [],
    selected: 0,
    pickup: null,
    exchange: [],        // the new goods of an exchange: {sku, name, quantity, unit_price}
    exchangeTotal: null, // their total as central prices them (null until quoted)
  };
  const key = (action) => (day.keys[action] = day.keys[action] || `${action}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`);
  const done = (action) => { delete day.keys[action]; };
  const focus = (id) => { const el = $(id); el.focus(); if (el.select) el.select(); };

  // ---- denomination counts ------------------------------------------------------------------
  function countFields(container, prefix, totalId) {
    const box = $(container);
    box.innerHTML = "";
    day.denominations.forEach((d, i) => {
      const label = document.createElement("label");
      label.htmlFor = `${prefix}-${d}`;
      label.textContent = `${fmt(d)} ×`;
      const input = document.createElement("input");
      input.id = `${prefix}-${d}`;
      input.className = "count";
      input.dataset.denomination = d;
      input.dataset.index = i;
      input.inputMode = "numeric";
      input.autocomplete = "off";
      input.addEventListener("input", () => { $(totalId).textContent = fmt(countTotal(container)); });
      const cell = document.createElement("div");
      cell.append(label, input);
      box.appendChild(cell);
    });
    $(totalId).textContent = fmt(0);
  }
  function readCount(container) {
    const rows = [];
    for (const input of $(container).querySelectorAll("input.count")) {
      const text = input.value.trim();
      if (!text) continue;
      if (!/^\d{1,6}$/.test(text)) throw new Error(`${fmt(Number(input.dataset.denomination))}: type how many (a whole number).`);
      const quantity = Number(text);
      if (quantity) rows.push({ denomination: Number(input.dataset.denomination), quantity });
    }
    return rows;
  }
  const countTotal = (container) => { try { return readCount(container).reduce((s, r) => s + r.denomination * r.quantity, 0); } catch (e) { return 0; } };

  // Enter moves to the next field of the screen (F5 submits).
  function nextField(e) {
    const screen = document.getElementById(state.screen);
    const fields = [...screen.querySelectorAll("input:not([hidden]):not([disabled]), select")].filter((f) => !f.closest("[hidden]"));
    const at = fields.indexOf(document.activeElement);
    if (at >= 0 && at < fields.length - 1) { e.preventDefault(); focus(fields[at + 1].id); return true; }
    return false;
  }

  // ---- shift --------------------------------------------------------------------------------
  async function afterSignIn(login) {
    if (login.offline) { toSale(); say("Signed in offline: sales are kept on this till until the link is back.", "ok"); return; }
    let info;
    try {
      info = await api("GET", "/api/shift");
    } catch (err) {
      toSale();
      say(`Shift not known: ${err.message}`, "error");
      return;
    }
    state.currency = info.currency || state.currency;
    day.denominations = info.denominations || [];
    day.shift = info.shift;
    if (!info.shift && info.required === false) { toSale(); say("No open shift (this store sells without one): Alt+O opens one.", "ok"); return; }
    if (!info.shift) { openShiftScreen(); return; }
    toSale();
    say(info.shift.status === "review" ? `Shift ${info.shift.n} waits for a manager's approval of its count.` : "", info.shift.status === "review" ? "error" : "ok");
  }

  function toSale() {
    showScreen("sale");
    state.mode = "scan";
    $("scan").value = "";
    $("scan").focus();
  }

  function openShiftScreen(message = "") {
    showScreen("shift-open");
    countFields("open-denoms", "open", "open-total");
    say(message || "Count the float in the drawer: how many of each note and coin.", message ? "ok" : "");
    focus(`open-${day.denominations[0]}`);
  }

  async function openShift() {
    const count = readCount("open-denoms");
    const shift = await api("POST", "/api/shift/open", { float: count }, key("open"));
    done("open");
    day.shift = shift;
    toSale();
    say(`Shift ${shift.n} open with a float of ${fmt(shift.float_amount)}` + (shift.float_difference ? ` (${fmt(shift.float_difference)} from the last close)` : "") + ". Scan the first item.", "ok");
  }

  async function xReport() {
    if (!day.shift) { say("No open shift.", "error"); return; }
    const x = await api("GET", `/api/shift/${day.shift.n}/x`);
    showScreen("x-report");
    $("x-title").textContent = `till ${x.till} · shift ${x.n}`;
    const body = $("x-table").querySelector("tbody");
    body.innerHTML = "";
    const rows = [["Sales", String(x.sales_count)], ["Sales total", fmt(x.sales_total)]];
    for (const [t, v] of Object.entries(x.by_tender)) rows.push([`Taken by ${t.replace("_", " ")}`, fmt(v)]);
    rows.push(["Returns", String(x.returns_count)]);
    for (const [t, v] of Object.entries(x.refunds_by_tender)) rows.push([`Refunded to ${t.replace("_", " ")}`, fmt(v)]);
    for (const [t, v] of Object.entries(x.movements)) rows.push([t.replace("_", " "), fmt(v)]);
    rows.push(["No-sale drawer opens", String(x.no_sales)]);
    for (const [label, value] of rows) {
      const tr = document.createElement("tr");
      tr.innerHTML = "<td></td><td class='num'></td>";
      tr.children[0].textContent = label;
      tr.children[1].textContent = value;
      body.appendChild(tr);
    }
    say("Running totals (read only).");
  }

  function closeScreen() {
    if (!day.shift) { say("No open shift.", "error"); return; }
    showScreen("close");
    countFields("close-denoms", "close", "close-total");
    for (const id of ["close-card", "close-gift", "close-credit"]) $(id).value = "";
    $("close-result").textContent = "";
    say("Count the cash by note and coin, then the card terminal's total.");
    focus(`close-${day.denominations[0]}`);
  }

  function amountOf(id) {
    const text = $(id).value.trim();
    if (!text) return 0;
    const v = parseAmount(text);
    if (v === null) throw new Error(`${$(id).labels[0].textContent}: type an amount, e.g. 120.50.`);
    return v;
  }

  async function closeShift() {
    const body = { cash: readCount("close-denoms"), tenders: [] };
    for (const [id, tender] of [["close-card", "card"], ["close-gift", "gift_card"], ["close-credit", "store_credit"]]) {
      const v = amountOf(id);
      if (v) body.tenders.push({ tender, amount: v });
    }
    const n = day.shift.n;
    const answer = await api("POST", `/api/shift/${n}/close`, body, key(`close-${n}`));
    done(`close-${n}`);
    closed(answer, n);
  }

  function closed(answer, n) {
    if (answer.status === "closed") {
      day.shift = null;
      openShiftScreen(`Shift ${n} closed · Z report ${answer.z_number} printed. Count the float to open the next shift, or F10 to sign out.`);
      $("open-total").dataset.z = answer.z_number;
      return;
    }
    if (answer.status === "review") {
      askManager(`The count differs from what the till expects: a manager approves the close with a note.`, (m) =>
        api("POST", `/api/shift/${n}/approve`, { ...m, decision: "approve" }, key(`approve-${n}`)).then((a) => {
          done(`approve-${n}`);
          closed({ ...a, z_number: a.z_number || "" }, n);
          if (a.status !== "closed") say(a.message || `The shift is ${a.status}.`, "error");
        }), "close");
      return;
    }
    if (answer.status === "closing_offline") {
      day.shift = null;
      showScreen("close");
      $("close-result").textContent = "Closed on this till: the central system closes it (and prints the Z) when the link is back.";
      say("Offline close journalled.", "ok");
      return;
    }
    say(answer.message || `The shift is ${answer.status}.`, "error");
  }

  // ---- cash in / out --------------------------------------------------------------------------
  function cashScreen() {
    if (!day.shift) { say("No open shift.", "error"); return; }
    showScreen("cash");
    $("cash-amount").value = "";
    $("cash-reason").value = "";
    say("");
    $("cash-kind").focus();
  }

  async function recordCash(manager) {
    const kind = $("cash-kind").value;
    const body = { kind, amount: kind === "no_sale" ? 0 : amountOf("cash-amount"), reason: $("cash-reason").value.trim() };
    if (manager) body.manager = manager;
    const n = day.shift.n;
    try {
      await api("POST", `/api/shift/${n}/cash`, body, key(`cash-${n}-${kind}-${body.amount}`));
    } catch (err) {
      if (err.code === "approval_required") {
        askManager(err.message, (m) => recordCash({ staff_code: m.staff_code, pin: m.pin }), "cash");
        return;
      }
      throw err;
    }
    done(`cash-${n}-${kind}-${body.amount}`);
    const what = { paid_in: "Paid in", paid_out: "Paid out", drop: "Dropped to the safe", no_sale: "Drawer opened (no sale)" }[kind];
    toSale();
    say(`${what}${kind === "no_sale" ? "" : " " + fmt(body.amount)}.`, "ok");
  }

  // ---- manager prompt ---------------------------------------------------------------------------
  function askManager(why, approve, back = state.screen) {
    day.back = back === "manager" ? day.back : back;
    day.approve = approve;
    showScreen("manager");
    $("manager-why").textContent = why;
    for (const id of ["manager-staff", "manager-pin", "manager-note"]) $(id).value = "";
    say("");
    $("manager-staff").focus();
  }

  async function managerApproves() {
    const m = { staff_code: $("manager-staff").value.trim(), pin: $("manager-pin").value.trim(), note: $("manager-note").value.trim() };
    if (!m.staff_code) { focus("manager-staff"); return; }
    if (!m.pin) { focus("manager-pin"); return; }
    try {
      await day.approve(m);
    } catch (err) {
      if (state.screen !== "manager") showScreen("manager");
      say(err.message, "error");
      $("manager-pin").value = "";
      focus(err.code === "approval_refused" ? "manager-staff" : "manager-pin");
    }
  }

  // ---- returns -------------------------------------------------------------------------------------
  function returnScreen() {
    showScreen("return");
    day.returnSale = null;
    clearReturn();
    $("return-result").textContent = "";
    say("");
    $("return-receipt").focus();
  }

  function clearReturn() {
    $("return-receipt").value = "";
    $("return-lines").querySelector("tbody").innerHTML = "";
    $("return-options").hidden = true;
    $("return-reason").value = "";
    $("return-new").value = "";
    day.exchange = [];
    day.exchangeTotal = null;
    renderExchange();
  }

  async function lookUpReturn() {
    const receipt = $("return-receipt").value.trim();
    if (!receipt) return;
    const found = await api("GET", `/api/returns/lookup?receipt=${encodeURIComponent(receipt)}`);
    const sale = found[0];
    day.returnSale = sale;
    const body = $("return-lines").querySelector("tbody");
    body.innerHTML = "";
    for (const ln of sale.lines) {
      const tr = document.createElement("tr");
      tr.innerHTML = "<td></td><td></td><td class='num'></td><td class='num'></td><td class='num'><input class='return-qty' inputmode='numeric' autocomplete='off'></td>";
      tr.children[0].textContent = ln.line_no;
      tr.children[1].textContent = ln.name;
      tr.children[2].textContent = ln.quantity;
      tr.children[3].textContent = ln.returnable;
      const input = tr.querySelector("input");
      input.id = `return-qty-${ln.line_no}`;
      input.dataset.line = ln.line_no;
      input.dataset.max = ln.returnable;
      input.dataset.unit = ln.quantity ? ln.gross / ln.quantity : 0;  // what one unit was paid
      input.disabled = ln.returnable < 1;
      input.addEventListener("input", renderExchange);
      body.appendChild(tr);
    }
    $("return-options").hidden = false;
    say(`Sale ${sale.sale_id} · ${fmt(sale.total)}: type how many of each line come back, then F5.`);
    const first = body.querySelector("input:not([disabled])");
    if (first) focus(first.id); else say("Everything of this sale has been returned already.", "error");
  }

  async function submitReturn() {
    if (!day.returnSale) { await lookUpReturn(); return; }
    const disposition = $("return-disposition").value;
    const reason = $("return-reason").value.trim();
    const lines = [];
    for (const input of $("return-lines").querySelectorAll("input.return-qty")) {
      const text = input.value.trim();
      if (!text) continue;
      const q = Number(text);
      if (!Number.isInteger(q) || q < 0 || q > Number(input.dataset.max)) throw new Error(`Line ${input.dataset.line}: at most ${input.dataset.max} can come back.`);
      if (q) lines.push({ line_no: Number(input.dataset.line), quantity: q, disposition, reason });
    }
    if (!lines.length) throw new Error("Type how many come back on at least one line.");
    const returnId = key(`return-${day.returnSale.sale_id}`).replace(/[^A-Za-z0-9_.-]/g, "").slice(0, 40);
    const body = { return_id: returnId, sale_id: day.returnSale.sale_id, lines, refund_to: $("return-refund").value };
    // Store credit goes on a customer's account: the customer attached on the sale screen.
    if (body.refund_to === "store_credit") {
      if (!state.customer) throw new Error("Store credit goes on the customer's account: Esc, Alt+U to attach the customer, then Alt+R again.");
      body.customer_id = state.customer.customer_id;
    }
    // An exchange: the new goods become a sale paid first by the returned goods' value; a
    // difference the customer owes is taken afterwards, on that sale, as on the sale screen.
    if (day.exchange.length) body.exchange = { lines: day.exchange.map((l) => ({ sku: l.sku, quantity: l.quantity })) };
    const answer = await api("POST", "/api/returns", body);
    if (body.customer_id && answer.status === "completed" && !state.basket.length) state.customer = null;  // credited: not on the next sale
    returned(answer, `return-${day.returnSale.sale_id}`);
  }

  // ---- exchange: the new goods on the return screen -------------------------------------------
  async function addExchange() {
    const text = $("return-new").value.trim();
    $("return-new").value = "";
    if (!text) return;
    const m = /^(\d{1,4})\*(.+)$/.exec(text);
    const quantity = m ? Number(m[1]) : 1;
    if (!(quantity >= 1 && quantity <= 9999)) throw new Error("Quantity must be 1 to 9999.");
    const item = await api("GET", `/api/lookup?barcode=${encodeURIComponent(m ? m[2].trim() : text)}`);
    const at = day.exchange.findIndex((l) => l.sku === item.sku);
    if (at >= 0) day.exchange[at].quantity += quantity;
    else day.exchange.push({ sku: item.sku, name: item.name, quantity, unit_price: item.unit_price });
    await quoteExchange();
    say(`${item.name} added to the exchange.`, "ok");
  }

  async function dropExchange() {
    const gone = day.exchange.pop();
    if (!gone) return;
    await quoteExchange();
    say(`${gone.name} removed from the exchange.`, "ok");
  }

  async function quoteExchange() {
    day.exchangeTotal = null;
    renderExchange();
    if (!day.exchange.length) return;
    const q = await api("POST", "/api/quote", { lines: day.exchange.map((l) => ({ sku: l.sku, quantity: l.quantity })) });
    day.exchangeTotal = q.total;
    q.lines.forEach((ln, i) => { if (day.exchange[i]) day.exchange[i].gross = ln.gross; });
    renderExchange();
  }

  // What the lines typed so far bring back (the central system works out the exact refund).
  function returnedValue() {
    let total = 0;
    for (const input of $("return-lines").querySelectorAll("input.return-qty")) {
      const q = Number(input.value.trim() || 0);
      if (Number.isInteger(q) && q > 0 && q <= Number(input.dataset.max)) total += Math.round(Number(input.dataset.unit) * q);
    }
    return total;
  }

  function renderExchange() {
    const body = $("exchange-lines").querySelector("tbody");
    body.innerHTML = "";
    for (const ln of day.exchange) {
      const tr = document.createElement("tr");
      tr.dataset.sku = ln.sku;
      tr.innerHTML = "<td></td><td class='num'></td><td class='num'></td>";
      tr.children[0].textContent = ln.name;
      tr.children[1].textContent = ln.quantity;
      tr.children[2].textContent = ln.gross === undefined ? "…" : fmt(ln.gross);
      body.appendChild(tr);
    }
    $("exchange-lines").hidden = !day.exchange.length;
    const diff = $("exchange-diff");
    if (!day.exchange.length || day.exchangeTotal === null) { diff.textContent = ""; delete diff.dataset.difference; return; }
    const back = returnedValue();
    const d = day.exchangeTotal - back;
    diff.dataset.difference = d;
    diff.textContent = `New goods ${fmt(day.exchangeTotal)} · returned ${fmt(back)} · ` +
      (d > 0 ? `the customer pays ${fmt(d)} (F5, then the tender)` : d < 0 ? `the shop refunds ${fmt(-d)}` : "an even exchange");
  }

  // The exchange sale is open for the difference: the sale screen takes the tender for it.
  function payExchange(answer) {
    const sale = answer.exchange_sale;
    newBasket();
    state.currency = sale.currency || state.currency;
    state.basket = sale.lines.map((l) => ({ sku: l.sku, name: l.name, quantity: l.quantity, unit_price: l.unit_price }));
    state.quote = { lines: sale.lines, subtotal: sale.subtotal, tax_total: sale.tax_total, total: sale.total, currency: sale.currency };
    state.saleId = `x-${answer.return_id}`;
    $("last-sale").innerHTML = "";  // the change shown is of the sale before
    toSale();
    finishSale(sale);
    if (state.screen === "sale" && !(sale.declines || []).length) {
      say(`Exchange: the returned goods pay ${fmt(answer.exchange_credit)} of ${fmt(sale.total)}. ${fmt(sale.due)} still due: F4 cash · F6 card · F7 gift card.`, "ok");
    }
  }

  function refundText(answer) {
    const where = answer.refund_method === "store_credit" ? `${fmt(answer.store_credit)} on store credit` : (answer.refunds || []).map((r) => `${fmt(r.amount)} to ${r.kind.replace("_", " ")}`).join(", ");
    return `Refunded ${fmt(answer.refund_total - (answer.exchange_credit || 0))}` + (where ? `: ${where}` : "") + "." + (answer.cash_out ? ` Give back ${fmt(answer.cash_out)} cash.` : "");
  }

  function returned(answer, action) {
    if (answer.status === "awaiting_approval") {
      askManager(`This return needs a manager: ${(answer.approval_reasons || []).join(" · ") || answer.message}`, (m) =>
        api("POST", `/api/returns/${encodeURIComponent(answer.return_id)}/approve`, m, key(`approve-${answer.return_id}`)).then((a) => {
          done(`approve-${answer.return_id}`);
          showScreen("return");
          returned(a, action);
        }), "return");
      return;
    }
    done(action);
    day.returnSale = null;
    showScreen("return");
    if (answer.status === "rejected") { $("return-result").textContent = `Return refused: ${answer.message}`; say("", ""); return; }
    const sale = answer.exchange_sale;
    clearReturn();
    if (sale && sale.status !== "completed") { payExchange(answer); return; }
    $("return-result").textContent = sale
      ? `Exchanged: the returned goods pay ${fmt(answer.exchange_credit)} for the new goods (${fmt(sale.total)}, sale ${sale.sale_id}).` +
        (answer.refund_total > answer.exchange_credit ? " " + refundText(answer) : "") + " Receipts printed."
      : refundText(answer) + " Return receipt printed.";
    say("Esc back to the sale, or scan the next receipt.", "ok");
    $("return-receipt").focus();
  }

  // ---- void ----------------------------------------------------------------------------------------
  function voidScreen() {
    showScreen("void");
    for (const id of ["void-sale", "void-reason"]) $(id).value = "";
    $("void-result").textContent = "";
    say("");
    $("void-sale").focus();
  }

  async function voidSale(manager = null) {
    const number = $("void-sale").value.trim();
    const reason = $("void-reason").value.trim();
    if (!number) { focus("void-sale"); throw new Error("Scan the receipt or type the sale number."); }
    if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(number)) { focus("void-sale"); throw new Error("That is not a sale number."); }
    if (!reason) { focus("void-reason"); throw new Error("Type why the sale is voided."); }
    const body = { reason, manager };
    let answer;
    try {
      answer = await api("POST", `/api/sales/${encodeURIComponent(number)}/void`, body, key(`void-${number}`));
    } catch (err) {
      if (err.code === "approval_required" && !manager) {
        askManager(`Voiding sale ${number} needs a manager: ${err.message}`, (m) => voidSale({ staff_code: m.staff_code, pin: m.pin }), "void");
        return;
      }
      throw err;
    }
    done(`void-${number}`);
    showScreen("void");
    $("void-sale").value = "";
    $("void-reason").value = "";
    if (answer.status === "rejected") { $("void-result").textContent = `Void refused: ${answer.message}`; say("", "error"); return; }
    $("void-result").textContent = `Sale ${number} voided. ` + refundText(answer) + " Return receipt printed.";
    say("Esc back to the sale, or scan the next receipt.", "ok");
    $("void-sale").focus();
  }

  // ---- pickups -------------------------------------------------------------------------------------
  function pickupScreen() {
    showScreen("pickup");
    day.pickup = null;
    $("pickup-order").value = "";
    $("pickup-code").value = "";
    $("pickup-lines").querySelector("tbody").innerHTML = "";
    say("");
    $("pickup-order").focus();
  }

  async function lookUpPickup() {
    const typed = $("pickup-order").value.trim();
    if (!typed) return;
    const parts = typed.split(":");
    const order = parts.length === 3 ? parts[1] : typed;  // a scanned pickup barcode names its order
    const state_ = await api("GET", `/api/pickups/${encodeURIComponent(order)}`);
    day.pickup = { order, barcode: parts.length === 3 ? typed : null };
    const body = $("pickup-lines").querySelector("tbody");
    body.innerHTML = "";
    for (const ln of state_.lines) {
      const tr = document.createElement("tr");
      tr.innerHTML = "<td></td><td class='num'></td>";
      tr.children[0].textContent = ln.name || ln.sku;
      tr.children[1].textContent = ln.quantity;
      body.appendChild(tr);
    }
    say(`Order ${order}: ${state_.phase}.` + (day.pickup.barcode ? " F5 hands it over." : " Type the customer's pickup code, then F5."), state_.phase === "ready" ? "ok" : "error");
    if (!day.pickup.barcode) $("pickup-code").focus();
  }

  async function handOver() {
    if (!day.pickup) { await lookUpPickup(); return; }
    const body = day.pickup.barcode ? { barcode: day.pickup.barcode } : { code: $("pickup-code").value.trim() };
    if (!body.barcode && !body.code) { focus("pickup-code"); throw new Error("Type the pickup code."); }
    const answer = await api("POST", `/api/pickups/${encodeURIComponent(day.pickup.order)}/handover`, body, key(`pickup-${day.pickup.order}`));
    done(`pickup-${day.pickup.order}`);
    say(answer.phase === "collected" ? `Order ${answer.order_number} handed over.` : (answer.message || answer.phase), answer.phase === "collected" ? "ok" : "error");
    day.pickup = null;
    $("pickup-order").value = "";
    $("pickup-code").value = "";
    $("pickup-order").focus();
  }

  // ---- search: products, customers -------------------------------------------------------------
  function listScreen(name) {
    showScreen(name);
    day.results = [];
    day.selected = 0;
    $(`${name}-q`).value = "";
    $(`${name}-results`).innerHTML = "";
    say("");
    $(`${name}-q`).focus();
  }

  function showResults(name, text) {
    const list = $(`${name}-results`);
    list.innerHTML = "";
    day.results.forEach((r, i) => {
      const li = document.createElement("li");
      li.textContent = text(r);
      if (i === day.selected) li.className = "selected";
      list.appendChild(li);
    });
  }

  async function search(name) {
    const q = $(`${name}-q`).value.trim();
    if (!q) return;
    day.results = await api("GET", `/api/${name === "search" ? "products" : "customers"}?q=${encodeURIComponent(q)}`);
    day.selected = 0;
    day.query = q;
    render_(name);
    say(day.results.length ? "↑ ↓ to select, Enter to take it." : "Nothing found.", day.results.length ? "" : "error");
  }
  function render_(name) {
    if (name === "search") showResults(name, (p) => `${p.name} · ${p.sku} · ${p.unit_price === null ? "no price" : fmt(p.unit_price)}`);
    else showResults(name, (c) => `${c.name} · ${c.email_masked || ""} ${c.phone_masked || ""}`.trim());
  }

  async function take(name) {
    const chosen = day.results[day.selected];
    if (!chosen || $(`${name}-q`).value.trim() !== day.query) { await search(name); return; }
    if (name === "search") {
      toSale();
      const at = state.basket.findIndex((l) => l.sku === chosen.sku);
      if (at >= 0) { state.basket[at].quantity += 1; state.selected = at; }
      else { state.basket.push({ sku: chosen.sku, name: chosen.name, quantity: 1, unit_price: chosen.unit_price }); state.selected = state.basket.length - 1; }
      state.basketStartedAt = state.basketStartedAt || new Date().toISOString();
      say(`${chosen.name} added`, "ok");
      await requote();
    } else {
      state.customer = { customer_id: chosen.customer_id, name: chosen.name };
      toSale();
      render();
      say(`Customer ${chosen.name} attached to the sale.`, "ok");
    }
  }

  // ---- discounts ---------------------------------------------------------------------------------------
  function discountScreen() {
    if (!state.basket.length) { say("Scan something first.", "error"); return; }
    showScreen("discount");
    const line = state.basket[state.selected];
    $("discount-target").textContent = line ? `· line ${state.selected + 1}: ${line.name}` : "";
    $("discount-scope").value = line ? "line" : "basket";
    $("discount-value").value = "";
    say("");
    $("discount-scope").focus();
  }

  async function applyDiscount() {
    const scope = $("discount-scope").value;
    const kind = $("discount-kind").value;
    const text = $("discount-value").value.trim();
    let value;
    if (kind === "percent") {
      if (!/^\d{1,3}(\.\d{1,2})?$/.test(text) || Number(text) > 100) throw new Error("Percent: 0 to 100, e.g. 10 or 12.5.");
      value = Math.round(Number(text) * 100);  // basis points
    } else {
      value = parseAmount(text);
      if (value === null) throw new Error("Type an amount, e.g. 2.50.");
    }
    const adj = { scope, line: scope === "line" ? state.selected + 1 : null, kind, value, reason: $("discount-reason").value };
    state.adjustments = [...state.adjustments.filter((a) => !(a.scope === adj.scope && a.line === adj.line)), adj];
    toSale();
    await requote();
    const needs = (state.quote && state.quote.approval_needed) || [];
    say(needs.length ? `Discount needs a manager when paying: ${needs.join(" · ")}` : "Discount applied.", needs.length ? "error" : "ok");
  }

  function couponScreen() {
    if (!state.basket.length) { say("Scan something first.", "error"); return; }
    showScreen("coupon");
    $("coupon-code").value = "";
    say(state.coupons.length ? `Coupons on this sale: ${state.coupons.join(", ")}` : "");
    $("coupon-code").focus();
  }

  async function applyCoupon() {
    const code = $("coupon-code").value.trim().toUpperCase();
    if (!/^[A-Z0-9_.-]{1,64}$/.test(code)) throw new Error("Type the coupon's code (letters, digits, - _ .).");
    if (!state.coupons.includes(code)) state.coupons = [...state.coupons, code];
    toSale();
    await requote();
    const refused = ((state.quote && state.quote.coupons_refused) || []).filter((r) => r.startsWith(`${code}:`));
    if (refused.length) {
      state.coupons = state.coupons.filter((c) => c !== code);  // never paid with a coupon it refuses
      await requote();
      say(`Coupon refused: ${refused[0]}`, "error");
      return;
    }
    say(`Coupon ${code} applied: ${fmt(state.quote.promotion_total || 0)} off with promotions.`, "ok");
  }

  function renderExtras() {
    const c = $("customer-pill");
    c.hidden = !state.customer;
    c.textContent = state.customer ? `Customer: ${state.customer.name}` : "";
    const a = $("adjust-pill");
    a.hidden = !state.adjustments.length;
    a.textContent = state.adjustments.length ? `Discounts: ${state.adjustments.length}` + (state.quote && state.quote.approval_needed && state.quote.approval_needed.length ? " (needs a manager)" : "") : "";
    const k = $("coupon-pill");
    k.hidden = !state.coupons.length;
    k.textContent = state.coupons.length ? `Coupons: ${state.coupons.join(", ")}` : "";
  }

  // ---- keys ---------------------------------------------------------------------------------------------
  const ALT = {
    KeyX: () => serial(xReport), KeyC: closeScreen, KeyM: cashScreen, KeyR: returnScreen, KeyP: pickupScreen,
    KeyV: voidScreen, KeyS: () => listScreen("search"), KeyU: () => listScreen("customer"), KeyD: discountScreen,
    KeyA: () => serial(abandon), KeyK: couponScreen,
    KeyO: () => (day.shift ? say(`Shift ${day.shift.n} is open already.`, "error") : openShiftScreen()),
  };
  function saleAlt(e) {
    const act = ALT[e.code];
    if (!act) return false;
    act();
    return true;
  }

  async function abandon() {
    if (!state.openSale) { say("No open sale to abandon (Esc clears the scan field).", "error"); return; }
    const answer = await api("POST", `/api/sales/${encodeURIComponent(state.saleId)}/abandon`, undefined, `${state.saleId}:abandon`);
    newBasket();
    say(answer.status === "abandoned" ? "Sale abandoned: card authorizations voided, goods back in stock." : `The sale is ${answer.status}.`, "ok");
  }

  const F5 = {
    "shift-open": openShift, close: closeShift, cash: () => recordCash(null), return: submitReturn,
    pickup: handOver, manager: managerApproves, discount: applyDiscount, void: () => voidSale(null),
    coupon: applyCoupon,
  };
  function onKey(e) {
    const screen = state.screen;
    if (e.key === "F5" && F5[screen]) { e.preventDefault(); serial(F5[screen]); return; }
    if (e.key === "Escape") {
      e.preventDefault();
      if (screen === "manager") { showScreen(day.back); say("Approval cancelled.", "error"); if (day.back === "sale") $("scan").focus(); return; }
      if (screen === "shift-open") { toSale(); say("No open shift: a store that needs one refuses sales until Alt+O opens it.", "error"); return; }
      toSale();
      say("");
      return;
    }
    if (screen === "cash" && document.activeElement === $("cash-kind") && /^[1-4]$/.test(e.key)) {
      e.preventDefault();
      $("cash-kind").selectedIndex = Number(e.key) - 1;
      return;
    }
    if (screen === "return" && e.key.length === 1 && document.activeElement.tagName === "SELECT") {
      const map = { r: "restock", q: "quarantine", d: "damaged", o: "original", s: "store_credit" };
      if (map[e.key]) { e.preventDefault(); const sel = document.activeElement; if ([...sel.options].some((o) => o.value === map[e.key])) sel.value = map[e.key]; return; }
    }
    if (screen === "return" && e.key === "Delete" && document.activeElement === $("return-new") && !$("return-new").value) {
      e.preventDefault();
      serial(dropExchange);
      return;
    }
    if (screen === "discount" && e.key === "Delete") {
      e.preventDefault();
      state.adjustments = [];
      toSale();
      serial(requote).then(() => say("Discounts removed.", "ok"));
      return;
    }
    if (screen === "discount" && document.activeElement.tagName === "SELECT" && e.key.length === 1) {
      const map = { l: "line", b: "basket", p: "percent", a: "amount", n: "price" };
      const sel = document.activeElement;
      if (map[e.key] && [...sel.options].some((o) => o.value === map[e.key])) { e.preventDefault(); sel.value = map[e.key]; return; }
    }
    if (screen === "search" || screen === "customer") {
      if (e.key === "ArrowUp" || e.key === "ArrowDown") {
        e.preventDefault();
        if (!day.results.length) return;
        day.selected = (day.selected + (e.key === "ArrowUp" ? -1 : 1) + day.results.length) % day.results.length;
        render_(screen);
        return;
      }
      if (e.key === "Enter") { e.preventDefault(); serial(() => take(screen)); return; }
      if (screen === "customer" && e.key === "Delete" && !$("customer-q").value) {
        e.preventDefault();
        state.customer = null;
        toSale();
        render();
        say("Customer detached.", "ok");
      }
      return;
    }
    if (e.key === "Enter") {
      if (screen === "return" && document.activeElement === $("return-receipt")) { e.preventDefault(); serial(lookUpReturn); return; }
      if (screen === "return" && document.activeElement === $("return-new") && $("return-new").value.trim()) { e.preventDefault(); serial(addExchange); return; }
      if (screen === "pickup" && document.activeElement === $("pickup-order")) { e.preventDefault(); serial(lookUpPickup); return; }
      if (nextField(e)) return;
      if (F5[screen]) { e.preventDefault(); serial(F5[screen]); }
    }
  }

  // Test payment methods for a simulated card reader (local default and tests): the page's
  // ?testcard=pm_... names what the "customer taps" (central refuses it for a real reader).
  const testCard = () => new URLSearchParams(location.search).get("testcard") || "";

  // A sale or return refused for want of a shift brings the float count up.
  function refused(err) {
    if (err && err.code === "no_open_shift") { day.shift = null; openShiftScreen(err.message); return true; }
    return false;
  }

  return { afterSignIn, key: onKey, saleAlt, askManager, renderExtras, testCard, refused };
})();
