// The dashboard of the eventsquery extension: plain DOM, no dependencies.
// Every value from the API reaches the page through textContent or an
// attribute, never through HTML parsing: event data holds arbitrary text.
// The API is read relative to the page (../), so the pages work wherever the
// read API is served, behind a path prefix too.
"use strict";

const API = "../";
const REFRESH_MS = 10000;
const SVG_NS = "http://www.w3.org/2000/svg";

// el builds an element: attrs are attributes (or the listed properties),
// children are nodes or strings (text nodes).
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

function svg(tag, attrs) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  return node;
}

class APIError extends Error {}

// api reads one route of the read API; errors carry the API's message.
async function api(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== "") q.set(k, v);
  }
  const qs = q.toString();
  const resp = await fetch(API + path + (qs ? "?" + qs : ""), {
    credentials: "same-origin",
    headers: { Accept: "application/json" },
  });
  let body = null;
  try {
    body = await resp.json();
  } catch (e) {
    throw new APIError(`${resp.status} ${resp.statusText}: not a JSON answer`);
  }
  if (!resp.ok) {
    const msg = body && body.error ? body.error.message : resp.statusText;
    throw new APIError(`${resp.status}: ${msg}`);
  }
  return { body, dataAge: resp.headers.get("X-Data-Age"), status: resp.status };
}

function showError(err) {
  const box = document.getElementById("error");
  if (!err) {
    box.hidden = true;
    box.textContent = "";
    return;
  }
  box.hidden = false;
  box.textContent = err instanceof APIError ? err.message : "Cannot reach the API: " + err.message;
}

function fmtInt(n) {
  return String(Math.round(n));
}

function fmtMs(v) {
  return `${Math.round(v * 100) / 100} ms`;
}

function fmtAge(seconds) {
  if (seconds === null || seconds === undefined || seconds === "") return "no data";
  const s = Number(seconds);
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${(s / 60).toFixed(1)} min`;
  if (s < 86400) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} d`;
}

// rendered marks when a page first shows its data (read by the browser
// test to measure it).
function rendered() {
  if (performance.getEntriesByName("dashboard:rendered").length === 0) performance.mark("dashboard:rendered");
}

function pageURL(page, id) {
  return id ? `${page}?id=${encodeURIComponent(id)}` : page;
}

// ---- overview -------------------------------------------------------------

function drawDays(container, data) {
  const W = 960, H = 260, left = 44, bottom = 28, top = 10, right = 8;
  const max = Math.max(1, ...data.map((d) => d.events));
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", class: "days" });
  const total = data.reduce((a, d) => a + d.events, 0);
  const errs = data.reduce((a, d) => a + d.errors, 0);
  chart.setAttribute("aria-label", `${total} events and ${errs} errors over ${data.length} days`);
  const plotW = W - left - right, plotH = H - top - bottom;
  const step = plotW / Math.max(1, data.length);
  const barW = Math.max(2, step * 0.7);
  for (const frac of [0, 0.5, 1]) {
    const y = top + plotH * (1 - frac);
    chart.append(svg("line", { x1: left, x2: W - right, y1: y, y2: y, class: "grid" }));
    const label = svg("text", { x: left - 6, y: y + 4, class: "axis", "text-anchor": "end" });
    label.textContent = fmtInt(max * frac);
    chart.append(label);
  }
  const every = Math.ceil(data.length / 8);
  data.forEach((d, i) => {
    const x = left + i * step + (step - barW) / 2;
    const g = svg("g", { class: "day", "data-date": d.date });
    const title = svg("title");
    title.textContent = `${d.date}: ${d.events} events, ${d.errors} errors`;
    g.append(title);
    const he = (d.events / max) * plotH, hr = (d.errors / max) * plotH;
    g.append(svg("rect", { x, y: top + plotH - he, width: barW, height: he, class: "bar-events" }));
    g.append(svg("rect", { x, y: top + plotH - hr, width: barW, height: hr, class: "bar-errors" }));
    chart.append(g);
    if (i % every === 0 || i === data.length - 1) {
      const t = svg("text", { x: x + barW / 2, y: H - 8, class: "axis", "text-anchor": "middle" });
      t.textContent = d.date.slice(5);
      chart.append(t);
    }
  });
  const legend = el("p", { class: "legend" },
    el("span", { class: "key key-events" }), " events ",
    el("span", { class: "key key-errors" }), " errors");
  container.replaceChildren(chart, legend);
}

function drawP95(container, names) {
  if (names.length === 0) {
    container.replaceChildren(el("p", { class: "empty", text: "No events in this range." }));
    return;
  }
  const max = Math.max(...names.map((n) => n.p95_latency), 1e-9);
  const rows = names.map((n) => {
    const fill = el("span", { class: "hbar-fill" });
    fill.style.width = `${(n.p95_latency / max) * 100}%`;
    return el("div", { class: "hbar", role: "listitem" },
      el("span", { class: "hbar-label", text: n.event_name, title: n.event_name }),
      el("span", { class: "hbar-track" }, fill),
      el("span", { class: "hbar-value", text: fmtMs(n.p95_latency), "data-value": String(n.p95_latency) }));
  });
  const list = el("div", { role: "list" }, ...rows);
  container.replaceChildren(list);
}

function fillTable(table, rows) {
  table.tBodies[0].replaceChildren(...rows);
}

function fillNames(select, names, current) {
  const keep = [select.options[0]];
  const seen = new Set();
  for (const n of names) {
    seen.add(n.event_name);
    keep.push(el("option", { value: n.event_name, text: n.event_name }));
  }
  if (current && !seen.has(current)) keep.push(el("option", { value: current, text: current }));
  select.replaceChildren(...keep);
  select.value = current;
}

// overviewLoading is set while a load runs: the auto-refresh does not pile
// loads on a slow store.
let overviewLoading = false;

async function loadOverview() {
  overviewLoading = true;
  try {
    await drawOverview();
  } finally {
    overviewLoading = false;
  }
}

// drawOverview sends the overview's two calls at once and draws each part
// as its answer arrives; "Updated" is set once both are drawn.
async function drawOverview() {
  const nameSel = document.getElementById("event-name");
  const range = document.getElementById("range");
  const params = { event_name: nameSel.value, days: range.value };
  history.replaceState(null, "", "?" + new URLSearchParams(params).toString());
  const summary = api("analytics/events", params).then((answer) => drawSummary(answer, nameSel));
  const top = api("analytics/sessions/top-errors", { limit: 10, days: params.days }).then(drawTopErrors);
  const results = await Promise.allSettled([summary, top]);
  const failed = results.find((r) => r.status === "rejected");
  if (failed) {
    showError(failed.reason);
    return;
  }
  showError(null);
  document.getElementById("updated").textContent = new Date().toISOString().replace("T", " ").slice(0, 19) + " UTC";
  rendered();
}

function drawSummary(summary, nameSel) {
  const s = summary.body;
  fillNames(nameSel, s.event_names, s.event_name);
  document.getElementById("total-events").textContent = fmtInt(s.data.reduce((a, d) => a + d.events, 0));
  document.getElementById("total-errors").textContent = fmtInt(s.data.reduce((a, d) => a + d.errors, 0));
  const ingest = s.ingest;
  document.getElementById("ingest-rate").textContent = ingest
    ? `${ingest.stored_last_minute} (${ingest.per_second.toFixed(2)}/s)` : "unknown";
  document.getElementById("data-age").textContent = fmtAge(summary.dataAge);
  drawDays(document.getElementById("days-chart"), s.data);
  fillTable(document.getElementById("days-table"), s.data.map((d) =>
    el("tr", { "data-date": d.date },
      el("td", { text: d.date }), el("td", { class: "num", text: fmtInt(d.events) }), el("td", { class: "num", text: fmtInt(d.errors) }))));
  drawP95(document.getElementById("p95-chart"), s.event_names);
}

function drawTopErrors(top) {
  const rows = top.body.data.map((r) =>
    el("tr", {},
      el("td", {}, el("a", { href: pageURL("conversation", r.conversation_id), text: r.conversation_id })),
      el("td", { class: "num", text: fmtInt(r.errors) }),
      el("td", { class: "num", text: fmtInt(r.total) }),
      el("td", { class: "num", text: `${(r.error_rate * 100).toFixed(1)}%` })));
  if (rows.length === 0) rows.push(el("tr", {}, el("td", { colspan: "4", class: "empty", text: "No session has errors." })));
  fillTable(document.getElementById("top-errors"), rows);
}

function initOverview() {
  const q = new URLSearchParams(location.search);
  const nameSel = document.getElementById("event-name");
  const range = document.getElementById("range");
  if (q.get("days") && [...range.options].some((o) => o.value === q.get("days"))) range.value = q.get("days");
  if (q.get("event_name")) fillNames(nameSel, [], q.get("event_name"));
  document.getElementById("controls").addEventListener("submit", (e) => { e.preventDefault(); loadOverview(); });
  nameSel.addEventListener("change", loadOverview);
  range.addEventListener("change", loadOverview);
  const auto = document.getElementById("auto-refresh");
  setInterval(() => {
    if (auto.checked && document.visibilityState === "visible" && !overviewLoading) loadOverview();
  }, REFRESH_MS);
  loadOverview();
}

// ---- conversation explorer --------------------------------------------------

function eventCard(e) {
  const head = el("div", { class: "item-head" },
    el("time", { datetime: e.timestamp, text: e.timestamp }),
    el("span", { class: "name", text: e.event_name }),
    el("span", { class: "latency", text: fmtMs(e.latency) }));
  if (e.error) head.append(el("span", { class: "badge-error", text: "error: " + e.error }));
  return el("li", { class: "item", "data-id": e.id },
    head,
    el("div", { class: "io" },
      el("div", {}, el("span", { class: "io-label", text: "Input" }), el("pre", { class: "input", text: e.input })),
      el("div", {}, el("span", { class: "io-label", text: "Output" }), el("pre", { class: "output", text: e.output }))),
    el("a", { class: "detail-link", href: pageURL("event", e.id), text: "Event " + e.id }));
}

function initConversation() {
  const input = document.getElementById("conversation-id");
  const size = document.getElementById("page-size");
  const timeline = document.getElementById("timeline");
  const next = document.getElementById("next-page");
  const first = document.getElementById("first-page");
  const summary = document.getElementById("summary");
  let nextCursor = null;
  let shown = 0;

  async function load(cursor) {
    const id = input.value;
    if (!id) return;
    history.replaceState(null, "", pageURL("conversation", id));
    try {
      const { body } = await api("events/conversation/" + encodeURIComponent(id), { limit: size.value, cursor });
      showError(null);
      shown = cursor ? shown : 0;
      const from = shown + 1;
      shown += body.events.length;
      timeline.replaceChildren(...body.events.map(eventCard));
      summary.textContent = body.events.length === 0
        ? "No events in this conversation."
        : `Events ${from}–${shown} of conversation ${body.conversation_id}`;
      nextCursor = body.next_cursor;
      next.hidden = !nextCursor;
      first.hidden = !cursor;
      rendered();
    } catch (err) {
      showError(err);
    }
  }
  document.getElementById("search").addEventListener("submit", (e) => { e.preventDefault(); load(null); });
  next.addEventListener("click", () => load(nextCursor));
  first.addEventListener("click", () => load(null));
  const id = new URLSearchParams(location.search).get("id");
  if (id) {
    input.value = id;
    load(null);
  }
}

// ---- event detail -----------------------------------------------------------

function initEvent() {
  const input = document.getElementById("event-id");
  const detail = document.getElementById("detail");

  async function load() {
    const id = input.value;
    if (!id) return;
    history.replaceState(null, "", pageURL("event", id));
    try {
      const { body: e } = await api("event/" + encodeURIComponent(id));
      showError(null);
      const set = (f, v) => { document.getElementById(f).textContent = v; };
      set("f-id", e.id);
      const conv = document.getElementById("f-conversation");
      conv.textContent = e.conversation_id;
      conv.setAttribute("href", pageURL("conversation", e.conversation_id));
      set("f-event-name", e.event_name);
      set("f-timestamp", e.timestamp);
      set("f-version", String(e.version));
      set("f-latency", fmtMs(e.latency));
      set("f-error", e.error || "none");
      set("f-input", e.input);
      set("f-output", e.output);
      const attrs = Object.entries(e.attributes || {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      fillTable(document.getElementById("f-attributes"),
        attrs.map(([k, v]) => el("tr", {}, el("th", { scope: "row", text: k }), el("td", { text: v }))));
      detail.hidden = false;
      rendered();
    } catch (err) {
      detail.hidden = true;
      showError(err);
    }
  }
  document.getElementById("search").addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
  const id = new URLSearchParams(location.search).get("id");
  if (id) {
    input.value = id;
    load();
  }
}

const pages = { overview: initOverview, conversation: initConversation, event: initEvent };
pages[document.body.dataset.page]();
