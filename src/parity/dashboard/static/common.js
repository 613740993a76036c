/* Shared helpers of the dashboard pages: fetching JSON, formatting, building table rows. */
"use strict";

const parity = (() => {
  async function getJSON(url) {
    const response = await fetch(url, { cache: "no-store" });
    const body = await response.json().catch(() => ({ error: response.statusText }));
    if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
    return body;
  }

  function num(value, digits = 2) {
    if (value === null || value === undefined || Number.isNaN(value)) return "–";
    return Number(value).toLocaleString("en-US", {
      minimumFractionDigits: digits, maximumFractionDigits: digits });
  }

  // the run's currency: ₹ for INR, $ for USD (and runs that name none), else the ISO code
  function money(value, currency, digits = 2) {
    if (value === null || value === undefined || Number.isNaN(value)) return "–";
    const code = (currency || "USD").toUpperCase();
    const symbol = { USD: "$", INR: "₹" }[code] || `${code} `;
    return `${value < 0 ? "-" : ""}${symbol}${num(Math.abs(value), digits)}`;
  }

  function pct(value, digits = 2) {
    if (value === null || value === undefined) return "–";
    return `${(value * 100).toFixed(digits)}%`;
  }

  function qty(value) {
    if (value === null || value === undefined) return "–";
    return Number.isInteger(value) ? String(value) : num(value, 4);
  }

  function when(value) {
    if (!value) return "–";
    return String(value).replace("T", " ").replace(/\.\d+/, "").replace(/\+00:00$/, "Z");
  }

  function age(seconds) {
    if (seconds === null || seconds === undefined) return "";
    if (seconds < 90) return `${Math.round(seconds)} s ago`;
    if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
    if (seconds < 172800) return `${(seconds / 3600).toFixed(1)} h ago`;
    return `${Math.round(seconds / 86400)} d ago`;
  }

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined) continue;
      if (key === "class") node.className = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function badge(text, kind) {
    return el("span", { class: `badge ${kind || text}` }, text);
  }

  function signed(value, text) {
    const cls = value > 0 ? "pos" : value < 0 ? "neg" : null;
    return el("span", { class: cls }, text);
  }

  /* columns: [{label, value(row) -> text|Node, num: bool}] */
  function fillTable(table, columns, rows, emptyText) {
    const head = el("thead", {}, el("tr", {}, ...columns.map(
      (c) => el("th", { class: c.num ? "num" : null }, c.label))));
    const body = el("tbody");
    if (!rows.length) {
      body.append(el("tr", {}, el("td", { class: "empty", colspan: columns.length }, emptyText)));
    }
    for (const row of rows) {
      body.append(el("tr", { "data-row": "1" }, ...columns.map(
        (c) => el("td", { class: c.num ? "num" : null }, c.value(row)))));
    }
    table.replaceChildren(head, body);
    return body;
  }

  function showError(message) {
    const box = document.getElementById("error");
    if (!box) return;
    box.hidden = !message;
    box.textContent = message || "";
  }

  function stamp() {
    const node = document.getElementById("updated");
    if (node) node.textContent = `updated ${new Date().toLocaleTimeString()}`;
  }

  return { getJSON, num, money, pct, qty, when, age, el, badge, signed, fillTable, showError, stamp };
})();
