/* The runs list: polls /api/runs (every 2 s while a run is running, else every 10 s). */
"use strict";

(() => {
  const P = parity;
  window.__loaded = Date.now();

  function statusCell(run) {
    const parts = [P.badge(run.status, run.stale ? "hung" : run.status)];
    if (run.status === "running" && run.heartbeat_age_s !== null) {
      parts.push(P.el("span", { class: "muted" }, ` heartbeat ${P.age(run.heartbeat_age_s)}`));
    }
    if (run.detail) parts.push(P.el("div", { class: "muted" }, run.detail));
    return P.el("span", {}, ...parts);
  }

  const columns = [
    { label: "run", value: (r) => P.el("a", { href: `/runs/${encodeURIComponent(r.run_id)}`,
      class: "run-link" }, r.run_id) },
    { label: "mode", value: (r) => r.mode || "–" },
    { label: "venue", value: (r) => r.venue || "–" },
    { label: "strategy", value: (r) => r.strategy || "–" },
    { label: "symbols", value: (r) => (r.symbols || []).join(", ") || "–" },
    { label: "status", value: statusCell },
    { label: "equity", num: true, value: (r) => P.money(r.equity, r.currency) },
    { label: "total return", num: true,
      value: (r) => P.signed(r.total_return, P.pct(r.total_return)) },
    { label: "last bar", value: (r) => P.when(r.last_bar) },
    { label: "last update", value: (r) => P.when(r.last_update) },
  ];

  async function poll() {
    let running = false;
    try {
      const body = await P.getJSON("/api/runs");
      document.getElementById("runs-dir").textContent = body.runs_dir;
      P.fillTable(document.getElementById("runs"), columns, body.runs,
        "no runs yet: start one with `parity run backtest` or `parity run paper`");
      running = body.runs.some((r) => r.status === "running");
      P.showError(null);
      P.stamp();
    } catch (error) {
      P.showError(`could not load the runs: ${error.message}`);
    }
    setTimeout(poll, running ? 2000 : 10000);
  }

  poll();
})();
