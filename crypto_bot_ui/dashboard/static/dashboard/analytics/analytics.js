// The analytics page: one bot or every bot, a period and a date range in the browser's time zone;
// the figures come from the REST API (summed by the database), drawn at most once per animation
// frame. The overview socket keeps the allocation live (re-read when a bot's figures move) and
// re-reads the rest when a bot trades.
import { DASH, fmtDec, fmtMoney, fmtSigned } from "../format.js";
import { envelopes, shownState } from "../link.js";
import { createSocket } from "../socket.js";
import { connText } from "../texts.js";
import { rangeParams } from "../journal/journal_model.js";
import { createShapeCharts, createTimeCharts } from "./draw.js";
import {
  browserZone, choiceOf, drawdownText, holdingLabel, keyText, pageQuery, periodLabel, pnlLabel, queryOf, rangeOf,
  shares, stepText, tileTexts, todayIn, urlOf,
} from "./model.js";

const ALLOCATION_EVERY_MS = 1000; // the most often the allocation is re-read while bots' figures move
const FIGURES_EVERY_MS = 5000; // the most often the rest is re-read while bots trade
const PARTS = ["periods", "total", "spread", "curve"]; // the figures read from the database

const root = document.getElementById("analytics");
if (root) start(root);

function getJson(url) {
  return fetch(url, { credentials: "same-origin", cache: "no-store" }).then((r) =>
    r.json().catch(() => ({})).then((body) => {
      if (!r.ok) throw new Error(body.message || "HTTP " + r.status);
      return body;
    }));
}

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement("script");
    s.src = src;
    s.addEventListener("load", resolve);
    s.addEventListener("error", () => reject(new Error("a chart library did not load")));
    document.head.append(s);
  });
}

function start(root) {
  const $ = (id) => document.getElementById(id);
  const tz = browserZone();
  const el = {
    bot: $("a-bot"), preset: $("a-preset"), from: $("a-from"), to: $("a-to"), status: $("a-status"), conn: $("conn-state"),
    periodName: $("period-name"), periodsNote: $("periods-note"), equityNote: $("equity-note"),
    cumulativeNote: $("cumulative-note"), allocationNote: $("allocation-note"), spreadNote: $("spread-note"),
    pnlNote: $("pnl-note"), holdingNote: $("holding-note"), compareKey: $("compare-key"), quotes: $("a-quotes"),
  };
  $("a-tz").textContent = tz;
  const A = { choice: choiceOf(location.search), by: "by_bot", data: {}, decimals: 2, token: 0, loading: 0 };
  const dirty = new Set();
  let time = null; // the lightweight-charts charts, once loaded
  let shape = null; // the Chart.js charts, once loaded
  let timeFailed = false; // a library that did not load: its tables are drawn once, not on every frame
  let shapeFailed = false;
  let rafId = 0;

  const schedule = () => { if (!rafId) rafId = requestAnimationFrame(render); };
  const say = (text) => { el.status.textContent = text; };

  // ---- the choice ----
  function showChoice() {
    const c = A.choice;
    if (![...el.bot.options].some((o) => o.value === c.bot)) c.bot = "";
    el.bot.value = c.bot;
    el.preset.value = c.preset;
    for (const r of document.querySelectorAll('input[name="period"]')) r.checked = r.value === c.period;
    const range = c.preset === "custom" ? c : rangeOf(c.preset, todayIn(tz));
    el.from.value = range.from || "";
    el.to.value = range.to || "";
    el.periodName.textContent = c.period;
  }
  function range() {
    const c = A.choice;
    return c.preset === "custom" ? { from: c.from, to: c.to } : rangeOf(c.preset, todayIn(tz));
  }
  function query(withPeriod = true) {
    const r = range();
    return queryOf({ bot: A.choice.bot, period: withPeriod ? A.choice.period : null, from: r.from, to: r.to, tz });
  }
  function choose(change) {
    Object.assign(A.choice, change);
    history.pushState(null, "", location.pathname + pageQuery(A.choice));
    showChoice();
    loadAll();
  }
  el.bot.addEventListener("change", () => choose({ bot: el.bot.value }));
  el.preset.addEventListener("change", () => {
    if (el.preset.value === "custom") choose({ preset: "custom", from: el.from.value || null, to: el.to.value || null });
    else choose({ preset: el.preset.value, from: null, to: null });
  });
  for (const input of [el.from, el.to]) {
    input.addEventListener("change", () => choose({ preset: "custom", from: el.from.value || null, to: el.to.value || null }));
  }
  for (const r of document.querySelectorAll('input[name="period"]')) r.addEventListener("change", () => choose({ period: r.value }));
  for (const r of document.querySelectorAll('input[name="by"]')) {
    r.addEventListener("change", () => { A.by = r.value; dirty.add("compare"); schedule(); });
  }
  $("a-form").addEventListener("submit", (e) => e.preventDefault());
  window.addEventListener("popstate", () => { A.choice = choiceOf(location.search); showChoice(); loadAll(); });

  // ---- loading ----
  // `quiet`: a reload because a bot traded (not announced to screen readers every few seconds).
  function loadAll(quiet = false) {
    const token = ++A.token;
    // What is shown belongs to the previous choice: it stays (dimmed) until the new figures come, and a
    // part that fails is then drawn empty, not left up under the new choice's name.
    if (!quiet) for (const key of PARTS) delete A.data[key];
    const q = query();
    const plain = query(false);
    const bot = A.choice.bot ? { bot: A.choice.bot } : {};
    $("csv-performance").href = urlOf("/api/performance.csv", q);
    $("csv-trades").href = urlOf("/api/trades.csv", Object.assign({}, bot, isoRange()));
    $("csv-portfolio").href = urlOf("/api/portfolio.csv", bot);
    root.dataset.state = "loading";
    if (!quiet) say("Loading…");
    const parts = {
      periods: urlOf("/api/performance", q), total: urlOf("/api/breakdown", plain),
      spread: urlOf("/api/distribution", plain), curve: urlOf("/api/curve", plain),
    };
    const jobs = Object.entries(parts).map(([key, url]) => getJson(url).then((body) => {
      if (token !== A.token) return;
      A.data[key] = body;
      dirty.add(key);
      schedule();
    }));
    Promise.all(jobs).then(() => {
      if (token !== A.token) return;
      root.dataset.state = "ready";
      say("");
    }).catch((e) => {
      if (token !== A.token) return;
      root.dataset.state = "error";
      say("Could not load the figures: " + e.message);
      for (const key of PARTS) dirty.add(key);
      schedule();
    });
    loadAllocation();
  }
  // The trades CSV takes ISO times (its filters are the trade list's): the days' first instants here.
  function isoRange() {
    const r = range();
    return rangeParams(r.from, r.to);
  }

  let allocationAt = 0;
  let allocationTimer = 0;
  function loadAllocation() {
    clearTimeout(allocationTimer);
    allocationTimer = 0;
    allocationAt = Date.now();
    const token = A.token;
    getJson(urlOf("/api/allocation", A.choice.bot ? { bot: A.choice.bot } : {})).then((body) => {
      if (token !== A.token) return;
      A.data.allocation = body;
      dirty.add("allocation");
      schedule();
    }).catch((e) => {
      if (token !== A.token) return;
      A.data.allocation = { groups: [], error: e.message };
      dirty.add("allocation");
      schedule();
    });
  }
  function soon(lastAt, every, run, timerRef) {
    if (timerRef.id) return;
    timerRef.id = setTimeout(() => { timerRef.id = 0; run(); }, Math.max(0, lastAt + every - Date.now()));
  }
  const allocationSoon = { id: 0 };
  const figuresSoon = { id: 0 };
  let figuresAt = Date.now();

  // ---- live: the overview socket ----
  const S = { conn: "connecting", retryAt: 0, lastFrameAt: Date.now(), lastSeq: null, pending: null, botOnline: null };
  const counts = new Map();
  const view = { dirty: { header: true }, schedule: () => { dirty.add("conn"); schedule(); }, log: () => {}, notice: () => {} };
  const link = createSocket({ S, view, wsPath: root.dataset.wsPath || "/ws/overview/", onFrame, acks: false });
  function onFrame(raw) {
    const envs = envelopes(raw);
    for (const env of envs) {
      if (env.type === "bot_list") live();
      if (env.type !== "bot_summary" || typeof env.bot !== "string") continue;
      live();
      if (A.choice.bot && env.bot !== A.choice.bot) continue;
      soon(allocationAt, ALLOCATION_EVERY_MS, loadAllocation, allocationSoon);
      const trades = env.data && env.data.trade_count;
      const before = counts.get(env.bot);
      counts.set(env.bot, trades);
      if (before !== undefined && trades !== before) {
        soon(figuresAt, FIGURES_EVERY_MS, () => { figuresAt = Date.now(); loadAll(true); }, figuresSoon);
      }
    }
    dirty.add("conn");
    schedule();
    return envs.length;
  }
  function live() {
    if (S.conn === "live" || S.conn === "offline") return;
    link.statusArrived();
    link.setConn("live");
  }
  setInterval(() => { dirty.add("conn"); schedule(); }, 1000);

  // ---- drawing ----
  function render() {
    rafId = 0;
    if (dirty.has("conn")) renderConn();
    if (dirty.has("allocation")) renderAllocation();
    if (dirty.has("total") || dirty.has("curve")) renderTiles();
    if (dirty.has("periods")) renderPeriods();
    if (dirty.has("curve")) renderCurve();
    if (dirty.has("spread")) renderSpread();
    if (dirty.has("total") || dirty.has("compare")) renderCompare();
    // Charts not yet loaded keep their flags: drawn when the library arrives.
    for (const key of ["conn", "total", "compare"]) dirty.delete(key);
    if (time || timeFailed) { dirty.delete("periods"); dirty.delete("curve"); }
    if (shape || shapeFailed) { dirty.delete("allocation"); dirty.delete("spread"); }
  }
  function renderConn() {
    const ms = Date.now();
    const state = shownState(S.conn, S.lastFrameAt, ms);
    el.conn.textContent = state === "live" ? "live" : connText(state, Math.max(0, Math.ceil((S.retryAt - ms) / 1000)),
      Math.round((ms - S.lastFrameAt) / 1000));
    el.conn.dataset.state = state;
  }
  function rows(tbody, list) {
    tbody.replaceChildren(...list.map((cells) => {
      const tr = document.createElement("tr");
      cells.forEach((c, i) => {
        const td = document.createElement(i === 0 ? "th" : "td");
        if (i === 0) td.scope = "row";
        const value = typeof c === "object" && c !== null ? c : { text: c };
        td.textContent = value.text;
        if (value.num || i > 0) td.className = "num";
        if (value.sign) td.dataset.sign = value.sign;
        if (value.label) td.dataset.label = value.label;
        tr.append(td);
      });
      return tr;
    }));
  }
  const signOf = (v) => (Number(v) > 0 ? "pos" : Number(v) < 0 ? "neg" : "");

  function renderTiles() {
    const total = A.data.total && A.data.total.total;
    const t = tileTexts(total, A.decimals);
    if (!t) {
      for (const id of ["t-total", "t-fees", "t-trades", "t-winrate", "t-pf", "t-exp", "t-dd"]) $(id).textContent = DASH;
      return;
    }
    $("t-total").textContent = t.total;
    $("t-total").dataset.sign = t.totalSign;
    $("t-fees").textContent = t.fees;
    $("t-trades").textContent = t.trades;
    $("t-winrate").textContent = t.winRate;
    $("t-pf").textContent = t.profitFactor;
    $("t-exp").textContent = t.expectancy;
    const curve = A.data.curve;
    $("t-dd").textContent = curve ? drawdownText(curve.max_drawdown, A.decimals, tz) : DASH;
  }
  function renderPeriods() {
    const list = A.data.periods || [];
    const period = A.choice.period;
    const active = list.filter((r) => r.trade_count > 0).length;
    el.periodsNote.textContent = list.length ? list.length + " " + period + (list.length === 1 ? "" : "s") + ", " + active +
      " with trades" : "No trades in this range.";
    rows($("tb-periods").tBodies[0], list.slice().reverse().map((r) => [periodLabel(r.period_start, period),
      { text: fmtSigned(r.realized_pnl, A.decimals), sign: signOf(r.realized_pnl) }, fmtMoney(r.fees, A.decimals),
      String(r.trade_count), String(r.wins), String(r.losses)]));
    const last = list.length ? list[list.length - 1].cumulative_pnl : null;
    el.cumulativeNote.textContent = last === null ? "No trades in this range." : "Ends at " + fmtSigned(last, A.decimals) +
      " after " + list.length + " " + period + (list.length === 1 ? "" : "s") + ".";
    if (time) time.periods(list);
  }
  function renderCurve() {
    const curve = A.data.curve || { equity: [], step_seconds: 0, max_drawdown: null };
    const eq = curve.equity;
    el.equityNote.textContent = eq.length ? "From " + fmtMoney(eq[0].equity, A.decimals) + " to " +
      fmtMoney(eq[eq.length - 1].equity, A.decimals) + "; deepest drawdown " + drawdownText(curve.max_drawdown, A.decimals, tz) +
      (curve.step_seconds ? " (one point per " + stepText(curve.step_seconds) + ")" : "") + "."
      : "No equity points recorded in this range.";
    if (time) time.curve(curve);
  }
  function renderAllocation() {
    const body = A.data.allocation || { groups: [] };
    const group = body.groups[0] || null;
    if (group && group.decimals !== A.decimals) {
      A.decimals = group.decimals; // the money already drawn is drawn again at the bots' precision
      for (const key of PARTS) if (A.data[key]) dirty.add(key);
      schedule();
    }
    el.quotes.hidden = body.groups.length < 2;
    el.quotes.textContent = body.groups.length < 2 ? "" : "These bots trade in different quote assets (" +
      body.groups.map((g) => g.quote_asset).join(", ") + "): figures over every bot add them up as one number; " +
      "choose one bot for figures in one asset.";
    el.allocationNote.textContent = body.error ? "Not available now: " + body.error
      : group ? "Total " + fmtMoney(group.total, group.decimals) + " " + group.quote_asset +
        (body.groups.length > 1 ? " (bots in other quote assets are not shown)" : "")
        : "No bot has reported its money yet.";
    $("c-allocation").parentElement.hidden = !group; // no empty ring
    $("tb-allocation").hidden = !group;
    rows($("tb-allocation").tBodies[0], group ? shares(group.slices, group.total).map((s) =>
      [s.name === "cash" ? "Cash (" + group.quote_asset + ")" : s.name, fmtMoney(s.value, group.decimals), s.share]) : []);
    if (shape) shape.allocation(group);
  }
  function renderSpread() {
    const body = A.data.spread || { closed: 0, width: null, pnl: [], holding: [], mean_win_seconds: null,
      mean_loss_seconds: null };
    el.spreadNote.textContent = body.closed ? body.closed + " closing trade" + (body.closed === 1 ? "" : "s") : "No closed trades in this range.";
    el.pnlNote.textContent = body.closed ? "Bins " + fmtMoney(body.width, A.decimals) + " wide; green at or above zero." : "";
    el.holdingNote.textContent = body.mean_win_seconds !== null || body.mean_loss_seconds !== null
      ? "A win was held " + meanText(body.mean_win_seconds) + " on average, a loss " + meanText(body.mean_loss_seconds) + "." : "";
    rows($("tb-pnl").tBodies[0], body.pnl.map((b) => [pnlLabel(b.low, b.high, A.decimals).split(" to ")[0],
      { text: fmtSigned(b.high, A.decimals), num: true }, String(b.count)]));
    rows($("tb-holding").tBodies[0], body.holding.map((b) => [holdingLabel(b.low_seconds, b.high_seconds), String(b.count),
      String(b.wins), String(b.losses)]));
    if (shape) shape.spread(body, A.decimals);
  }
  function meanText(s) {
    if (s === null) return DASH;
    return s < 90 ? s + " s" : s < 5400 ? Math.round(s / 60) + " min" : s < 172800 ? fmtDec(s / 3600, 0, 1) + " h" : fmtDec(s / 86400, 0, 1) + " days";
  }
  const COMPARE = { by_bot: "Bot", by_strategy: "Strategy", by_symbol: "Symbol" };
  function renderCompare() {
    const body = A.data.total || {};
    el.compareKey.textContent = COMPARE[A.by];
    const list = body[A.by] || [];
    const labels = ["Trades", "Closed", "Win rate", "Profit factor", "Expectancy", "Total", "Fees"];
    rows($("tb-compare").tBodies[0], list.map((r) => [keyText(r.key), r.trades, r.closed,
      r.win_rate === null ? DASH : fmtDec(Number(r.win_rate) * 100, 1, 1) + " %",
      r.profit_factor === null ? DASH : fmtDec(r.profit_factor, 2, 2),
      { text: r.expectancy === null ? DASH : fmtSigned(r.expectancy, A.decimals), sign: signOf(r.expectancy) },
      { text: fmtSigned(r.total, A.decimals), sign: signOf(r.total) }, fmtMoney(r.fees, A.decimals),
    ].map((c, i) => (i === 0 ? c : Object.assign(typeof c === "object" ? c : { text: String(c) }, { label: labels[i - 1] })))));
  }

  // ---- start ----
  showChoice();
  loadAll();
  link.connect();
  loadScript(root.dataset.timeLib).then(() => {
    time = createTimeCharts(globalThis.LightweightCharts, { periods: $("c-periods"), equity: $("c-equity"),
      cumulative: $("c-cumulative") }, () => tz);
    dirty.add("periods");
    dirty.add("curve");
    schedule();
  }).catch((e) => { timeFailed = true; say(e.message + "; the tables below have the figures."); });
  loadScript(root.dataset.shapeLib).then(() => {
    shape = createShapeCharts(globalThis.Chart, { allocation: $("c-allocation"), pnl: $("c-pnl"), holding: $("c-holding") });
    dirty.add("allocation");
    dirty.add("spread");
    schedule();
  }).catch((e) => { shapeFailed = true; say(e.message + "; the tables below have the figures."); });
}
