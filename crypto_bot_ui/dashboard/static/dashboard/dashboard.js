/* Live dashboard: one WebSocket, state in memory, DOM updated at most once per animation frame. */
/* This file holds the state and the wiring; it loads last, after format.js, socket.js and render.js. */
(function () {
  "use strict";

  if (typeof document === "undefined" || typeof window === "undefined") return;

  const NS = (window.CryptoDashboard = window.CryptoDashboard || {});
  const { fmtDec, fmtPrice, fmtQty, fmtSigned, toNum, unrealized } = NS.format;
  const { MAX_TRADES } = NS.render;

  const root = document.getElementById("dashboard");
  if (!root) return;
  const wsPath = root.dataset.wsPath || document.body.dataset.wsPath || "/ws/dashboard/";

  // ---- state ----
  const S = {
    conn: "connecting", retryAt: 0,
    botState: null, botReason: null, botOnline: null,
    snap: null, tradeCount: null,
    symbols: [], prices: new Map(), priceTimes: new Map(), dirs: new Map(), positions: new Map(), market: {},
    trades: [], seen: new Set(),
    pending: null, lastSeq: null,
    canControl: root.dataset.canControl === "true",
  };
  const panels = NS.panels.create(S, (symbol) => closePosition(symbol));
  const view = NS.render.create(root, S, panels);
  const { el, dirty, schedule, log, notice } = view;
  // The chart library (200 KB of script) runs only once the figures are on screen: until then
  // chart calls go nowhere, and the charts start from the latest snapshot when it is ready.
  const noCharts = { onStatus() {}, onPrice() {}, onTrade() {}, onEquity() {} };
  let charts = noCharts;
  function startCharts() {
    if (charts !== noCharts) return;
    charts = NS.charts.create(S, view);
    if (S.snap) charts.onStatus(S.snap, true);
  }
  function loadChartLib() {
    if (window.LightweightCharts) return startCharts();
    const script = document.createElement("script");
    script.src = root.dataset.chartLib;
    script.addEventListener("load", startCharts);
    script.addEventListener("error", () => log("error", "the chart library did not load"));
    document.head.append(script);
  }
  const link = NS.socket.create({ S, view, wsPath, onFrame: handleFrame });
  const { setConn, clearPending, send } = link;

  // ---- state changes ----
  function rememberTrade(id) {
    S.seen.add(id);
    if (S.seen.size > 1000) S.seen = new Set(S.trades.map((t) => t.trade_id));
  }

  function onStatus(d) {
    S.snap = d;
    S.botState = d.state;
    S.botReason = d.reason || null;
    S.tradeCount = Number.isInteger(d.trade_count) ? d.trade_count : null;
    S.symbols = Array.isArray(d.symbols) ? d.symbols.slice() : [];
    S.prices = new Map(Object.entries(d.prices || {}));
    S.market = d.market || {};
    S.dirs.clear();
    S.positions = new Map();
    for (const p of d.positions || []) S.positions.set(p.symbol, Object.assign({ upnl: p.unrealized_pnl }, p));
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
    const old = S.prices.get(sym);
    const o = toNum(old);
    const n = toNum(d.price);
    if (old !== undefined && Number.isFinite(o) && Number.isFinite(n) && n !== o) S.dirs.set(sym, n > o ? "up" : "down");
    S.prices.set(sym, d.price);
    dirty.prices.add(sym);
    const p = S.positions.get(sym);
    if (p) {
      p.mark_price = d.price;
      p.upnl = unrealized(d.price, p.avg_entry, p.qty);
      dirty.positions = true;
    }
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
    const text = (t.side || "").toUpperCase() + " " + fmtQty(t.qty) + " " + t.symbol + " @ " + fmtPrice(t.price) +
      (toNum(t.realized_pnl) ? " (P&L " + fmtSigned(t.realized_pnl) + ")" : "");
    log("trade_executed", text);
    panels.toast(text, t.side === "sell" ? "sell" : "buy");
    panels.beep(t.side !== "sell");
    charts.onTrade(t);
  }

  function onControl(d) {
    const ours = S.pending && S.pending.id === d.id;
    const text = (d.ok ? d.command + " accepted" : d.command + " failed: " + (d.error || "unknown")) +
      (d.detail ? " (" + d.detail + ")" : "");
    log("bot_control", text + (ours ? "" : " (other client)"));
    if (ours) {
      clearPending();
      notice(text, d.ok ? "ok" : "error");
    }
  }

  // One frame: an envelope, or an array of envelopes in event order (the server batches what
  // queued up). page: the snapshot the page was served with (shown at once; the socket then
  // resumes after it). Returns how many envelopes were applied.
  function handleFrame(raw, page) {
    let decoded = null;
    try {
      decoded = JSON.parse(raw);
    } catch (e) {
      /* reported below */
    }
    const envs = Array.isArray(decoded) ? decoded : [decoded];
    let applied = 0;
    for (const env of envs) {
      if (!env || typeof env.type !== "string" || env.v !== 1) {
        console.warn("dashboard: envelope ignored (not v1)", env);
        continue;
      }
      applyEnvelope(env, page);
      applied += 1;
    }
    if (applied) schedule();
    return applied;
  }

  function applyEnvelope(env, page) {
    if (Number.isInteger(env.seq)) S.lastSeq = env.seq;
    const d = env.data && typeof env.data === "object" ? env.data : {};
    try {
      switch (env.type) {
        case "status": {
          // statusArrived() also resets the reconnect backoff; true for a socket's first status.
          const first = page || link.statusArrived();
          onStatus(d);
          charts.onStatus(d, first);
          // The bot also sends a status after every trade; log only the one that opens a connection.
          if (first) log("status", (page ? "page snapshot: " : "snapshot: ") + d.state + ", " + (d.symbols || []).length + " symbols, equity " + fmtDec(d.equity) + " " + (d.quote_asset || ""));
          if (!page && S.conn !== "offline") setConn("live"); // the page's copy is not a live link
          break;
        }
        case "status_change":
          S.botState = d.state;
          S.botReason = d.reason || null;
          dirty.header = true;
          log("status_change", (d.previous || "?") + " → " + d.state + (d.reason ? " (" + d.reason + ")" : ""));
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
        case "bot_presence":
          if (S.botOnline !== (d.online === true)) {
            S.botOnline = d.online === true;
            dirty.header = true;
            log("bot_presence", S.botOnline ? "bot online" : "bot offline");
          }
          break;
        case "error":
          log("error", (d.code || "error") + ": " + (d.message || ""));
          if (S.pending) {
            notice(S.pending.command + " failed: " + (d.code || "error"), "error");
            clearPending();
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
  el.start.addEventListener("click", () => send("start_bot"));
  el.stop.addEventListener("click", () => {
    if (window.confirm("Stop the bot? Open positions stay open.")) send("stop_bot");
  });
  el.stopClose.addEventListener("click", () => {
    if (window.confirm("Stop the bot and sell every open position at market?")) {
      send("stop_bot", { close_positions: true }, "stop_close");
    }
  });
  function closePosition(symbol) {
    if (window.confirm("Sell the whole " + symbol + " position at market?")) {
      send("close_position", { symbol }, "close:" + symbol);
    }
  }

  // Debug/test hook: live getters (Object.assign would freeze their values).
  // The helpers are already on the namespace (format.js, socket.js).
  Object.defineProperties(NS, {
    lastSeq: { get() { return S.lastSeq; }, enumerable: true, configurable: true },
    state: { get() { return S; }, enumerable: true, configurable: true },
  });
  NS.send = send;

  const served = document.getElementById("initial-status");
  if (served) handleFrame(served.textContent, true);
  schedule();
  link.connect();
  // After the frame that draws the figures (rAF), and after that frame is painted (timeout).
  requestAnimationFrame(() => setTimeout(loadChartLib, 0));
})();
