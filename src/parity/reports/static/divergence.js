/* divergence.html (and an options run's compare/divergence.html, reports/option_compare_html.py):
   the equity and drawdown charts from the page's JSON, and the matched-trade ledger shown a page
   at a time (without this script every row shows; the options page has no paged ledger). */
"use strict";

(() => {
  const P = parity;
  const data = JSON.parse(document.getElementById("report-data").textContent);

  function series(block) {
    // the twins first, so the paper curve is drawn over them
    const names = Object.keys(block).filter((k) => k !== "t");
    names.sort((a, b) => (a === "live") - (b === "live"));
    return names.map((name) => ({
      label: data.labels[name] || name, values: block[name], stroke: data.colours[name] || "#555",
      dash: name === "live" ? undefined : [6, 4], width: name === "live" ? 2 : 1.5,
    }));
  }

  if (data.equity) {
    reportCharts.line({ id: "equity-chart", t: data.equity.t, series: series(data.equity),
      kind: "money", currency: data.currency, yLabel: `account value (${data.currency})`,
      height: 300 });
    reportCharts.line({ id: "drawdown-chart", t: data.drawdown.t, series: series(data.drawdown),
      kind: "pct", yLabel: "drawdown", height: 200 });
  }

  const table = document.getElementById("ledger-matched");
  const pager = document.getElementById("pager");
  if (table && pager) {
    const rows = [...table.tBodies[0].rows];
    const size = Number(pager.dataset.rows) || 25;
    const pages = Math.max(1, Math.ceil(rows.length / size));
    let page = 0;
    const label = P.el("span", { id: "page-label" });
    const prev = P.el("button", { type: "button", id: "page-prev" }, "‹ previous");
    const next = P.el("button", { type: "button", id: "page-next" }, "next ›");
    function show() {
      rows.forEach((row, i) => { row.hidden = Math.floor(i / size) !== page; });
      const first = rows.length ? page * size + 1 : 0;
      const last = Math.min(rows.length, (page + 1) * size);
      label.textContent = `rows ${first}–${last} of ${rows.length} · page ${page + 1} of ${pages}`;
      prev.disabled = page === 0;
      next.disabled = page >= pages - 1;
    }
    prev.addEventListener("click", () => { page = Math.max(0, page - 1); show(); });
    next.addEventListener("click", () => { page = Math.min(pages - 1, page + 1); show(); });
    if (pages > 1) pager.append(prev, label, next);
    else pager.append(label);
    show();
  }
  window.__report.ready = true;
})();
