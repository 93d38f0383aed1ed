// The price chart (timeframes, trade markers grouped per candle with their details on hover or tap,
// zoom, pan, fit) and the equity curve, with TradingView's lightweight-charts served by Django.
// History comes from the REST API (always about the page's bot, S.bot); the last candle then moves with every price, drawn in
// render.js's animation frame, so a burst of prices costs one chart update.
import { apiUrl, withBot } from "./bots.js";
import { DEFAULT_TIMEFRAME, TIMEFRAMES, aggregate, fold, groupTrades, isTimeframe, markerOf } from "./candles.js";
import { DASH, change, fmtDateTime, fmtPct, fmtPrice, fmtQty, fmtSigned, fmtTime } from "./format.js";
import { mk } from "./render.js";

const SYMBOL_KEY = "cryptobot.chart-symbol";
const TIMEFRAME_KEY = "cryptobot.chart-timeframe";
const TRADE_PAGES = 4; // at most 2,000 trades of history for the markers
const TIP_TRADES = 8;
const HINT = "Scroll or pinch to zoom, drag to pan; hover or tap a candle for its trades.";

function stored(key) {
  try {
    return localStorage.getItem(key);
  } catch (e) {
    return null;
  }
}
function store(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch (e) {
    /* not remembered */
  }
}

function getJson(url) {
  return fetch(url, { credentials: "same-origin", cache: "no-store" }).then((r) => {
    if (!r.ok) throw new Error("HTTP " + r.status);
    return r.json();
  });
}

// Axis labels in the browser's time zone (the chart's times are UTC seconds).
const pad2 = (n) => String(n).padStart(2, "0");
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
function tickMark(time, type) {
  const d = new Date(time * 1000);
  if (type === 0) return String(d.getFullYear());
  if (type === 1) return MONTHS[d.getMonth()];
  if (type === 2) return d.getDate() + " " + MONTHS[d.getMonth()];
  return pad2(d.getHours()) + ":" + pad2(d.getMinutes()) + (type === 4 ? ":" + pad2(d.getSeconds()) : "");
}
const crosshairTime = (time) => fmtDateTime(new Date(time * 1000));

/** S: the shared state; view: render.js (frame hooks, log). */
export function createCharts(S, view, LC) {
  const $ = (id) => document.getElementById(id);
  const box = $("chart");
  const select = $("chart-symbol");
  const tfBox = $("chart-timeframes");
  const legend = $("chart-legend");
  const tip = $("chart-tip");
  const hint = $("chart-hint");
  const theme = {
    autoSize: true,
    layout: { background: { type: "solid", color: "#171b21" }, textColor: "#8a95a5", attributionLogo: false },
    grid: { vertLines: { color: "#20262e" }, horzLines: { color: "#20262e" } },
    timeScale: { timeVisible: true, secondsVisible: false, borderColor: "#2a313b", barSpacing: 8, rightOffset: 4,
      tickMarkFormatter: tickMark },
    localization: { timeFormatter: crosshairTime },
    rightPriceScale: { borderColor: "#2a313b" },
  };
  const chart = LC.createChart(box, theme);
  const candles = chart.addSeries(LC.CandlestickSeries, {
    upColor: "#3ecf8e", downColor: "#ff6b6b", borderVisible: false, wickUpColor: "#3ecf8e", wickDownColor: "#ff6b6b",
  });
  const marks = LC.createSeriesMarkers(candles, []);
  const eqChart = LC.createChart($("equity-chart"), theme);
  const equity = eqChart.addSeries(LC.LineSeries, { color: "#4c9aff", lineWidth: 2 });

  const stf = Number(stored(TIMEFRAME_KEY));
  const C = {
    symbol: null, tf: isTimeframe(stf) ? stf : DEFAULT_TIMEFRAME, step: DEFAULT_TIMEFRAME, data: [], byTime: new Map(), last: null,
    loaded: false, token: 0, history: [], groups: new Map(), candleDirty: false, marksDirty: false,
    hover: null, eqLast: null, eqLoaded: false, eqToken: 0, capped: null,
  };

  // ---- timeframe buttons ----
  for (const { label, seconds } of TIMEFRAMES) {
    const b = mk("button", "btn btn-small tf", label);
    b.type = "button";
    b.dataset.tf = String(seconds);
    b.addEventListener("click", () => setTimeframe(seconds));
    tfBox.append(b);
  }
  function showTimeframe() {
    for (const b of tfBox.querySelectorAll("button")) b.setAttribute("aria-pressed", String(Number(b.dataset.tf) === C.tf));
    box.dataset.timeframe = String(C.tf);
  }
  function setTimeframe(seconds) {
    if (seconds === C.tf) return;
    C.tf = seconds;
    store(TIMEFRAME_KEY, String(seconds));
    showTimeframe();
    load();
  }
  showTimeframe();
  $("chart-fit").addEventListener("click", () => chart.timeScale().fitContent());
  $("chart-latest").addEventListener("click", () => chart.timeScale().scrollToRealTime());

  // ---- history ----
  function load() {
    const token = ++C.token;
    C.loaded = false;
    box.dataset.state = "loading";
    if (!C.symbol) return;
    const sym = C.symbol;
    const tf = C.tf;
    const bot = S.bot;
    getJson(apiUrl("/api/candles", bot, { symbol: sym, timeframe: tf })).then((body) => {
      if (token !== C.token) return; // another symbol, timeframe or bot was chosen meanwhile
      // A base coarser than the timeframe (a large CANDLE_INTERVAL) sets the candle size instead;
      // live prices fold into the same step, so history and the live candle line up.
      const step = Math.max(tf, body.interval || tf);
      C.step = step;
      C.data = aggregate(body.candles || [], step);
      C.byTime = new Map(C.data.map((c) => [c.time, c]));
      candles.setData(C.data);
      chart.applyOptions({ timeScale: { secondsVisible: step < 60 } });
      chart.timeScale().scrollToRealTime();
      C.last = C.data.length ? Object.assign({}, C.data[C.data.length - 1]) : null;
      C.loaded = true;
      box.dataset.state = "ready";
      box.dataset.candles = String(C.data.length);
      // What came meanwhile, at the time the bot sent it (not this browser's clock).
      const price = Number(S.prices.get(sym));
      const at = S.priceTimes.get(sym);
      if (Number.isFinite(price) && at !== undefined) onPrice(sym, price, at);
      C.history = [];
      C.marksDirty = true;
      view.schedule();
      if (C.data.length) loadTrades(token, bot, sym, C.data[0].time);
    }).catch((e) => {
      if (token !== C.token) return;
      box.dataset.state = "error";
      view.log("error", "chart history could not be loaded (" + e.message + ")");
    });
  }

  // Every trade in the visible range, not only the page's last 50: newest pages first.
  function loadTrades(token, bot, sym, from) {
    const since = new Date(from * 1000).toISOString();
    const trades = [];
    const page = (url, n) => getJson(url).then((body) => {
      if (token !== C.token) return;
      trades.push(...(body.results || []));
      if (body.next && n + 1 < TRADE_PAGES) return page(withBot(body.next, bot), n + 1);
      // More trades than fetched: markers cover the newest ones only, and the chart says from when.
      C.capped = body.next && trades.length ? trades[trades.length - 1].executed_at : null;
      hint.textContent = C.capped ? "Markers show the latest " + trades.length.toLocaleString("en-US") +
        " trades (since " + fmtDateTime(C.capped) + "). " + HINT : HINT;
      C.history = trades;
      C.marksDirty = true;
      view.schedule();
    });
    page(apiUrl("/api/trades", bot, { page_size: 500, symbol: sym, since }), 0)
      .catch((e) => {
        if (token === C.token) view.log("error", "trade markers could not be loaded (" + e.message + ")");
      });
  }

  function loadEquity() {
    const token = ++C.eqToken;
    getJson(apiUrl("/api/equity", S.bot, { limit: 1000 })).then((points) => {
      if (token !== C.eqToken) return; // a later load (another reconnect, another bot) is on its way
      const byTime = new Map();
      for (const p of points) {
        const time = Math.floor(Date.parse(p.taken_at) / 1000);
        if (Number.isFinite(time)) byTime.set(time, Number(p.equity));
      }
      const line = Array.from(byTime, ([time, value]) => ({ time, value })).sort((a, b) => a.time - b.time);
      equity.setData(line);
      C.eqLast = line.length ? line[line.length - 1].time : null;
      C.eqLoaded = true;
    }).catch((e) => {
      if (token === C.eqToken) view.log("error", "equity history could not be loaded (" + e.message + ")");
    });
  }

  function fillSelect() {
    const have = Array.from(select.options, (o) => o.value).join(",");
    if (have === S.symbols.join(",")) return;
    select.textContent = "";
    for (const sym of S.symbols) {
      const o = document.createElement("option");
      o.value = o.textContent = sym;
      select.append(o);
    }
  }

  /** fresh: the first snapshot on a socket (history is fetched again: it may have moved on). */
  function onStatus(d, fresh) {
    fillSelect();
    if (!C.symbol || !S.symbols.includes(C.symbol)) {
      const s = stored(SYMBOL_KEY);
      C.symbol = S.symbols.includes(s) ? s : S.symbols[0] || null;
      fresh = true;
    }
    select.value = C.symbol || "";
    box.dataset.symbol = C.symbol || "";
    C.marksDirty = true;
    if (fresh) {
      load();
      loadEquity();
    }
  }

  function onPrice(sym, price, tsSec) {
    if (!C.loaded || sym !== C.symbol || !Number.isFinite(price)) return;
    const next = fold(C.last, price, tsSec, C.step);
    if (!next) return;
    C.last = next;
    C.candleDirty = true;
  }

  function onTrade(t) {
    if (t && t.symbol === C.symbol) C.marksDirty = true;
  }

  function onEquity(tsSec, value) {
    const time = Math.floor(tsSec);
    if (!C.eqLoaded || !Number.isFinite(value) || (C.eqLast !== null && time < C.eqLast)) return;
    equity.update({ time, value });
    C.eqLast = time;
  }

  // ---- legend and trade details ----
  function showLegend(c) {
    legend.textContent = "";
    if (!c) {
      legend.textContent = C.loaded ? "No candles yet" : "Loading…";
      return;
    }
    Object.assign(legend.dataset, { time: String(c.time), open: String(c.open), high: String(c.high), low: String(c.low),
      close: String(c.close) });
    const ch = change(c.close, c.open);
    legend.append(mk("time", "legend-time", fmtDateTime(new Date(c.time * 1000))));
    for (const [k, v] of [["O", c.open], ["H", c.high], ["L", c.low], ["C", c.close]]) {
      legend.append(mk("span", "legend-k", k), mk("span", "legend-v num", fmtPrice(v)));
    }
    const chEl = mk("span", "legend-ch num", ch === null ? DASH : fmtPct(ch));
    chEl.dataset.sign = ch > 0 ? "pos" : ch < 0 ? "neg" : "zero";
    legend.append(chEl);
    const g = C.groups.get(c.time);
    if (g) legend.append(mk("span", "legend-trades", g.trades.length + (g.trades.length > 1 ? " trades" : " trade")));
  }

  function showTip(time, x) {
    const g = time === null ? null : C.groups.get(time);
    if (!g) {
      tip.hidden = true;
      return;
    }
    tip.textContent = "";
    const count = (n, word) => (n ? n + " " + word + (n === 1 ? "" : "s") : "");
    tip.append(mk("div", "tip-head", [count(g.buys, "buy"), count(g.sells, "sell")].filter(Boolean).join(", ")));
    for (const t of g.trades.slice(0, TIP_TRADES)) {
      const row = mk("div", "tip-trade");
      row.dataset.tradeId = t.trade_id;
      row.append(mk("span", "side side-" + (t.side === "sell" ? "sell" : "buy"), t.side),
        mk("span", "num", fmtQty(t.qty) + " @ " + fmtPrice(t.price)),
        mk("time", "muted", fmtTime(t.executed_at)));
      if (t.side === "sell") {
        const p = mk("span", "num", fmtSigned(t.realized_pnl, S.marks ? S.marks.decimals : 2));
        p.dataset.sign = Number(t.realized_pnl) > 0 ? "pos" : Number(t.realized_pnl) < 0 ? "neg" : "zero";
        row.append(p);
      }
      if (t.reason) row.title = t.reason;
      tip.append(row);
    }
    if (g.trades.length > TIP_TRADES) tip.append(mk("div", "muted", "+" + (g.trades.length - TIP_TRADES) + " more"));
    tip.hidden = false;
    const width = box.clientWidth;
    const left = Math.min(Math.max(0, x + 12), Math.max(0, width - tip.offsetWidth));
    tip.style.left = left + "px";
  }

  function onHover(param) {
    const time = param && param.time !== undefined ? param.time : null;
    C.hover = time;
    showLegend(time === null ? C.last : C.byTime.get(time) || (C.last && C.last.time === time ? C.last : null));
    showTip(time, param && param.point ? param.point.x : 0);
  }
  chart.subscribeCrosshairMove(onHover);
  chart.subscribeClick(onHover); // a tap on a phone shows the same details

  view.hooks.push(() => {
    if (C.candleDirty && C.last) {
      C.candleDirty = false;
      candles.update(Object.assign({}, C.last));
      C.byTime.set(C.last.time, C.last);
      if (C.hover === null) showLegend(C.last);
    }
    if (C.marksDirty && C.loaded) {
      C.marksDirty = false;
      const first = C.data.length ? C.data[0].time : C.last ? C.last.time : Infinity;
      const groups = groupTrades(C.history.concat(S.trades), C.symbol, C.step, first);
      C.groups = new Map(groups.map((g) => [g.time, g]));
      marks.setMarkers(groups.map(markerOf));
      box.dataset.markers = String(groups.length);
      box.dataset.trades = String(groups.reduce((n, g) => n + g.trades.length, 0));
      if (C.hover === null) showLegend(C.last);
    }
  });

  select.addEventListener("change", () => {
    C.symbol = select.value;
    box.dataset.symbol = C.symbol;
    store(SYMBOL_KEY, C.symbol);
    C.last = null;
    load();
  });

  /** Another bot: forget everything drawn and every answer still on its way (the tokens move on);
   *  the new bot's first snapshot (onStatus) loads its history. */
  function reset() {
    C.token += 1;
    C.eqToken += 1;
    Object.assign(C, { symbol: null, step: C.tf, data: [], byTime: new Map(), last: null, loaded: false, history: [],
      groups: new Map(), candleDirty: false, marksDirty: false, hover: null, eqLast: null, eqLoaded: false, capped: null });
    candles.setData([]);
    marks.setMarkers([]);
    equity.setData([]);
    select.textContent = "";
    box.dataset.state = "loading";
    box.dataset.symbol = "";
    for (const k of ["candles", "markers", "trades"]) delete box.dataset[k];
    tip.hidden = true;
    hint.textContent = HINT;
    showLegend(null);
  }

  return { onStatus, onPrice, onTrade, onEquity, reset };
}
