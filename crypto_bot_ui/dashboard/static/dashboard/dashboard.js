/* Live dashboard: one WebSocket, state in memory, DOM updated at most once per animation frame. */
(function () {
  "use strict";

  // ---- pure helpers (no DOM; exported for tests) ----
  const DASH = "—";
  const MAX_TRADES = 50;
  const MAX_LOG = 50;
  const formatters = new Map();
  const nf = (min, max) => {
    const key = min + ":" + max;
    if (!formatters.has(key)) {
      formatters.set(key, new Intl.NumberFormat("en-US", { minimumFractionDigits: min, maximumFractionDigits: max }));
    }
    return formatters.get(key);
  };
  // Decimals travel as strings; Number() is used only to format them for display.
  const toNum = (v) => (v === null || v === undefined || v === "" ? NaN : Number(v));
  const fmtDec = (v, min = 2, max = 2) => {
    const n = toNum(v);
    return Number.isFinite(n) ? nf(min, max).format(n) : DASH;
  };
  const priceDigits = (a) => (a >= 1000 ? 2 : a >= 1 ? 4 : a >= 0.01 ? 6 : 8);
  const fmtPrice = (v) => fmtDec(v, 2, priceDigits(Math.abs(toNum(v))));
  const fmtQty = (v) => fmtDec(v, 0, 8);
  const sign = (v) => {
    const n = toNum(v);
    return !Number.isFinite(n) ? "none" : n > 0 ? "pos" : n < 0 ? "neg" : "zero";
  };
  const fmtSigned = (v) => {
    const n = toNum(v);
    return Number.isFinite(n) ? (n > 0 ? "+" : n < 0 ? "-" : "") + nf(2, 2).format(Math.abs(n)) : DASH;
  };
  const pad2 = (n) => String(n).padStart(2, "0");
  const toDate = (iso) => (iso instanceof Date ? iso : new Date(iso));
  const fmtTime = (iso) => {
    const d = toDate(iso);
    return isNaN(d) ? DASH : pad2(d.getHours()) + ":" + pad2(d.getMinutes()) + ":" + pad2(d.getSeconds());
  };
  const fmtDateTime = (iso) => {
    const d = toDate(iso);
    return isNaN(d) ? DASH : d.getFullYear() + "-" + pad2(d.getMonth() + 1) + "-" + pad2(d.getDate()) + " " + fmtTime(d);
  };
  // Display-only estimate: (mark - avg_entry) * qty.
  const unrealized = (mark, avgEntry, qty) => (toNum(mark) - toNum(avgEntry)) * toNum(qty);
  // Full jitter: uniform in [0, min(cap, base * 2^attempt)], floored at 250 ms.
  const backoffDelay = (attempt, rand = Math.random, base = 1000, cap = 30000) =>
    Math.max(250, Math.floor(rand() * Math.min(cap, base * 2 ** Math.min(attempt, 16))));
  let idCounter = 0;
  const commandId = (now = Date.now()) => "c-" + now + "-" + ++idCounter;

  const helpers = { fmtDec, fmtPrice, fmtQty, fmtSigned, sign, fmtTime, fmtDateTime, unrealized, backoffDelay, commandId, toNum };

  if (typeof document === "undefined" || typeof window === "undefined") {
    if (typeof module !== "undefined" && module.exports) module.exports = helpers;
    return;
  }

  // ---- DOM ----
  const $ = (id) => document.getElementById(id);
  const root = $("dashboard");
  if (!root) return;
  const el = {
    conn: $("conn-state"), bot: $("bot-state"), botReason: $("bot-reason"),
    start: $("btn-start"), stop: $("btn-stop"), notice: $("notice"),
    realized: $("pnl-realized"), unrealized: $("pnl-unrealized"), total: $("pnl-total"),
    equity: $("equity"), cash: $("cash"), tradeCount: $("trade-count"), meta: $("meta"), startedAt: $("started-at"),
    prices: $("prices"), positions: $("positions"), trades: $("trades"), log: $("log"),
    pricesEmpty: $("prices-empty"), positionsEmpty: $("positions-empty"), tradesEmpty: $("trades-empty"), logEmpty: $("log-empty"),
  };
  const wsPath = root.dataset.wsPath || document.body.dataset.wsPath || "/ws/dashboard/";

  // ---- state ----
  const S = {
    conn: "connecting", retryAt: 0,
    botState: null, botReason: null, botOnline: null,
    snap: null, tradeCount: null,
    symbols: [], prices: new Map(), dirs: new Map(), positions: new Map(),
    trades: [], seen: new Set(),
    pending: null, lastSeq: null,
  };
  const dirty = {
    header: true, summary: true, pricesAll: true, prices: new Set(), positions: true,
    tradesReset: true, newTrades: [], newLog: [],
  };
  let rafId = 0;
  let ws = null;
  let gotStatus = false; // a status arrived on the current socket
  let attempt = 0;
  let retryTimer = 0;
  let tickTimer = 0;
  let leaving = false;
  const priceRows = new Map();

  function schedule() {
    if (!rafId) rafId = requestAnimationFrame(render);
  }

  function mk(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function setSigned(node, v) {
    node.textContent = fmtSigned(v);
    node.dataset.sign = sign(v);
    return node;
  }

  // ---- rendering ----
  function render() {
    rafId = 0;
    if (dirty.header) renderHeader();
    if (dirty.summary) renderSummary();
    if (dirty.pricesAll || dirty.prices.size) renderPrices();
    if (dirty.positions) renderPositions();
    if (dirty.tradesReset || dirty.newTrades.length) renderTrades();
    if (dirty.newLog.length) renderLog();
  }

  function connText() {
    if (S.conn === "reconnecting") return "reconnecting… (retry in " + Math.max(0, Math.ceil((S.retryAt - Date.now()) / 1000)) + "s)";
    return S.conn === "connecting" ? "connecting…" : S.conn;
  }

  function renderHeader() {
    dirty.header = false;
    el.conn.textContent = connText();
    el.conn.dataset.state = S.conn;
    document.body.classList.toggle("stale", S.conn !== "live" && S.snap !== null);

    const bs = S.botOnline === false ? "offline" : S.botState === "running" || S.botState === "stopped" ? S.botState : "unknown";
    el.bot.textContent = bs === "unknown" ? DASH : bs;
    el.bot.dataset.state = bs;
    el.botReason.textContent = S.botReason || "";

    const live = S.conn === "live";
    const busy = S.pending !== null;
    const known = S.botOnline !== false;
    el.start.disabled = !live || busy || (known && S.botState === "running");
    el.stop.disabled = !live || busy || (known && S.botState === "stopped");
    for (const [btn, cmd] of [[el.start, "start_bot"], [el.stop, "stop_bot"]]) {
      const p = busy && S.pending.command === cmd;
      btn.classList.toggle("pending", p);
      btn.setAttribute("aria-busy", p ? "true" : "false");
    }
  }

  function renderSummary() {
    dirty.summary = false;
    const d = S.snap;
    if (!d) return;
    setSigned(el.realized, d.pnl && d.pnl.realized);
    setSigned(el.unrealized, d.pnl && d.pnl.unrealized);
    setSigned(el.total, d.pnl && d.pnl.total);
    el.equity.textContent = fmtDec(d.equity);
    el.cash.textContent = fmtDec(d.cash);
    for (const q of root.querySelectorAll(".quote")) q.textContent = d.quote_asset || "";
    el.tradeCount.textContent = S.tradeCount === null ? DASH : String(S.tradeCount);
    el.meta.textContent = [d.mode, d.market_data, d.strategy].filter(Boolean).join(" · ") || DASH;
    el.startedAt.textContent = d.started_at ? fmtDateTime(d.started_at) : DASH;
    if (d.started_at) el.startedAt.setAttribute("datetime", d.started_at);
  }

  function priceRow(sym) {
    let tr = priceRows.get(sym);
    if (!tr) {
      tr = mk("tr");
      tr.dataset.symbol = sym;
      tr.append(mk("th", "sym", sym), mk("td", "price num", DASH));
      el.prices.append(tr);
      priceRows.set(sym, tr);
    }
    return tr;
  }

  function renderPrices() {
    let syms;
    if (dirty.pricesAll) {
      el.prices.textContent = "";
      priceRows.clear();
      syms = S.symbols.slice();
      for (const s of S.prices.keys()) if (!syms.includes(s)) syms.push(s);
    } else {
      syms = Array.from(dirty.prices);
    }
    dirty.pricesAll = false;
    dirty.prices.clear();
    const flashes = [];
    for (const sym of syms) {
      const tr = priceRow(sym);
      tr.querySelector(".price").textContent = fmtPrice(S.prices.get(sym));
      const dir = S.dirs.get(sym);
      if (dir) {
        S.dirs.delete(sym);
        tr.classList.remove("flash-up", "flash-down");
        flashes.push([tr, dir]);
      }
    }
    if (flashes.length) {
      void el.prices.offsetWidth; // restart the CSS animation
      for (const [tr, dir] of flashes) tr.classList.add(dir === "up" ? "flash-up" : "flash-down");
    }
    el.pricesEmpty.hidden = el.prices.rows.length > 0;
  }

  function renderPositions() {
    dirty.positions = false;
    el.positions.textContent = "";
    for (const p of S.positions.values()) {
      const tr = mk("tr");
      tr.dataset.position = p.symbol;
      tr.append(mk("th", "sym", p.symbol), mk("td", "qty num", fmtQty(p.qty)), mk("td", "entry num", fmtPrice(p.avg_entry)),
        mk("td", "mark num", fmtPrice(p.mark_price)), setSigned(mk("td", "upnl num"), p.upnl));
      el.positions.append(tr);
    }
    el.positionsEmpty.hidden = S.positions.size > 0;
  }

  function tradeRow(t, fresh) {
    const tr = mk("tr", fresh ? "trade-new" : "");
    tr.dataset.tradeId = t.trade_id;
    const time = mk("time", "", fmtTime(t.executed_at));
    time.setAttribute("datetime", t.executed_at || "");
    time.title = t.executed_at ? fmtDateTime(t.executed_at) : "";
    const tdTime = mk("td", "time");
    tdTime.append(time);
    tr.append(tdTime, mk("td", "sym", t.symbol || DASH), mk("td", "side side-" + (t.side === "sell" ? "sell" : "buy"), t.side || DASH),
      mk("td", "qty num", fmtQty(t.qty)), mk("td", "price num", fmtPrice(t.price)),
      mk("td", "fee num", fmtDec(t.fee, 0, 8) + (t.fee_asset ? " " + t.fee_asset : "")), setSigned(mk("td", "pnl num"), t.realized_pnl));
    if (t.reason) tr.title = t.reason;
    if (fresh) setTimeout(() => tr.classList.remove("trade-new"), 2500);
    return tr;
  }

  function renderTrades() {
    if (dirty.tradesReset) {
      el.trades.textContent = "";
      for (const t of S.trades) el.trades.append(tradeRow(t, false));
    } else {
      // oldest first so the newest ends up on top
      for (let i = dirty.newTrades.length - 1; i >= 0; i--) {
        el.trades.insertBefore(tradeRow(dirty.newTrades[i], true), el.trades.firstChild);
      }
      while (el.trades.rows.length > MAX_TRADES) el.trades.lastChild.remove();
    }
    dirty.tradesReset = false;
    dirty.newTrades = [];
    el.tradesEmpty.hidden = S.trades.length > 0;
  }

  function renderLog() {
    for (const e of dirty.newLog) {
      const li = mk("li", e.cls);
      const time = mk("time", "", fmtTime(e.at));
      time.setAttribute("datetime", e.at.toISOString());
      li.append(time, mk("span", "log-type", e.type), mk("span", "log-text", e.text));
      el.log.insertBefore(li, el.log.firstChild);
    }
    dirty.newLog = [];
    while (el.log.children.length > MAX_LOG) el.log.lastChild.remove();
    el.logEmpty.hidden = el.log.children.length > 0;
  }

  // ---- state changes ----
  const LOG_CLASS = {
    status: "log-status", status_change: "log-status", trade_executed: "log-trade",
    bot_control: "log-control", bot_presence: "log-presence", error: "log-error", connection: "log-conn",
  };

  function log(type, text) {
    dirty.newLog.push({ at: new Date(), type, text, cls: LOG_CLASS[type] || "log-status" });
    if (dirty.newLog.length > MAX_LOG) dirty.newLog.shift();
    schedule();
  }

  let noticeTimer = 0;
  function notice(text, kind) {
    el.notice.textContent = text;
    el.notice.dataset.kind = kind;
    el.notice.classList.remove("faded");
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => el.notice.classList.add("faded"), 8000);
  }

  function setConn(state) {
    S.conn = state;
    dirty.header = true;
    schedule();
  }

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
    Object.assign(dirty, { header: true, summary: true, pricesAll: true, positions: true, tradesReset: true, newTrades: [] });
    dirty.prices.clear();
  }

  function onPrice(d) {
    const sym = d.symbol;
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
    log("trade_executed", (t.side || "").toUpperCase() + " " + fmtQty(t.qty) + " " + t.symbol + " @ " + fmtPrice(t.price) +
      (toNum(t.realized_pnl) ? " (P&L " + fmtSigned(t.realized_pnl) + ")" : ""));
  }

  function onControl(d) {
    const ours = S.pending && S.pending.id === d.id;
    const text = d.ok ? d.command + " accepted" : d.command + " failed: " + (d.error || "unknown");
    log("bot_control", text + (ours ? "" : " (other client)"));
    if (ours) {
      clearPending();
      notice(text, d.ok ? "ok" : "error");
    }
  }

  function handleFrame(raw) {
    let env = null;
    try {
      env = JSON.parse(raw);
    } catch (e) {
      /* reported below */
    }
    if (!env || typeof env.type !== "string" || env.v !== 1) {
      console.warn("dashboard: frame ignored (not a v1 envelope)", raw);
      return;
    }
    if (Number.isInteger(env.seq)) S.lastSeq = env.seq;
    const d = env.data && typeof env.data === "object" ? env.data : {};
    try {
      switch (env.type) {
        case "status":
          onStatus(d);
          attempt = 0;
          // The bot also sends a status after every trade; log only the one that opens a connection.
          if (!gotStatus) log("status", "snapshot: " + d.state + ", " + (d.symbols || []).length + " symbols, equity " + fmtDec(d.equity) + " " + (d.quote_asset || ""));
          gotStatus = true;
          if (S.conn !== "offline") setConn("live");
          break;
        case "status_change":
          S.botState = d.state;
          S.botReason = d.reason || null;
          dirty.header = true;
          log("status_change", (d.previous || "?") + " → " + d.state + (d.reason ? " (" + d.reason + ")" : ""));
          break;
        case "price_update":
          onPrice(d);
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
          return;
      }
    } catch (e) {
      console.error("dashboard: failed to apply", env.type, e);
    }
    schedule();
  }

  // ---- commands ----
  let pendingTimer = 0;
  function clearPending() {
    S.pending = null;
    clearTimeout(pendingTimer);
    dirty.header = true;
    schedule();
  }

  function send(command) {
    if (!ws || ws.readyState !== WebSocket.OPEN || S.conn !== "live" || S.pending) return false;
    const id = commandId();
    try {
      ws.send(JSON.stringify({ command, id }));
    } catch (e) {
      notice(command + " failed: not sent", "error");
      return false;
    }
    if (command !== "request_status") {
      S.pending = { id, command };
      pendingTimer = setTimeout(() => {
        if (S.pending && S.pending.id === id) {
          notice(command + " failed: no answer", "error");
          clearPending();
        }
      }, 15000);
      dirty.header = true;
      schedule();
    }
    return true;
  }

  el.start.addEventListener("click", () => send("start_bot"));
  el.stop.addEventListener("click", () => {
    if (window.confirm("Stop the bot? Open positions stay open.")) send("stop_bot");
  });

  // ---- connection ----
  function wsUrl() {
    if (/^wss?:\/\//.test(wsPath)) return wsPath;
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + wsPath;
  }

  function clearRetry() {
    clearTimeout(retryTimer);
    clearInterval(tickTimer);
    retryTimer = 0;
    tickTimer = 0;
  }

  function connect() {
    clearRetry();
    if (leaving || ws) return;
    if (navigator.onLine === false) {
      setConn("offline");
      return;
    }
    setConn("connecting");
    gotStatus = false;
    S.botOnline = null; // the server re-sends bot_presence after the snapshot
    let sock;
    try {
      sock = new WebSocket(wsUrl());
    } catch (e) {
      console.error("dashboard: cannot open socket", e);
      scheduleReconnect();
      return;
    }
    ws = sock;
    let opened = false;
    sock.onopen = () => {
      opened = true;
    };
    sock.onmessage = (ev) => {
      if (ws === sock) handleFrame(ev.data);
    };
    sock.onclose = (ev) => {
      if (ws === sock) {
        ws = null;
        onClosed(ev.code, opened);
      }
    };
  }

  function toLogin() {
    log("connection", "not authenticated");
    setConn("offline");
    const next = encodeURIComponent(location.pathname || "/").replace(/%2F/gi, "/");
    location.assign("/accounts/login/?next=" + next);
  }

  // A refused handshake reaches the page as a bare 1006, indistinguishable from a network
  // failure; ask the server whether the session is still valid before retrying.
  function checkSession() {
    return fetch(location.pathname || "/", { redirect: "manual", cache: "no-store", credentials: "same-origin" })
      .then((resp) => resp.type !== "opaqueredirect")
      .catch(() => true); // unreachable: keep retrying, the session may be fine
  }

  function onClosed(code, opened) {
    if (S.pending) {
      notice(S.pending.command + ": connection lost, result unknown", "error");
      clearPending();
    }
    if (leaving) return;
    if (code === 4001) {
      toLogin();
      return;
    }
    if (!opened) {
      checkSession().then((valid) => {
        if (leaving) return;
        if (valid) scheduleReconnect();
        else toLogin();
      });
      return;
    }
    if (code === 4008 && attempt === 0) {
      attempt = 1;
      log("connection", "server dropped this client (too slow); reconnecting now");
      connect();
      return;
    }
    log("connection", "socket closed (" + code + ")");
    scheduleReconnect();
  }

  function scheduleReconnect() {
    clearRetry();
    if (navigator.onLine === false) {
      setConn("offline");
      return;
    }
    const delay = backoffDelay(attempt);
    attempt += 1;
    S.retryAt = Date.now() + delay;
    setConn("reconnecting");
    retryTimer = setTimeout(connect, delay);
    tickTimer = setInterval(() => {
      dirty.header = true;
      schedule();
    }, 1000);
  }

  window.addEventListener("offline", () => {
    clearRetry();
    setConn("offline");
    log("connection", "browser offline");
  });
  window.addEventListener("online", () => {
    log("connection", "browser online");
    if (ws && ws.readyState === WebSocket.OPEN) {
      // the socket survived; live again only if it already delivered a status
      setConn(gotStatus ? "live" : "connecting");
    } else if (!ws) {
      attempt = 0;
      connect();
    } else {
      setConn("connecting");
    }
  });
  window.addEventListener("pagehide", () => {
    leaving = true;
    clearRetry();
    if (ws) {
      const sock = ws;
      ws = null;
      sock.onclose = null;
      sock.onmessage = null;
      sock.close(1000);
    }
  });
  window.addEventListener("pageshow", (ev) => {
    if (ev.persisted) {
      leaving = false;
      attempt = 0;
      connect();
    }
  });

  // Debug/test hook: live getters (Object.assign would freeze their values).
  window.CryptoDashboard = Object.assign({
    get lastSeq() { return S.lastSeq; },
    get state() { return S; },
    send,
  }, helpers);

  schedule();
  connect();
})();
