// Wellbeing: text scored above the toxicity threshold arrives veiled (blurred, aria-hidden,
// inert). The moderator reveals it with v (the cursor row in the queue, the item on its page)
// or a click; the choice is remembered per item in this browser (localStorage).
"use strict";

(() => {
  const KEY = "hemicycle-revealed";
  const LIMIT = 1000;
  const load = () => { try { return JSON.parse(localStorage.getItem(KEY) || "[]"); } catch { return []; } };
  const save = (list) => { try { localStorage.setItem(KEY, JSON.stringify(list.slice(-LIMIT))); } catch { /* storage full or off */ } };

  function paint(box, revealed) {
    if (box.dataset.painted === String(revealed)) return; // (also ends the observer's echo)
    box.dataset.painted = String(revealed);
    const veil = box.querySelector(".veil");
    const button = box.querySelector("[data-reveal]");
    box.classList.toggle("revealed", revealed);
    if (veil) {
      veil.inert = !revealed;
      if (revealed) veil.removeAttribute("aria-hidden"); else veil.setAttribute("aria-hidden", "true");
    }
    if (button) {
      const label = button.dataset.label || button.innerHTML;
      button.dataset.label = label;
      if (revealed) button.textContent = "Hide again (v)"; else button.innerHTML = label;
    }
  }
  function apply(root = document) {
    const revealed = new Set(load());
    root.querySelectorAll("[data-sensitive]").forEach((box) => paint(box, revealed.has(box.dataset.sensitive)));
  }
  function toggle(cid) {
    const list = load().filter((c) => c !== cid);
    const reveal = !load().includes(cid);
    if (reveal) list.push(cid);
    save(list);
    document.querySelectorAll("[data-sensitive]").forEach((box) => { if (box.dataset.sensitive === cid) paint(box, reveal); });
  }

  document.addEventListener("click", (ev) => {
    const button = ev.target.closest("[data-reveal]");
    if (!button) return;
    ev.preventDefault();
    toggle(button.closest("[data-sensitive]").dataset.sensitive);
  });
  document.addEventListener("keydown", (ev) => {
    if (ev.key !== "v" || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const t = ev.target;
    if (t && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName))) return;
    if (document.querySelector(".dialog:not([hidden])")) return;
    const scope = document.querySelector("#rows tr.cursor") || document.querySelector("#item");
    const box = scope && scope.querySelector("[data-sensitive]");
    if (!box) return;
    ev.preventDefault();
    toggle(box.dataset.sensitive);
  });
  document.addEventListener("DOMContentLoaded", () => {
    apply();
    const rows = document.querySelector("#queue");
    if (rows) new MutationObserver(() => apply(rows)).observe(rows, { childList: true, subtree: true });
  });
})();
