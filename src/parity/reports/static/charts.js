/* Charts of the offline reports, in the dashboard's style: uPlot with dated x axes (bar labels
   are exchange wall-clock times, formatted in UTC so the axis shows the exchange's clock), the
   legend under the plot with the values under the cursor, the cursor shared by a page's charts. */
"use strict";

const reportCharts = (() => {
  const P = parity;
  const utc = (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC");
  const drawn = {};
  window.__report = { charts: drawn };

  function width(node) {
    return Math.max(320, node.clientWidth || node.parentNode.clientWidth - 28);
  }

  /* as many decimals as the step between ticks needs, so no two labels read the same */
  function decimals(vals, scale) {
    const steps = vals.slice(1).map((v, i) => Math.abs(v - vals[i]) * scale).filter((d) => d > 0);
    if (!steps.length) return 0;
    return Math.min(6, Math.max(0, -Math.floor(Math.log10(Math.min(...steps)) + 1e-9)));
  }

  function tickLabels(vals, kind, currency) {
    if (kind === "pct") {
      const d = decimals(vals, 100);
      return vals.map((v) => P.pct(Math.abs(v) < 1e-12 ? 0 : v, d));
    }
    const d = decimals(vals, 1);
    return vals.map((v) => P.money(Math.abs(v) < 1e-12 ? 0 : v, currency, d));
  }

  /* spec: {id, height, t, series: [{label, values, stroke, dash, fill}], kind: "money"|"pct",
     currency, yLabel} */
  function line(spec) {
    const node = document.getElementById(spec.id);
    if (!node) return null;
    if (!spec.t.length) {
      node.replaceChildren(P.el("p", { class: "muted" }, "no data"));
      return null;
    }
    // x is the bar's position, labelled with its date: nights, weekends and holidays take no
    // room, so a minute run over a weekend is not a flat line across two empty days
    const t = spec.t;
    const intraday = t.length > 1 && (t[t.length - 1] - t[0]) / (t.length - 1) < 86400 * 0.9;
    const stamp = uPlot.fmtDate(intraday ? "{YYYY}-{MM}-{DD} {HH}:{mm}" : "{YYYY}-{MM}-{DD}");
    const tick = uPlot.fmtDate(intraday ? "{MM}-{DD} {HH}:{mm}" : "{YYYY}-{MM}-{DD}");
    const at = (i) => {
      const k = Math.round(i);
      return k >= 0 && k < t.length ? utc(t[k]) : null;
    };
    const opts = {
      width: width(node), height: spec.height || 280,
      cursor: { sync: { key: "report" } },
      legend: { live: true },
      scales: { x: { time: false } },
      series: [
        { label: "bar", value: (u, i) => (i === null || !at(i) ? "–" : stamp(at(i))) },
        ...spec.series.map((s) => ({
          label: s.label, stroke: s.stroke, width: s.width || 1.5, dash: s.dash, fill: s.fill,
          spanGaps: true,
          value: (u, v) => (spec.kind === "pct" ? P.pct(v, 2) : P.money(v, spec.currency)),
        })),
      ],
      axes: [
        { label: `exchange time${intraday ? " (trading bars only)" : ""}`, labelSize: 20,
          size: 40, space: 110,
          values: (u, vals) => vals.map((i) => (at(i) ? tick(at(i)) : "")) },
        { label: spec.yLabel, labelSize: 20, size: 90,
          values: (u, vals) => tickLabels(vals, spec.kind, spec.currency) },
      ],
    };
    const index = t.map((_, i) => i);
    const chart = new uPlot(opts, [index, ...spec.series.map((s) => s.values)], node);
    drawn[spec.id] = chart;
    window.addEventListener("resize", () => chart.setSize({
      width: width(node), height: spec.height || 280 }));
    return chart;
  }

  /* the tick labels uPlot drew on an axis (canvas text, so tests read them from here) */
  function ticks(id, axis) {
    const chart = drawn[id];
    return chart ? (chart.axes[axis]._values || []).map(String) : [];
  }

  window.__report.ticks = ticks;
  return { line, ticks, tickLabels };
})();
