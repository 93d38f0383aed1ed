/* Dashboard rendering: the DOM is updated at most once per animation frame, from the shared state. */
(function () {
  "use strict";

  if (typeof document === "undefined" || typeof window === "undefined") return;

  const NS = (window.CryptoDashboard = window.CryptoDashboard || {});
  const { DASH, fmtDec, fmtPrice, fmtQty, fmtSigned, sign, fmtTime, fmtDateTime } = NS.format;
  const MAX_TRADES = 50;
  const MAX_LOG = 50;

  const LOG_CLASS = {
    status: "log-status", status_change: "log-status", trade_executed: "log-trade",
    bot_control: "log-control", bot_presence: "log-presence", error: "log-error", connection: "log-conn",
  };

  // DOM helpers, shared with panels.js: an element with class and text; a signed, coloured figure.
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

  // root: the #dashboard element; S: the shared state (dashboard.js), read on every render;
  // panels: panels.js's market, positions and performance tables.
  function create(root, S, panels) {
    // ---- DOM ----
    const $ = (id) => document.getElementById(id);
    const el = {
      conn: $("conn-state"), bot: $("bot-state"), botReason: $("bot-reason"),
      start: $("btn-start"), stop: $("btn-stop"), stopClose: $("btn-stop-close"), notice: $("notice"),
      realized: $("pnl-realized"), unrealized: $("pnl-unrealized"), total: $("pnl-total"),
      equity: $("equity"), cash: $("cash"), tradeCount: $("trade-count"), winRate: $("win-rate"), meta: $("meta"),
      startedAt: $("started-at"),
      exchange: $("exchange-state"),
      trades: $("trades"), log: $("log"), tradesEmpty: $("trades-empty"), logEmpty: $("log-empty"),
    };
    const dirty = {
      header: true, summary: true, pricesAll: true, prices: new Set(), positions: true, perf: true,
      tradesReset: true, newTrades: [], newLog: [],
    };
    const hooks = []; // called at the end of every frame (charts.js)
    let rafId = 0;
    let firstData = false;

    function schedule() {
      if (!rafId) rafId = requestAnimationFrame(render);
    }

    // ---- rendering ----
    function render() {
      rafId = 0;
      if (dirty.header) renderHeader();
      if (dirty.summary) renderSummary();
      if (dirty.pricesAll || dirty.prices.size) {
        panels.renderMarket(dirty.pricesAll, dirty.prices);
        dirty.pricesAll = false;
        dirty.prices.clear();
      }
      if (dirty.positions) {
        dirty.positions = false;
        panels.renderPositions(canControl());
      }
      if (dirty.perf) {
        dirty.perf = false;
        panels.renderPerf();
      }
      if (dirty.tradesReset || dirty.newTrades.length) renderTrades();
      if (dirty.newLog.length) renderLog();
      for (const hook of hooks) hook();
      if (!firstData && S.snap) {
        firstData = true;
        // The page budget's "first data on screen": measured from navigation start.
        if (performance.mark) performance.mark("first-data");
      }
    }

    function canControl() {
      return S.canControl && S.conn === "live" && S.pending === null && S.botOnline !== false;
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

      const live = S.conn === "live" && S.canControl; // a viewer's buttons stay off (the server refuses anyway)
      const busy = S.pending !== null;
      const known = S.botOnline !== false;
      el.start.disabled = !live || busy || (known && S.botState === "running");
      el.stop.disabled = !live || busy || (known && S.botState === "stopped");
      el.stopClose.disabled = !live || busy || (known && S.botState === "stopped" && S.positions.size === 0);
      for (const [btn, cmd] of [[el.start, "start_bot"], [el.stop, "stop_bot"], [el.stopClose, "stop_close"]]) {
        const p = busy && S.pending.label === cmd;
        btn.classList.toggle("pending", p);
        btn.setAttribute("aria-busy", p ? "true" : "false");
      }
      dirty.positions = true; // the close buttons follow the connection and pending state
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
      const rate = d.stats && d.stats.win_rate;
      el.winRate.textContent = rate === null || rate === undefined ? DASH : fmtDec(Number(rate) * 100, 0, 1) + " %";
      el.meta.textContent = [d.mode, d.market_data, d.strategy].filter(Boolean).join(" · ") || DASH;
      el.startedAt.textContent = d.started_at ? fmtDateTime(d.started_at) : DASH;
      if (d.started_at) el.startedAt.setAttribute("datetime", d.started_at);
      renderExchange(d.exchange);
    }

    // The exchange's health and the price source; said plainly when it is offline.
    const SOURCE_TEXT = { stream: "live stream", rest: "REST fallback (stream down)", none: "no prices", sim: "simulated" };
    function renderExchange(x) {
      if (!x) {
        el.exchange.dataset.state = "unknown";
        el.exchange.textContent = DASH;
        return;
      }
      const state = x.offline ? "offline" : x.source === "stream" || x.source === "sim" ? "ok" : "degraded";
      el.exchange.dataset.state = state;
      el.exchange.textContent = (x.offline ? "exchange offline" : SOURCE_TEXT[x.source] || x.source) +
        (x.breaker && x.breaker !== "closed" ? " · circuit " + x.breaker : "");
      el.exchange.title = x.detail || "";
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

    // ---- activity log and notice ----
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

    return { el, dirty, schedule, log, notice, hooks };
  }

  NS.render = { create, mk, setSigned, MAX_TRADES, MAX_LOG };
})();
