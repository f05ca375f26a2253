// Hemicycle moderator UI: keyboard review, claims, decisions, bulk, live updates.
// No inline script is allowed by the Content-Security-Policy: everything lives here.
"use strict";

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
const csrf = () => ($('meta[name="csrf-token"]') || {}).content || "";

function toast(text, bad = false) {
  const box = $("#toast");
  if (!box) return;
  const msg = document.createElement("div");
  msg.className = "msg" + (bad ? " bad" : "");
  msg.textContent = text;
  box.appendChild(msg);
  setTimeout(() => msg.remove(), bad ? 9000 : 3500);
}

// One key per action: a retried request or a double submit is one decision on the server.
function idempotencyKey() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function api(path, body, options = {}) {
  if (options.idempotent) body = { ...body, idempotency_key: idempotencyKey() };
  const send = () => fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
    body: JSON.stringify(body),
    keepalive: !!options.keepalive,
  });
  let response;
  try {
    response = await send();
  } catch (err) {
    if (!options.idempotent) throw err;
    response = await send(); // a network failure: the same request again, the same key
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const detail = typeof data.detail === "string" ? data.detail
      : Array.isArray(data.detail) ? data.detail.map((e) => `${(e.loc || []).slice(-1)[0] || "request"}: ${e.msg}`).join("; ")
      : JSON.stringify(data.detail);
    const error = new Error(detail || response.statusText);
    error.status = response.status;
    throw error;
  }
  return data;
}

// Dialogs: one open at a time, modal: focus moves in and stays in (Tab cycles), Esc closes,
// and focus goes back where it was.
let openDialog = null;
let returnFocus = null;
const FOCUSABLE = "button, [href], input:not([type=hidden]), select, textarea, [tabindex]:not([tabindex='-1'])";
const focusables = (root) => $$(FOCUSABLE, root).filter((el) => !el.disabled && el.getClientRects().length);
function show(id) {
  closeDialog();
  openDialog = document.getElementById(id);
  if (openDialog) {
    returnFocus = document.activeElement;
    openDialog.hidden = false;
    openDialog.setAttribute("aria-modal", "true");
    if (!openDialog.hasAttribute("tabindex")) openDialog.tabIndex = -1;
    openDialog.focus();
  }
  return openDialog;
}
function closeDialog() {
  if (openDialog) {
    openDialog.hidden = true;
    if (returnFocus && returnFocus !== document.body && document.contains(returnFocus)) returnFocus.focus();
    else if (document.activeElement) document.activeElement.blur();
  }
  openDialog = null;
  returnFocus = null;
}
document.addEventListener("keydown", (ev) => {
  if (!openDialog || ev.key !== "Tab") return;
  const inside = focusables(openDialog);
  if (!inside.length) { ev.preventDefault(); openDialog.focus(); return; }
  const first = inside[0], last = inside[inside.length - 1];
  const at = document.activeElement;
  if (ev.shiftKey && (at === first || !openDialog.contains(at) || at === openDialog)) { ev.preventDefault(); last.focus(); }
  else if (!ev.shiftKey && (at === last || !openDialog.contains(at))) { ev.preventDefault(); first.focus(); }
});
document.addEventListener("focusin", (ev) => {
  if (openDialog && !openDialog.contains(ev.target)) (focusables(openDialog)[0] || openDialog).focus();
});

// Claims are renewed while a page holds one, but only a key or a click counts as someone being
// there: a forgotten tab loses its claim after HEMICYCLE_UI_IDLE_RELEASE_S.
let interacted = false;
["keydown", "pointerdown"].forEach((type) => document.addEventListener(type, () => { interacted = true; }, true));
function keepClaim(currentCid, lost) {
  let wait = 30000;
  const tick = async () => {
    const cid = currentCid();
    if (cid) {
      try {
        const got = await api("/api/renew", { cid, active: interacted });
        interacted = false;
        wait = Math.max(1000, (got.renew_s || 30) * 1000);
        if (!got.granted) lost(cid, got);
      } catch (err) { /* the next renewal tries again */ }
    }
    setTimeout(tick, wait);
  };
  setTimeout(tick, wait);
}
function lostMessage(cid, got) {
  if (got.idle_released) return `Your claim on ${cid} was released: no key or click for a while.`;
  return got.holder ? `${cid} is now taken by ${got.holder}.` : `Your claim on ${cid} ran out.`;
}
document.addEventListener("click", (ev) => {
  if (ev.target.closest("[data-close]")) closeDialog();
  if (ev.target.closest("[data-help]")) show("help");
});

// Ask for a rejection reason (and optional statement) or an escalation note.
function askReason() {
  return new Promise((resolve) => {
    const dialog = show("reject-dialog");
    if (!dialog) return resolve(null);
    const statement = $("#reject-statement");
    statement.value = "";
    const codes = $$("[data-reason]", dialog).map((b) => b.dataset.reason);
    const done = (code) => {
      cleanup();
      closeDialog();
      resolve(code ? { reason_code: code, statement: statement.value.trim() || null } : null);
    };
    const onKey = (ev) => {
      if (ev.target === statement) {
        if (ev.key === "Escape") { ev.preventDefault(); statement.blur(); }
        return;
      }
      if (ev.key === "Escape") { ev.preventDefault(); done(null); }
      else if (ev.key === "s") { ev.preventDefault(); statement.focus(); }
      else if (/^[1-9]$/.test(ev.key) && codes[Number(ev.key) - 1]) {
        ev.preventDefault();
        ev.stopPropagation();
        done(codes[Number(ev.key) - 1]);
      }
    };
    const onClick = (ev) => {
      const button = ev.target.closest("[data-reason]");
      if (button) done(button.dataset.reason);
      else if (ev.target.closest("[data-close]")) done(null);
    };
    const cleanup = () => {
      document.removeEventListener("keydown", onKey, true);
      dialog.removeEventListener("click", onClick);
    };
    document.addEventListener("keydown", onKey, true);
    dialog.addEventListener("click", onClick);
  });
}

// One line of text from an open dialog: Enter (not Shift+Enter) or the send button gives
// it trimmed (never empty), Escape or a close button null.
function askText(dialog, field, sendSelector) {
  return new Promise((resolve) => {
    const done = (value) => {
      cleanup();
      closeDialog();
      resolve(value);
    };
    const onKey = (ev) => {
      if (ev.key === "Escape") { ev.preventDefault(); ev.stopPropagation(); done(null); }
      else if (ev.key === "Enter" && !ev.shiftKey && ev.target === field) {
        ev.preventDefault();
        ev.stopPropagation();
        if (field.value.trim()) done(field.value.trim());
      }
    };
    const onClick = (ev) => {
      if (ev.target.closest(sendSelector) && field.value.trim()) done(field.value.trim());
      else if (ev.target.closest("[data-close]")) done(null);
    };
    const cleanup = () => {
      document.removeEventListener("keydown", onKey, true);
      dialog.removeEventListener("click", onClick);
    };
    document.addEventListener("keydown", onKey, true);
    dialog.addEventListener("click", onClick);
  });
}

function askNote() {
  const dialog = show("escalate-dialog");
  if (!dialog) return Promise.resolve(null);
  const note = $("#escalate-note");
  note.value = "";
  setTimeout(() => note.focus(), 0);
  return askText(dialog, note, "[data-escalate-send]");
}

// Collect what a decision needs; null if the moderator cancelled.
async function decisionDetails(decision) {
  if (decision === "reject") return askReason();
  if (decision === "escalate") {
    const note = await askNote();
    return note ? { statement: note } : null;
  }
  return {};
}

const PAST = { approve: "Approved", reject: "Rejected", escalate: "Escalated" };

async function decideOne(el, decision, details) {
  return api("/api/decide", {
    cid: el.dataset.cid,
    decision,
    seen_version: Number(el.dataset.version),
    seen_decisions: Number(el.dataset.decisions),
    reason_code: details.reason_code || null,
    statement: details.statement || null,
  }, { idempotent: true });
}

// No silent flip: changing a human decision's outcome asks why and says whose it reverses.
function confirmReversal(el, decision, details) {
  const final = el.dataset.final;
  if (!final || final === decision) return Promise.resolve(details);
  const dialog = show("reverse-dialog");
  if (!dialog) return Promise.resolve(details);
  const reason = $("#reverse-reason");
  $("#reverse-what").textContent = `This reverses ${el.dataset.finalBy}'s decision (${PAST[final].toLowerCase()}): ${PAST[decision].toLowerCase()} instead. Say why.`;
  reason.value = details.statement || "";
  setTimeout(() => reason.focus(), 0);
  return askText(dialog, reason, "[data-reverse-send]").then(
    (value) => (value ? { ...details, statement: value } : null),
  );
}

async function detailsFor(el, decision) {
  const details = await decisionDetails(decision);
  return details && confirmReversal(el, decision, details);
}

// Undo: the decision toast offers it for a few seconds, across the page change that follows.
const UNDO_MS = 6000;
function offerUndo(cid, decision, state) {
  const last = (state.decisions || [])[state.decisions.length - 1];
  if (!last || !last.event_id) { toast(`${PAST[decision]} ${cid}`); return; }
  const offer = { cid, event_id: last.event_id, text: `${PAST[decision]} ${cid}`, until: Date.now() + UNDO_MS };
  sessionStorage.setItem("hemicycle-undo", JSON.stringify(offer));
  showUndo(offer);
}
function showUndo(offer) {
  const box = $("#toast");
  const left = offer.until - Date.now();
  if (!box || left <= 0) { sessionStorage.removeItem("hemicycle-undo"); return; }
  const msg = document.createElement("div");
  msg.className = "msg undo";
  msg.textContent = offer.text + " ";
  const button = document.createElement("button");
  button.type = "button";
  button.className = "link undo-button";
  button.textContent = "Undo (z)";
  msg.appendChild(button);
  box.appendChild(msg);
  const expire = () => { msg.remove(); if (sessionStorage.getItem("hemicycle-undo") === JSON.stringify(offer)) sessionStorage.removeItem("hemicycle-undo"); };
  const timer = setTimeout(expire, left);
  button.addEventListener("click", async () => {
    button.disabled = true;
    clearTimeout(timer);
    expire();
    try {
      const state = await api("/api/undo", { cid: offer.cid, event_id: offer.event_id }, { idempotent: true });
      const words = { needs_review: "back in review", auto_hidden: "hidden again, in review", auto_approved: "approved by the policy again" };
      toast(`Undone: ${offer.cid} is ${words[state.state] || `${state.state} again`}`);
      window.dispatchEvent(new CustomEvent("hemicycle:undone", { detail: state }));
    } catch (err) { toast(err.message, true); }
  });
}
document.addEventListener("keydown", (ev) => {
  if (ev.key !== "z" || openDialog || typing(ev) || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const button = $("#toast .undo-button:not(:disabled)");
  if (button) { ev.preventDefault(); button.click(); }
});

function typing(ev) {
  const t = ev.target;
  return t && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName));
}

// ---------------------------------------------------------------- queue page
function queuePage() {
  const table = $("body[data-page=queue] #queue");
  if (!table) return;
  let cursor = 0;
  const selected = new Set();
  const rows = () => $$("#rows tr[data-cid]");
  table.setAttribute("role", "grid");
  table.setAttribute("aria-label", "Queue: j and k move, n claims the next item, Enter opens");
  const mineRow = () => { const label = $("#rows .holder.mine"); return label ? label.closest("tr").dataset.cid : null; };
  let mine = mineRow();
  keepClaim(() => mine, (cid, got) => { toast(lostMessage(cid, got), true); mine = null; refresh(); });

  // "Next item": the server claims the next item of this view nobody else has, atomically.
  async function nextItem() {
    try {
      const got = await api("/api/next", { view: location.search.slice(1), previous: mine });
      mine = got.cid;
      await refresh();
      const list = rows();
      const index = list.findIndex((r) => r.dataset.cid === got.cid);
      if (index < 0) { location.href = got.href + "?back=" + encodeURIComponent(location.pathname + location.search); return; }
      cursor = index;
      paint();
      list[index].scrollIntoView({ block: "nearest" });
      toast(`Yours: ${got.cid} (Enter opens it)`);
    } catch (err) { toast(err.message, true); }
  }

  function paint() {
    const list = rows();
    if (cursor >= list.length) cursor = Math.max(0, list.length - 1);
    list.forEach((row, i) => {
      row.classList.toggle("cursor", i === cursor);
      row.setAttribute("aria-selected", i === cursor ? "true" : "false");
      row.classList.toggle("selected", selected.has(row.dataset.cid));
      const box = $(".select", row);
      if (box) box.checked = selected.has(row.dataset.cid);
    });
    const bar = $("#bulkbar");
    if (bar) {
      bar.hidden = selected.size === 0;
      $("#selected-count").textContent = String(selected.size);
    }
  }
  const current = () => rows()[cursor];
  function move(delta) {
    const list = rows();
    if (!list.length) return;
    cursor = Math.min(list.length - 1, Math.max(0, cursor + delta));
    paint();
    list[cursor].scrollIntoView({ block: "nearest" });
  }

  async function act(decision) {
    const targets = selected.size ? rows().filter((r) => selected.has(r.dataset.cid)) : [current()].filter(Boolean);
    if (!targets.length) return;
    const details = targets.length === 1 ? await detailsFor(targets[0], decision) : await decisionDetails(decision);
    if (!details) return;
    if (targets.length > 1) {
      try {
        const result = await api("/api/bulk", { decision, ids: targets.map((r) => r.dataset.cid), ...details }, { idempotent: true });
        result.decided.forEach((cid) => markDone(cid));
        const skipped = Object.entries(result.skipped);
        toast(`${PAST[decision]} ${result.decided.length} items` + (skipped.length ? `; skipped ${skipped.length}: ${skipped.map(([c, why]) => `${c} (${why})`).join(", ")}` : ""), skipped.length > 0);
        selected.clear();
      } catch (err) { toast(err.message, true); }
    } else {
      const row = targets[0];
      try {
        const state = await decideOne(row, decision, details);
        selected.delete(row.dataset.cid);
        markDone(row.dataset.cid);
        offerUndo(row.dataset.cid, decision, state);
      } catch (err) { toast(err.message, true); refresh(); }
    }
    paint();
  }

  function markDone(cid) {
    const row = rows().find((r) => r.dataset.cid === cid);
    if (!row) return;
    const index = rows().indexOf(row);
    row.remove();
    if (index < cursor) cursor -= 1;
    paint();
  }

  // One refresh runs at a time; a call made while one runs gets the next one, which starts after
  // it, so a caller that awaits refresh() always sees rows fetched after its own call.
  let running = Promise.resolve();
  let queued = null;
  function refresh() {
    if (queued) return queued;
    queued = running.then(() => { queued = null; return reload(); });
    running = queued.catch(() => {});
    return queued;
  }
  async function reload() {
    const response = await fetch(table.dataset.rowsUrl, { headers: { Accept: "text/html" } });
    if (!response.ok) return;
    const holder = document.createElement("table");
    holder.innerHTML = await response.text();
    const fresh = $("tbody", holder);
    if (!fresh) return;
    const keep = current() ? current().dataset.cid : null;
    const old = $("#rows");
    const oldIndex = cursor;
    old.replaceWith(fresh);
    const list = rows();
    const found = list.findIndex((r) => r.dataset.cid === keep);
    cursor = found >= 0 ? found : Math.min(oldIndex, Math.max(0, list.length - 1));
    const present = new Set(list.map((r) => r.dataset.cid));
    for (const cid of Array.from(selected)) if (!present.has(cid)) selected.delete(cid);
    paint();
  }

  table.addEventListener("click", (ev) => {
    const row = ev.target.closest("tr[data-cid]");
    if (!row) return;
    cursor = rows().indexOf(row);
    if (ev.target.classList.contains("select")) {
      selected.has(row.dataset.cid) ? selected.delete(row.dataset.cid) : selected.add(row.dataset.cid);
    }
    paint();
  });
  $$("[data-bulk]").forEach((b) => b.addEventListener("click", () => act(b.dataset.bulk)));
  const clear = $("[data-clear-selection]");
  if (clear) clear.addEventListener("click", () => { selected.clear(); paint(); });

  document.addEventListener("keydown", (ev) => {
    if (openDialog || typing(ev) || ev.ctrlKey || ev.metaKey || ev.altKey) {
      if (ev.key === "Escape") {
        if (openDialog) closeDialog();
        else if (typing(ev)) { ev.preventDefault(); ev.target.blur(); } // no focus trap in a field
      }
      return;
    }
    const tabs = $$(".tabs a");
    const keys = {
      j: () => move(1), k: () => move(-1),
      ArrowDown: () => move(1), ArrowUp: () => move(-1),
      x: () => {
        const row = current();
        if (!row) return;
        selected.has(row.dataset.cid) ? selected.delete(row.dataset.cid) : selected.add(row.dataset.cid);
        paint();
      },
      a: () => act("approve"), r: () => act("reject"), e: () => act("escalate"),
      Enter: () => { const row = current(); if (row) location.href = row.dataset.href + "?back=" + encodeURIComponent(location.pathname + location.search); },
      "?": () => show("help"),
      "/": () => { const search = $("#search"); if (search) { search.focus(); search.select(); } },
      n: nextItem,
      Escape: () => { selected.clear(); paint(); },
    };
    keys.o = keys.Enter;
    if (/^[1-9]$/.test(ev.key) && tabs[Number(ev.key) - 1]) { location.href = tabs[Number(ev.key) - 1].href; return; }
    const handler = keys[ev.key];
    if (handler) { ev.preventDefault(); handler(); }
  });

  // Live updates: counts by server-sent events; the list is re-fetched when they change.
  if (window.EventSource) {
    const source = new EventSource("/events");
    let first = true;
    source.addEventListener("counts", (ev) => {
      const counts = JSON.parse(ev.data);
      $$(".tabs a[data-tab]:not([data-facet])").forEach((a) => {
        const total = a.dataset.states.split(",").reduce((n, s) => n + (counts[s] || 0), 0);
        const badge = $(".count", a);
        if (badge) badge.textContent = String(total);
      });
      if (!first) refresh();
      first = false;
    });
    window.addEventListener("pagehide", () => source.close());
  }
  window.addEventListener("hemicycle:undone", () => refresh());
  const save = $("[data-save-view]");
  if (save) save.addEventListener("click", async () => {
    const name = $("#view-name").value.trim();
    if (!name) { toast("Name the view first.", true); $("#view-name").focus(); return; }
    try {
      const got = await api("/api/views", { name, view: location.search.slice(1) });
      const link = document.createElement("a");
      link.href = got.href;
      link.dataset.view = got.name;
      link.textContent = got.name;
      const views = $("#views");
      $$(`a[data-view]`, views).filter((a) => a.dataset.view === got.name).forEach((a) => a.remove());
      $$(".muted", views).forEach((m) => m.remove());
      views.insertBefore(link, $("label", views));
      views.insertBefore(document.createTextNode(" "), $("label", views));
      $("#view-name").value = "";
      toast(`Saved view “${got.name}”`);
    } catch (err) { toast(err.message, true); }
  });
  paint();
}

// ---------------------------------------------------------------- review page
function itemPage() {
  const item = $("#item");
  if (!item) return;
  const cid = item.dataset.cid;
  const taken = !!item.dataset.taken;
  let left = false;

  if (!taken) {
    // Keep the claim while someone is there; give it back on leaving.
    keepClaim(() => (left ? null : cid), (lostCid, got) => toast(lostMessage(lostCid, got), true));
    window.addEventListener("pagehide", () => {
      if (!left) api("/api/release", { cid }, { keepalive: true }).catch(() => {});
    });
  }

  async function act(decision) {
    if (taken) { toast($("#taken").textContent, true); return; }
    const details = await detailsFor(item, decision);
    if (!details) return;
    try {
      const state = await decideOne(item, decision, details);
      $("#state").textContent = state.state;
      left = true;
      offerUndo(cid, decision, state);
      setTimeout(() => { location.href = item.dataset.back; }, 400);
    } catch (err) { toast(err.message, true); }
  }

  async function bulk() {
    const dialog = show("bulk-dialog");
    const buttons = $$("[data-bulk-target]", dialog);
    const run = async (button) => {
      closeDialog();
      const decision = button.dataset.bulkDecision;
      const details = await decisionDetails(decision);
      if (!details) return;
      const target = button.dataset.bulkTarget;
      const body = { decision, ...details };
      body[target] = item.dataset[target];
      try {
        const result = await api("/api/bulk", body, { idempotent: true });
        const skipped = Object.keys(result.skipped).length;
        toast(`${PAST[decision]} ${result.decided.length} items` + (skipped ? `, ${skipped} skipped (taken or decided)` : ""), skipped > 0);
        if (result.decided.includes(cid)) { left = true; setTimeout(() => { location.href = item.dataset.back; }, 600); }
      } catch (err) { toast(err.message, true); }
    };
    const onKey = (ev) => {
      if (openDialog !== dialog) return document.removeEventListener("keydown", onKey, true);
      if (/^[1-9]$/.test(ev.key) && buttons[Number(ev.key) - 1]) {
        ev.preventDefault(); ev.stopPropagation();
        document.removeEventListener("keydown", onKey, true);
        run(buttons[Number(ev.key) - 1]);
      }
    };
    document.addEventListener("keydown", onKey, true);
    buttons.forEach((b) => { b.onclick = () => { document.removeEventListener("keydown", onKey, true); run(b); }; });
  }

  $$("[data-act]").forEach((b) => b.addEventListener("click", () => (b.dataset.act === "bulk" ? bulk() : act(b.dataset.act))));
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && openDialog) { closeDialog(); return; }
    if (openDialog || typing(ev) || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const keys = {
      a: () => act("approve"), r: () => act("reject"), e: () => act("escalate"), b: bulk,
      u: () => { location.href = item.dataset.back; }, Escape: () => { location.href = item.dataset.back; },
      n: async () => {
        const back = item.dataset.back;
        try {
          const got = await api("/api/next", { view: back.split("?")[1] || "", previous: taken ? null : cid });
          left = true;
          location.href = got.href + "?back=" + encodeURIComponent(back);
        } catch (err) { toast(err.message, true); }
      },
      "?": () => show("help"),
    };
    const handler = keys[ev.key];
    if (handler) { ev.preventDefault(); handler(); }
  });
}

// ---------------------------------------------------------------- translator
function translatePages() {
  const list = $("body[data-page=translate] #queue");
  if (list) {
    let cursor = 0;
    const rows = () => $$("#rows tr[data-cid]");
    const paint = () => rows().forEach((r, i) => r.classList.toggle("cursor", i === cursor));
    document.addEventListener("keydown", (ev) => {
      if (typing(ev) || openDialog) { if (ev.key === "Escape") closeDialog(); return; }
      if (ev.key === "j") { cursor = Math.min(rows().length - 1, cursor + 1); paint(); }
      else if (ev.key === "k") { cursor = Math.max(0, cursor - 1); paint(); }
      else if ((ev.key === "Enter" || ev.key === "o") && rows()[cursor]) location.href = rows()[cursor].dataset.href;
      else if (ev.key === "?") show("help");
    });
    paint();
  }
  $$("[data-autosubmit]").forEach((s) => s.addEventListener("change", () => s.form.submit()));

  const editor = $("#translate");
  if (!editor) return;
  // Unsaved text is never lost silently: leaving asks first.
  const unsaved = new Set();
  $$("textarea", editor).forEach((t) => t.addEventListener("input", () => unsaved.add(t.name)));
  window.addEventListener("beforeunload", (ev) => {
    if (!unsaved.size) return;
    ev.preventDefault();
    ev.returnValue = "";
  });
  async function save(field) {
    const pair = $(`.pair[data-field="${field}"]`, editor);
    const text = $("textarea", pair).value;
    const status = $(".saved", pair);
    const error = $(".save-error", pair);
    status.textContent = "";
    error.textContent = "";
    if (!text.trim()) { error.textContent = "Nothing saved: the translation is empty. Write it first."; return; }
    try {
      await api("/api/translations", { cid: editor.dataset.cid, field, lang: editor.dataset.lang, text }, { idempotent: true });
      unsaved.delete(field);
      $("[data-origin]", pair).textContent = "human";
      $("[data-origin]", pair).className = "tag origin-human";
      status.textContent = "Saved: now a human translation, reused for identical text.";
    } catch (err) {
      error.textContent = err.status ? `Nothing saved: ${err.message}` : "Nothing saved: the server could not be reached. Try again.";
    }
  }
  $$("[data-save]", editor).forEach((b) => b.addEventListener("click", () => save(b.dataset.save)));
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey) && ev.target.tagName === "TEXTAREA") {
      ev.preventDefault();
      save(ev.target.name);
    } else if (!typing(ev) && !openDialog && (ev.key === "u" || ev.key === "Escape")) {
      location.href = editor.dataset.back;
    } else if (!typing(ev) && ev.key === "?") show("help");
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const offer = sessionStorage.getItem("hemicycle-undo");
  if (offer) showUndo(JSON.parse(offer));
  queuePage();
  itemPage();
  translatePages();
  if (!$("#queue") && !$("#item") && !$("#translate")) {
    document.addEventListener("keydown", (ev) => {
      if (ev.key === "?" && !typing(ev)) show("help");
      if (ev.key === "Escape") closeDialog();
    });
  }
});
