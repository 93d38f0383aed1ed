// The live dashboard's entry point: the shared state, what each event does to it, and the wiring.
// One WebSocket; the DOM is updated at most once per animation frame (render.js).
import { createCharts } from "./charts.js";
import { toNum } from "./format.js";
import { envelopes, nextSeq } from "./link.js";
import { createNotifier } from "./notify.js";
import { createPanels } from "./panels.js";
import { MAX_TRADES, createView } from "./render.js";
import { createSocket } from "./socket.js";
import { commandText, sentence } from "./texts.js";

const root = document.getElementById("dashboard");
if (root) start(root);

function start(root) {
  const wsPath = root.dataset.wsPath || "/ws/dashboard/";
  const S = {
    conn: "connecting", retryAt: 0, lastFrameAt: Date.now(),
    botState: null, botReason: null, botOnline: null,
    snap: null, marks: null, tradeCount: null,
    symbols: [], prices: new Map(), priceTimes: new Map(), dirs: new Map(), positions: new Map(), market: {},
    trades: [], seen: new Set(),
    pending: null, lastSeq: null,
    canControl: root.dataset.canControl === "true",
  };
  const panels = createPanels(S, (symbol) => closePosition(symbol));
  const view = createView(root, S, panels);
  const { el, dirty, schedule, log, notice } = view;
  const notify = createNotifier();

  // The chart library (200 KB) runs only once the figures are on screen: until then chart calls
  // go nowhere, and the charts start from the latest snapshot when it is ready.
  const noCharts = { onStatus() {}, onPrice() {}, onTrade() {}, onEquity() {} };
  let charts = noCharts;
  function startCharts() {
    if (charts !== noCharts || !globalThis.LightweightCharts) return;
    charts = createCharts(S, view, globalThis.LightweightCharts);
    if (S.snap) charts.onStatus(S.snap, true);
  }
  function loadChartLib() {
    if (globalThis.LightweightCharts) return startCharts();
    const script = document.createElement("script");
    script.src = root.dataset.chartLib;
    script.addEventListener("load", startCharts);
    script.addEventListener("error", () => log("error", "the chart library did not load"));
    document.head.append(script);
  }
  const link = createSocket({ S, view, wsPath, onFrame: handleFrame });

  // ---- state changes ----
  function rememberTrade(id) {
    S.seen.add(id);
    if (S.seen.size > 1000) S.seen = new Set(S.trades.map((t) => t.trade_id));
  }

  function onStatus(d) {
    S.snap = d;
    S.marks = d.marks || null;
    S.botState = d.state;
    S.botReason = d.reason || null;
    S.tradeCount = Number.isInteger(d.trade_count) ? d.trade_count : null;
    S.symbols = Array.isArray(d.symbols) ? d.symbols.slice() : [];
    S.prices = new Map(Object.entries(d.prices || {}));
    S.market = d.market || {};
    S.dirs.clear();
    S.positions = new Map((d.positions || []).map((p) => [p.symbol, p]));
    S.trades = [];
    S.seen = new Set();
    for (const t of d.recent_trades || []) {
      if (!t || S.seen.has(t.trade_id)) continue;
      rememberTrade(t.trade_id);
      S.trades.push(t);
      if (S.trades.length >= MAX_TRADES) break;
    }
    Object.assign(dirty, { header: true, summary: true, pricesAll: true, positions: true, perf: true, tradesReset: true, newTrades: [] });
    dirty.prices.clear();
  }

  function onPrice(d, tsSec) {
    const sym = d.symbol;
    if (Number.isFinite(tsSec)) S.priceTimes.set(sym, tsSec);
    charts.onPrice(sym, toNum(d.price), tsSec);
    const o = toNum(S.prices.get(sym));
    const n = toNum(d.price);
    if (Number.isFinite(o) && Number.isFinite(n) && n !== o) S.dirs.set(sym, n > o ? "up" : "down");
    S.prices.set(sym, d.price);
    dirty.prices.add(sym);
    if (d.marks) {
      // The whole account at this price, as the bot computed it: headline and rows move together.
      S.marks = d.marks;
      dirty.summary = true;
    }
    if (S.positions.size) dirty.positions = true;
  }

  function onTrade(t) {
    if (!t || !t.trade_id || S.seen.has(t.trade_id)) return;
    rememberTrade(t.trade_id);
    S.trades.unshift(t);
    if (S.trades.length > MAX_TRADES) S.trades.length = MAX_TRADES;
    dirty.newTrades.push(t);
    if (dirty.newTrades.length > MAX_TRADES) dirty.newTrades.shift();
    if (S.tradeCount !== null) {
      S.tradeCount += 1;
      dirty.summary = true;
    }
    log("trade_executed", (t.side === "sell" ? "sold " : "bought ") + t.symbol + (t.reason ? ": " + t.reason : ""));
    notify.trade(t);
    charts.onTrade(t);
  }

  function onControl(d) {
    const ours = S.pending && S.pending.id === d.ref; // ref: this page's own id, echoed
    const text = commandText(d);
    log("bot_control", text + (ours ? "" : " (from another page)"));
    if (ours) {
      link.clearPending();
      notice(text, d.ok ? "ok" : "error");
    }
  }

  // One frame: an envelope, or an array of them in event order. page: the snapshot the page was
  // served with (shown at once; the socket then resumes after it). Returns how many were applied.
  function handleFrame(raw, page) {
    const envs = envelopes(raw);
    for (const env of envs) applyEnvelope(env, page);
    if (envs.length) schedule();
    return envs.length;
  }

  function applyEnvelope(env, page) {
    S.lastSeq = nextSeq(S.lastSeq, env);
    const d = env.data && typeof env.data === "object" ? env.data : {};
    try {
      switch (env.type) {
        case "status": {
          const first = page || link.statusArrived(); // also resets the reconnect backoff
          onStatus(d);
          charts.onStatus(d, first);
          if (first && !page) log("status", "connected: the bot is " + d.state + ", " + (d.symbols || []).length + " symbols");
          if (!page && S.conn !== "offline") link.setConn("live"); // the page's copy is not a live link
          break;
        }
        case "status_change":
          S.botState = d.state;
          S.botReason = d.reason || null;
          dirty.header = true;
          log("status_change", "the bot " + (d.state === "running" ? "started" : "stopped") + (d.reason ? ": " + d.reason : ""));
          break;
        case "price_update":
          onPrice(d, Date.parse(env.ts) / 1000);
          break;
        case "equity_snapshot":
          charts.onEquity(Date.parse(env.ts) / 1000, toNum(d.equity));
          break;
        case "trade_executed":
          onTrade(d);
          break;
        case "bot_control":
          onControl(d);
          break;
        case "order_skipped":
          log("order_skipped", "no " + d.side + " of " + d.symbol + ": " + d.reason);
          break;
        case "bot_presence":
          if (S.botOnline !== (d.online === true)) {
            S.botOnline = d.online === true;
            dirty.header = true;
            log("bot_presence", S.botOnline ? "the bot process is reporting" : "the bot process went silent");
          }
          break;
        case "heartbeat":
          break; // its arrival is the news (socket.js noted the time)
        case "error":
          log("error", sentence(d.message || d.code || "error"));
          if (S.pending) {
            notice(commandText({ command: S.pending.command, ok: false, error: d.code }), "error");
            link.clearPending();
          }
          break;
        default:
          console.info("dashboard: unknown event type ignored:", env.type);
      }
    } catch (e) {
      console.error("dashboard: failed to apply", env.type, e);
    }
  }

  // ---- buttons ----
  el.start.addEventListener("click", () => link.send("start_bot"));
  el.stop.addEventListener("click", () => {
    if (window.confirm("Stop the bot? Open positions stay open.")) link.send("stop_bot");
  });
  el.stopClose.addEventListener("click", () => {
    if (window.confirm("Stop the bot and sell every open position at market?")) {
      link.send("stop_bot", { close_positions: true }, "stop_close");
    }
  });
  function closePosition(symbol) {
    if (window.confirm("Sell the whole " + symbol + " position at market?")) {
      link.send("close_position", { symbol }, "close:" + symbol);
    }
  }

  const served = document.getElementById("initial-status");
  if (served) handleFrame(served.textContent, true);
  schedule();
  link.connect();
  // After the frame that draws the figures (rAF), and after that frame is painted (timeout).
  requestAnimationFrame(() => setTimeout(loadChartLib, 0));
}
