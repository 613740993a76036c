/* One run: polls /api/runs/{id}/summary every 2 s while the run is running (or its twin is
   being computed) and updates the charts and tables in place; the page is never reloaded. */
"use strict";

(() => {
  const P = parity;
  window.__loaded = Date.now();
  const runId = decodeURIComponent(location.pathname.replace(/^\/runs\//, ""));
  const POLL_MS = 2000;
  const state = { cursor: null, twinRev: null, t: [], equity: [], twin: [], drawdown: [],
    fillsTotal: null, equityChart: null, drawdownChart: null, polls: 0 };
  window.__dashboard = state;
  document.getElementById("run-id").textContent = runId;
  document.title = `parity · ${runId}`;

  // ------------------------------------------------------------------ charts (uPlot)
  const utc = (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC");

  function chartWidth(node) {
    return Math.max(300, node.clientWidth || node.parentNode.clientWidth - 28);
  }

  function makeCharts() {
    const eqNode = document.getElementById("equity-chart");
    const ddNode = document.getElementById("drawdown-chart");
    const sync = { key: `run-${runId}` };
    state.equityChart = new uPlot({
      width: chartWidth(eqNode), height: 300, tzDate: utc, cursor: { sync },
      scales: { x: { time: true } },
      series: [
        {},
        { label: "paper / run", stroke: "#1f4e79", width: 1.5,
          value: (u, v) => P.num(v) },
        { label: "backtest twin", stroke: "#e07b00", width: 1.5, dash: [6, 4], spanGaps: true,
          value: (u, v) => P.num(v) },
      ],
      axes: [{}, { size: 80, values: (u, vals) => vals.map((v) => P.num(v, 0)) }],
    }, [[], [], []], eqNode);
    state.drawdownChart = new uPlot({
      width: chartWidth(ddNode), height: 180, tzDate: utc, cursor: { sync },
      scales: { x: { time: true } },
      series: [
        {},
        { label: "drawdown (per bar)", stroke: "#b3261e", width: 1, fill: "rgba(179, 38, 30, 0.15)",
          value: (u, v) => P.pct(v) },
      ],
      axes: [{}, { size: 80, values: (u, vals) => vals.map((v) => P.pct(v, 1)) }],
    }, [[], []], ddNode);
    window.addEventListener("resize", () => {
      state.equityChart.setSize({ width: chartWidth(eqNode), height: 300 });
      state.drawdownChart.setSize({ width: chartWidth(ddNode), height: 180 });
    });
  }

  function applySeries(series) {
    if (series.mode === "full") {
      state.t = series.t.slice();
      state.equity = series.equity.slice();
      state.twin = series.twin.slice();
      state.drawdown = series.drawdown.slice();
    } else {
      const last = state.t.length ? state.t[state.t.length - 1] : -Infinity;
      series.t.forEach((t, i) => {
        if (t <= last) return;
        state.t.push(t);
        state.equity.push(series.equity[i]);
        state.twin.push(series.twin[i]);
        state.drawdown.push(series.drawdown[i]);
      });
    }
    state.cursor = series.cursor;
    state.equityChart.setData([state.t, state.equity, state.twin]);
    state.drawdownChart.setData([state.t, state.drawdown]);
  }

  // ------------------------------------------------------------------ panels
  function card(label, value) {
    return P.el("div", { class: "card" }, P.el("div", { class: "label" }, label),
      P.el("div", { class: "value" }, value));
  }

  function renderRun(run) {
    const status = document.getElementById("status");
    status.className = `badge ${run.stale ? "hung" : run.status}`;
    status.textContent = run.stale ? `${run.status} (no heartbeat)` : run.status;
    document.getElementById("cards").replaceChildren(
      card("equity", P.money(run.equity, run.currency)),
      card("total return", P.signed(run.total_return, P.pct(run.total_return))),
      card("max drawdown (daily closes)", P.pct(run.max_drawdown)),
      card("max drawdown (per bar)", P.pct(run.max_drawdown_per_bar)),
      card("starting cash", P.money(run.starting_cash, run.currency)),
      card("mode · venue", `${run.mode || "–"} · ${run.venue || "–"}`),
      card("strategy", `${run.strategy || "–"} ${run.timeframe || ""}`),
      card("symbols", (run.symbols || []).join(", ") || "–"),
      run.status === "running"
        ? card("heartbeat", run.heartbeat_age_s === null ? "–" : P.age(run.heartbeat_age_s))
        : card("ended", P.when(run.finished_at || run.heartbeat_at)),
    );
    if (run.detail) P.showError(`${run.status}: ${run.detail}`);
  }

  function renderTwin(twin) {
    const text = twin.state === "ready"
      ? `· twin: ${twin.source} (${twin.message})${twin.updating ? ", updating" : ""}`
      : `· twin: ${twin.message}`;
    const note = document.getElementById("twin-note");
    note.textContent = text;
    note.setAttribute("data-state", twin.state);
  }

  function renderFills(fills, total) {
    const fresh = state.fillsTotal === null ? 0 : Math.max(0, total - state.fillsTotal);
    const body = P.fillTable(document.getElementById("fills"), [
      { label: "bar", value: (f) => P.when(f.datetime) },
      { label: "symbol", value: (f) => f.symbol },
      { label: "side", value: (f) => f.side },
      { label: "qty", num: true, value: (f) => P.qty(f.qty) },
      { label: "price", num: true, value: (f) => P.num(f.price, 4) },
      { label: "commission", num: true, value: (f) => P.num(f.commission) },
      { label: "order", value: (f) => f.client_order_id || "–" },
    ], fills, "no fills yet");
    [...body.rows].slice(0, fresh).forEach((row) => row.classList.add("new"));
    state.fillsTotal = total;
    document.getElementById("fills-total").textContent = String(total);
  }

  function renderTables(data) {
    P.fillTable(document.getElementById("positions"), [
      { label: "symbol", value: (p) => p.symbol },
      { label: "qty", num: true, value: (p) => P.qty(p.qty) },
      { label: "avg price", num: true, value: (p) => P.num(p.avg_price, 4) },
      { label: "last", num: true, value: (p) => P.num(p.last_price, 4) },
      { label: "unrealized", num: true,
        value: (p) => P.signed(p.unrealized_pnl, P.num(p.unrealized_pnl)) },
    ], data.positions, "flat");
    P.fillTable(document.getElementById("orders"), [
      { label: "order", value: (o) => o.client_order_id },
      { label: "symbol", value: (o) => o.symbol },
      { label: "side", value: (o) => o.side },
      { label: "type", value: (o) => o.type },
      { label: "qty", num: true, value: (o) => P.qty(o.qty) },
      { label: "limit", num: true, value: (o) => P.num(o.limit_price, 4) },
      { label: "status", value: (o) => o.status },
      { label: "why", value: (o) => o.why || "–" },
    ], data.open_orders, "no open orders");
    P.fillTable(document.getElementById("trades"), [
      { label: "symbol", value: (t) => t.symbol },
      { label: "side", value: (t) => t.side },
      { label: "entry", value: (t) => P.when(t.entry_time) },
      { label: "exit", value: (t) => P.when(t.exit_time) },
      { label: "qty", num: true, value: (t) => P.qty(t.qty) },
      { label: "entry price", num: true, value: (t) => P.num(t.entry_price, 4) },
      { label: "exit price", num: true, value: (t) => P.num(t.exit_price, 4) },
      { label: "P&L", num: true, value: (t) => P.signed(t.pnl_net, P.num(t.pnl_net)) },
      { label: "entry reason", value: (t) => t.entry_reason || "–" },
      { label: "exit reason", value: (t) => t.exit_reason || "–" },
      { label: "ambiguous", value: (t) => t.ambiguous || "" },
      { label: "tag", value: (t) => t.tag || "" },
    ], data.trades || [], "no closed trades yet");
    document.getElementById("trades-total").textContent = String(data.trades_total ?? 0);
    renderFills(data.fills, data.fills_total);
    P.fillTable(document.getElementById("alerts"), [
      { label: "at", value: (a) => P.when(a.at) },
      { label: "severity", value: (a) => P.badge(a.level) },
      { label: "rule", value: (a) => a.rule || "–" },
      { label: "title", value: (a) => a.title || "–" },
      { label: "message", value: (a) => a.message || "" },
      { label: "value", num: true, value: (a) => (a.value === null || a.value === undefined
        ? "–" : P.num(a.value, 4)) },
      { label: "sent to", value: (a) => (a.suppressed ? "suppressed (duplicate)"
        : (a.sinks || []).join(", ") || "log") },
    ], data.alerts, "no alerts");
    const feeds = [
      ...data.feeds.map((f) => ({ kind: "feed", name: f.symbol, state: f.state, reason: "",
        at: f.at })),
      ...data.streams.map((s) => ({ kind: "stream", name: s.stream, state: s.state,
        reason: s.reason || "", at: s.at })),
    ];
    P.fillTable(document.getElementById("feeds"), [
      { label: "kind", value: (f) => f.kind },
      { label: "name", value: (f) => f.name },
      { label: "state", value: (f) => P.badge(f.state) },
      { label: "reason", value: (f) => f.reason },
      { label: "since", value: (f) => P.when(f.at) },
    ], feeds, "no feed or stream events");
    const events = [
      ...data.errors.map((e) => ({ at: e.at, level: e.level, kind: "error",
        text: `${e.type || ""}: ${e.message || ""}` })),
      ...data.risk_events.map((e) => ({ at: e.at, level: e.level, kind: e.event || "risk",
        text: e.reason || "" })),
    ].sort((a, b) => String(b.at).localeCompare(String(a.at)));
    P.fillTable(document.getElementById("events"), [
      { label: "at", value: (e) => P.when(e.at) },
      { label: "level", value: (e) => P.badge(e.level) },
      { label: "kind", value: (e) => e.kind },
      { label: "detail", value: (e) => e.text },
    ], events, "none");
  }

  function facts(pairs) {
    const list = P.el("dl", { class: "facts" });
    for (const [key, value] of pairs) {
      list.append(P.el("dt", {}, key), P.el("dd", {}, value));
    }
    return list;
  }

  function renderDivergence(div) {
    const verdict = document.getElementById("verdict");
    const status = div.verdict ? div.verdict.status : null;
    verdict.className = `badge ${status || ""}`;
    verdict.textContent = status || "no verdict yet";
    verdict.title = div.source ? `verdict of ${div.source}` : "";
    const source = document.getElementById("verdict-source");
    if (source) source.textContent = div.source ? `from ${div.source}` : "";
    const box = document.getElementById("divergence");
    const parts = [];
    const reasons = (div.verdict && div.verdict.reasons) || [];
    if (reasons.length) parts.push(P.el("ul", { class: "reasons" },
      ...reasons.map((r) => P.el("li", {}, r))));
    if (div.report) {
      const r = div.report;
      parts.push(facts([
        ["compared with", r.compared_with || "–"],
        ["returns correlation", P.num(r.correlation, 3)],
        ["final equity gap", P.num(r.final_equity && r.final_equity.gap)],
      ]));
      const metrics = Object.entries(r.metrics || {}).map(([name, m]) => ({ name, ...m }));
      if (metrics.length) {
        const table = P.el("table", { class: "grid", id: "divergence-metrics" });
        P.fillTable(table, [
          { label: "metric", value: (m) => m.name },
          { label: "paper", num: true, value: (m) => P.num(m.live, 4) },
          { label: "twin (tape)", num: true, value: (m) => P.num(m.tape, 4) },
          { label: "reference", num: true, value: (m) => P.num(m.reference, 4) },
          { label: "rel. diff", num: true, value: (m) => P.pct(m.rel_diff, 1) },
        ], metrics, "");
        parts.push(table);
      }
    }
    if (div.events.length) {
      const table = P.el("table", { class: "grid" });
      P.fillTable(table, [
        { label: "session", value: (e) => e.session || P.when(e.at) },
        { label: "status", value: (e) => P.badge(e.status || "–") },
        { label: "correlation", num: true, value: (e) => P.num(e.correlation, 3) },
        { label: "equity gap", num: true, value: (e) => P.num(e.final_equity_gap) },
      ], div.events.slice(0, 10), "");
      parts.push(table);
    }
    if (!parts.length) {
      parts.push(P.el("p", { class: "muted" },
        "no divergence figures yet: `parity compare RUN`, or --divergence-check on the run"));
    }
    box.replaceChildren(...parts);
  }

  function renderRisk(risk) {
    const box = document.getElementById("risk");
    const parts = [];
    const s = risk.state;
    if (s) {
      parts.push(facts([
        ["kill switch", s.killed ? P.badge(`ON: ${s.kill_reason}`, "error") : P.badge("off", "PASS")],
        ["trading day", s.day || "–"],
        ["orders today", String(s.orders_today ?? "–")],
        ["daily halt", s.day_halt_reason || "none"],
        ["day start equity", P.num(s.day_start_equity)],
        ["peak equity", P.num(s.peak_equity)],
        ["last equity", P.num(s.last_equity)],
      ]));
    } else {
      parts.push(P.el("p", { class: "muted" }, "no risk state file"));
    }
    const limits = Object.entries(risk.limits || {}).filter(([, v]) => v !== null && v !== false);
    parts.push(P.el("h2", {}, "Limits"));
    parts.push(limits.length
      ? facts(limits.map(([k, v]) => [k, typeof v === "object" ? JSON.stringify(v) : String(v)]))
      : P.el("p", { class: "muted" }, "no limits configured"));
    box.replaceChildren(...parts);
  }

  // ------------------------------------------------------------------ polling
  function summaryUrl() {
    const query = new URLSearchParams({ fills: "50" });
    if (state.cursor) query.set("since", state.cursor);
    if (state.twinRev !== null) query.set("twin_rev", state.twinRev);
    return `/api/runs/${encodeURIComponent(runId)}/summary?${query}`;
  }

  async function poll() {
    let again = true;
    let delay = POLL_MS;
    try {
      const data = await P.getJSON(summaryUrl());
      P.showError(null);
      renderRun(data.run);
      applySeries(data.series);
      state.twinRev = data.twin.rev;
      renderTwin(data.twin);
      renderTables(data);
      parityOptions.render(data.options);
      renderDivergence(data.divergence);
      renderRisk(data.risk);
      P.stamp();
      state.polls += 1;
      const twinBusy = data.twin.state === "computing" || data.twin.updating;
      again = data.run.status === "running" || twinBusy;
    } catch (error) {
      P.showError(`could not load run ${runId}: ${error.message}`);
      delay = 5000;
    }
    document.body.setAttribute("data-polling", again ? "1" : "0");
    if (again) setTimeout(poll, delay);
  }

  makeCharts();
  poll();
})();
