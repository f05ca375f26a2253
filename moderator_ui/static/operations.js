// The operations page: six uPlot charts drawn from /api/operations, refreshed every 10 s.
"use strict";

(() => {
  const REFRESH_MS = 10000;
  const COLORS = ["#1f5fbf", "#b42318", "#067647", "#8a5a00", "#6941c6", "#0e7090", "#c11574", "#667085", "#3f621a", "#b54708"];
  const charts = {};

  // An age in words a person reads at a glance: minutes, hours, then days.
  function age(s) {
    if (s >= 2 * 86400) return `${Math.floor(s / 86400)} days`;
    if (s >= 2 * 3600) return `${Math.floor(s / 3600)} h`;
    return `${Math.floor(s / 60)} min`;
  }

  function width(box) { return Math.max(280, box.clientWidth - 8); }

  function draw(name, opts, data, empty, nothing = null) {
    const figure = document.querySelector(`[data-plot="${name}"]`);
    const box = figure.querySelector(".canvas");
    const points = data.length > 1 ? data.slice(1).reduce((n, s) => n + s.filter((v) => v != null).length, 0) : 0;
    figure.dataset.points = String(points);
    figure.dataset.series = String(Math.max(0, data.length - 1));
    let note = figure.querySelector(".empty");
    if (!note) { note = document.createElement("p"); note.className = "empty muted"; figure.appendChild(note); }
    note.textContent = (nothing === null ? !points : nothing) ? empty : "";
    if (charts[name] && charts[name].series.length === opts.series.length) {
      charts[name].setData(data);
      return;
    }
    if (charts[name]) charts[name].destroy();
    charts[name] = new uPlot({ width: width(box), height: 220, ...opts }, data, box);
  }

  const series = (names) => [{}, ...names.map((label, i) => ({ label, stroke: COLORS[i % COLORS.length], width: 2 }))];
  const bars = (names) => [{}, ...names.map((label, i) => ({
    label, stroke: COLORS[i % COLORS.length], fill: COLORS[i % COLORS.length] + "aa",
    paths: uPlot.paths.bars({ size: [0.8, 40] }), points: { show: false },
  }))];

  function render(d) {
    const states = Object.keys(d.states);
    draw("states", { series: series(states), scales: { y: { range: (u, lo, hi) => [0, Math.max(1, hi)] } } },
      [d.t, ...states.map((s) => d.states[s])], "No items yet.");
    draw("oldest", { series: series(["oldest in review (hours)"]) },
      [d.t, d.oldest_s.map((s) => Math.round(s / 360) / 10)], "Nothing waits for review.");
    const people = Object.keys(d.decisions.by);
    draw("decisions", { series: series(people), scales: { y: { range: (u, lo, hi) => [0, Math.max(1, hi)] } } },
      [d.decisions.t, ...people.map((p) => d.decisions.by[p])], "No decisions in the last 24 hours.");
    const stages = Object.keys(d.throughput);
    draw("throughput", { series: series(stages) }, [d.t, ...stages.map((s) => d.throughput[s])],
      "No records processed by this process yet.");
    const langs = Object.keys(d.languages);
    draw("languages", {
      series: bars(["contributions"]),
      scales: { x: { time: false, range: [-0.5, Math.max(0.5, langs.length - 0.5)] }, y: { range: (u, lo, hi) => [0, Math.max(1, hi)] } },
      axes: [{ values: (u, ticks) => ticks.map((t) => (Number.isInteger(t) && langs[t]) || ""), splits: () => langs.map((_, i) => i) }, {}],
    }, [langs.map((_, i) => i), langs.map((l) => d.languages[l])], "No contributions yet.");
    const dead = Object.keys(d.dead);
    draw("dead", { series: series(dead) }, [d.t, ...dead.map((s) => d.dead[s])], "No dead letters.", d.dead_total === 0);

    const set = (key, text) => { const el = document.querySelector(`[data-figure="${key}"]`); if (el) el.textContent = text; };
    set("review", String(d.counts_now.needs_review || 0));
    set("oldest", age(d.oldest_now_s));
    set("dead", String(Math.round(d.dead_total)));
    set("samples", String(d.t.length));
    const total = document.querySelector("[data-unread-total]");
    if (total) total.textContent = String(Object.values(d.unread).reduce((a, b) => a + b, 0));
    const stamp = document.getElementById("ops-updated");
    if (stamp) stamp.textContent = `live · updated ${new Date(d.now * 1000).toLocaleTimeString()}`;
    document.body.dataset.opsReady = "yes";
  }

  async function refresh() {
    try {
      const response = await fetch("/api/operations", { headers: { Accept: "application/json" } });
      if (response.ok) render(await response.json());
    } catch { /* the next refresh tries again */ }
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (!document.querySelector("[data-plot]") || !window.uPlot) return;
    refresh();
    const timer = setInterval(refresh, REFRESH_MS);
    window.addEventListener("pagehide", () => clearInterval(timer));
    window.addEventListener("resize", () => Object.values(charts).forEach((c) => c.setSize({ width: width(c.root.parentNode), height: 220 })));
  });
})();
