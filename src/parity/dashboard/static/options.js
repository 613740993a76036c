/* The options panel of a run's page: each option order with its legs under it, the open
   positions' and the portfolio's Greeks with their history, and `parity compare`'s
   assumptions table with each verdict as a coloured badge (views.py: `options`). */
"use strict";

const parityOptions = (() => {
  const P = parity;

  function cells(values, classes) {
    return values.map((v, i) => P.el("td", { class: classes[i] || null }, v));
  }

  const ORDER_HEAD = ["order", "tag / leg", "contracts", "side", "qty / ratio",
    "net / fill price", "mid", "spread paid", "slippage paid", "fees", "status", "P&L"];
  const NUMERIC = [false, false, false, false, true, true, true, true, true, true, false, true];

  function total(legs, key) {
    const values = legs.map((l) => l[key]).filter((v) => v !== null && v !== undefined);
    return values.length ? values.reduce((a, b) => a + b, 0) : null;
  }

  function renderOrders(table, orders) {
    const cls = NUMERIC.map((n) => (n ? "num" : null));
    const head = P.el("thead", {}, P.el("tr", {}, ...ORDER_HEAD.map(
      (h, i) => P.el("th", { class: cls[i] }, h))));
    const body = P.el("tbody");
    if (!orders.length) {
      body.append(P.el("tr", {}, P.el("td", { class: "empty", colspan: ORDER_HEAD.length },
        "no option orders yet")));
    }
    for (const o of orders) {
      const net = o.net;
      const side = !net ? "" : (net > 0 ? "debit" : "credit");
      const status = o.status + (o.reason ? ` (${o.reason})` : "");
      const pnl = o.pnl === null || o.pnl === undefined ? ""
        : P.signed(o.pnl, `${P.num(o.pnl)}${o.outcome ? ` ${o.outcome}` : ""}`);
      body.append(P.el("tr", { class: "combo", "data-order": String(o.order) }, ...cells([
        String(o.order), o.tag || "", o.legs_text || "", side, P.qty(o.qty), P.num(net, 4), "",
        P.num(total(o.legs, "spread_cost")), P.num(total(o.legs, "slippage_cost")),
        P.num(total(o.legs, "fees")), status, pnl], cls)));
      o.legs.forEach((l, i) => {
        const legCls = [...cls];
        legCls[1] = "leg-name";
        body.append(P.el("tr", { class: "leg", "data-order": String(o.order),
          "data-leg": String(i + 1) }, ...cells([
          "", `leg ${i + 1}`, l.symbol, l.side, String(l.ratio), P.num(l.price, 4),
          P.num(l.mid, 4), P.num(l.spread_cost), P.num(l.slippage_cost), P.num(l.fees), "", ""],
        legCls)));
      });
    }
    table.replaceChildren(head, body);
  }

  const GREEKS = ["delta", "gamma", "theta", "vega"];

  function renderGreeks(greeks) {
    const positions = document.getElementById("option-greeks");
    const history = document.getElementById("option-history");
    document.getElementById("option-greeks-at").textContent = greeks ? P.when(greeks.as_of) : "";
    if (!greeks || !greeks.portfolio) {
      P.fillTable(positions, [{ label: "Greeks", value: () => "" }], [], "none recorded yet");
      P.fillTable(history, [{ label: "session", value: () => "" }], [], "none recorded yet");
      return;
    }
    const port = greeks.portfolio;
    const rows = [...greeks.positions.map((p) => ({ ...p, kind: "position" })),
      { symbol: `portfolio (${port.contracts} contracts)`, qty: null, mark: null,
        value: port.option_value, ...Object.fromEntries(GREEKS.map((k) => [k, port[k]])),
        kind: "portfolio" }];
    const body = P.fillTable(positions, [
      { label: "contract", value: (p) => p.symbol },
      { label: "qty", num: true, value: (p) => (p.qty === null ? "" : P.qty(p.qty)) },
      { label: "mark", num: true, value: (p) => (p.mark === null ? "" : P.num(p.mark, 4)) },
      { label: "value", num: true, value: (p) => P.num(p.value) },
      ...GREEKS.map((k) => ({ label: k, num: true, value: (p) => P.num(p[k], 4) })),
    ], rows, "no open option positions");
    [...body.rows].forEach((row, i) => row.classList.add(rows[i] ? rows[i].kind : "empty"));
    P.fillTable(history, [
      { label: "session", value: (h) => h.session },
      { label: "underlying", num: true, value: (h) => P.num(h.underlying_price, 2) },
      { label: "contracts", num: true, value: (h) => P.qty(h.contracts) },
      { label: "option value", num: true, value: (h) => P.num(h.option_value) },
      ...GREEKS.map((k) => ({ label: k, num: true, value: (h) => P.num(h[k], 4) })),
    ], [...(greeks.history || [])].reverse(), "no sessions yet");
  }

  function figure(value) {
    if (value === null || value === undefined) return "";
    if (Number.isInteger(value)) return P.num(value, 0);
    return Math.abs(value) >= 1 ? P.num(value, 2) : String(Number(value.toFixed(4)));
  }

  function renderAssumptions(rows, problem) {
    const table = document.getElementById("option-assumptions");
    const note = document.getElementById("option-assumptions-note");
    note.textContent = problem || (rows ? "" : "not compared yet: run `parity compare RUN`");
    P.fillTable(table, [
      { label: "item", value: (r) => r.item },
      ...["assumed", "measured", "p10", "p50", "p90"].map(
        (k) => ({ label: k, num: true, value: (r) => figure(r[k]) })),
      { label: "n", num: true, value: (r) => (r.n === null ? "" : String(r.n)) },
      { label: "deviation", num: true, value: (r) => (r.deviation === null ? ""
        : `${r.deviation >= 0 ? "+" : ""}${(r.deviation * 100).toFixed(1)}%`) },
      { label: "verdict", value: (r) => P.badge(r.verdict) },
    ], rows || [], "no assumptions table");
  }

  function render(options) {
    const panel = document.getElementById("options-panel");
    panel.hidden = !options;
    if (!options) return;
    document.getElementById("option-orders-total").textContent = String(options.orders_total);
    renderOrders(document.getElementById("option-orders"), options.orders);
    renderGreeks(options.greeks);
    renderAssumptions(options.assumptions, options.assumptions_error);
  }

  return { render };
})();
