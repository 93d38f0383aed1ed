// Drawing the dashboard from the shared state, at most once per animation frame: the header, the
// headline figures, the statistics, the trades and the activity log.
import {
  DASH, fmtDateTime, fmtDec, fmtFee, fmtMoney, fmtPct, fmtPrice, fmtQty, fmtSigned, fmtTime, fmtWinRate, sign,
  toNum, tzName,
} from "./format.js";
import { shownState } from "./link.js";
import { botStateText, connText } from "./texts.js";

export const MAX_TRADES = 50;
const MAX_LOG = 50;

const LOG_CLASS = {
  status: "log-status", status_change: "log-status", trade_executed: "log-trade", order_skipped: "log-skip",
  bot_control: "log-control", bot_presence: "log-presence", error: "log-error", connection: "log-conn",
  alert: "log-alert",
};
const LOG_LABEL = {
  status: "snapshot", status_change: "bot", trade_executed: "trade", order_skipped: "skipped", bot_control: "command",
  bot_presence: "bot", error: "error", connection: "link", alert: "alert",
};

/** An element with a class and text. */
export function mk(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** A signed, coloured money figure. */
export function setSigned(node, v, decimals = 2) {
  node.textContent = fmtSigned(v, decimals);
  node.dataset.sign = sign(v);
  return node;
}

/** The money figures to show: the bot's rounded marks, or the exact snapshot from an older bot. */
function shownMoney(S) {
  const d = S.snap;
  if (S.marks) return S.marks;
  if (!d) return null;
  return { decimals: 2, realized: d.pnl.realized, unrealized: d.pnl.unrealized, total: d.pnl.total, cash: d.cash,
    equity: d.equity, positions: {} };
}

/** root: #dashboard; S: the shared state; panels: the market, positions and performance tables. */
export function createView(root, S, panels) {
  const $ = (id) => document.getElementById(id);
  const el = {
    conn: $("conn-state"), bot: $("bot-state"), botReason: $("bot-reason"),
    start: $("btn-start"), stop: $("btn-stop"), stopClose: $("btn-stop-close"), notice: $("notice"),
    realized: $("pnl-realized"), unrealized: $("pnl-unrealized"), total: $("pnl-total"), today: $("pnl-today"),
    todayLimit: $("pnl-today-limit"),
    equity: $("equity"), cash: $("cash"), tradeCount: $("trade-count"), winRate: $("win-rate"), meta: $("meta"),
    startedAt: $("started-at"), exchange: $("exchange-state"),
    trades: $("trades"), log: $("log"), tradesEmpty: $("trades-empty"), logEmpty: $("log-empty"),
    stats: $("stats"), riskBar: $("risk-bar"), riskText: $("risk-text"),
  };
  for (const tz of root.querySelectorAll(".tz")) tz.textContent = tzName();
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
      panels.renderPositions(canControl(), shownMoney(S));
    }
    if (dirty.perf) {
      dirty.perf = false;
      panels.renderPerf();
      renderStats();
    }
    if (dirty.tradesReset || dirty.newTrades.length) renderTrades();
    if (dirty.newLog.length) renderLog();
    for (const hook of hooks) hook();
    if (!firstData && S.snap) {
      firstData = true;
      if (performance.mark) performance.mark("first-data"); // the page budget's "first data on screen"
    }
  }

  function canControl() {
    return S.canControl && S.conn === "live" && S.pending === null && S.botOnline !== false;
  }

  function renderHeader() {
    dirty.header = false;
    const now = Date.now();
    const state = shownState(S.conn, S.lastFrameAt, now);
    el.conn.textContent = connText(state, Math.max(0, Math.ceil((S.retryAt - now) / 1000)),
      Math.round((now - S.lastFrameAt) / 1000));
    el.conn.dataset.state = state;
    el.conn.title = state === "stale" ? "Nothing arrived for a while: the figures may be out of date" : "";
    document.body.classList.toggle("stale", state !== "live" && S.snap !== null);

    const bs = S.botOnline === false ? "silent" : S.botState === "running" || S.botState === "stopped" ? S.botState : "unknown";
    el.bot.textContent = botStateText(S.botState, S.botOnline);
    el.bot.dataset.state = bs;
    el.bot.title = bs === "silent" ? "The bot process has not reported for a while: it may have stopped or lost Redis" : "";
    el.botReason.textContent = S.botReason ? "· " + S.botReason : "";

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
    const m = shownMoney(S);
    if (!d || !m) return blankSummary();
    const dec = m.decimals;
    setSigned(el.realized, m.realized, dec);
    setSigned(el.unrealized, m.unrealized, dec);
    setSigned(el.total, m.total, dec);
    el.equity.textContent = fmtMoney(m.equity, dec);
    el.cash.textContent = fmtMoney(m.cash, dec);
    for (const q of root.querySelectorAll(".quote")) q.textContent = d.quote_asset || "";
    el.tradeCount.textContent = S.tradeCount === null ? DASH : String(S.tradeCount);
    const rate = d.stats && d.stats.win_rate;
    el.winRate.textContent = fmtWinRate(rate);
    el.winRate.title = d.stats ? d.stats.wins + " won, " + d.stats.losses + " lost of " + d.stats.closed_trades + " closed" : "";
    el.meta.textContent = [d.mode === "paper" ? "paper trading" : d.mode, d.market_data === "sim" ? "simulated market" : d.market_data,
      d.strategy].filter(Boolean).join(" · ") || DASH;
    el.startedAt.textContent = d.started_at ? fmtDateTime(d.started_at) : DASH;
    if (d.started_at) el.startedAt.setAttribute("datetime", d.started_at);
    renderToday(m);
    renderExchange(d.exchange);
  }

  // No snapshot (yet): after a switch to another bot nothing of the previous one stays on screen.
  function blankSummary() {
    for (const node of [el.realized, el.unrealized, el.total, el.today]) setSigned(node, null);
    for (const node of [el.equity, el.cash, el.tradeCount, el.winRate, el.meta, el.startedAt]) node.textContent = DASH;
    for (const q of root.querySelectorAll(".quote")) q.textContent = "";
    el.winRate.title = "";
    el.startedAt.removeAttribute("datetime");
    el.todayLimit.textContent = "";
    el.riskBar.hidden = true;
    el.riskText.textContent = "";
    renderExchange(null);
  }

  // Today's P&L (UTC day) against the daily loss limit: how much room is left before the halt.
  function renderToday(m) {
    const risk = S.snap.risk;
    const today = m.today !== undefined && m.today !== null ? m.today : risk ? risk.daily_pnl : null;
    setSigned(el.today, today, m.decimals);
    const limit = risk && risk.max_daily_loss;
    if (!limit) {
      el.todayLimit.textContent = "no daily loss limit";
      el.riskBar.hidden = true;
      el.riskText.textContent = "No daily loss limit set (MAX_DAILY_LOSS).";
      return;
    }
    const used = Math.max(0, -toNum(today)) / toNum(limit);
    el.todayLimit.textContent = "limit -" + fmtMoney(limit, m.decimals);
    el.riskBar.hidden = false;
    el.riskBar.value = Math.min(1, used);
    el.riskBar.dataset.level = used >= 0.8 ? "high" : used >= 0.5 ? "mid" : "low";
    el.riskText.textContent = Number.isFinite(used) ? fmtDec(used * 100, 0, 0) + " % of today's loss limit used" : "";
  }

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

  function stat(label, value, signed, title) {
    const div = mk("div");
    const dd = mk("dd", "num");
    if (signed) setSigned(dd, value, decimals());
    else dd.textContent = value;
    if (title) div.title = title;
    div.append(mk("dt", "", label), dd);
    return div;
  }

  // The quote asset's display precision (2 for USDT), for every money figure on the page.
  const decimals = () => (S.marks ? S.marks.decimals : 2);

  function renderStats() {
    const s = S.snap && S.snap.stats;
    el.stats.textContent = "";
    if (!s) return;
    const dec = decimals();
    const pf = s.profit_factor === null ? (toNum(s.gross_profit) > 0 ? "∞ (no loss yet)" : DASH) : fmtDec(s.profit_factor, 2, 2);
    el.stats.append(
      stat("Max drawdown", toNum(s.max_drawdown) > 0 ? "-" + fmtMoney(s.max_drawdown, dec) + " (" + fmtPct(-toNum(s.max_drawdown_pct)) + ")" : "none", false,
        "Largest fall of realised equity from its peak"),
      stat("Profit factor", pf, false, "Gross profit / gross loss of closed trades"),
      stat("Expectancy", s.expectancy, true, "Average realised P&L per closed trade"),
      stat("Fees paid", fmtMoney(s.fees, dec), false, "Every fee, valued in the quote asset"),
      stat("Best trade", s.best_trade, true),
      stat("Worst trade", s.worst_trade, true),
    );
  }

  function tradeRow(t, fresh) {
    const tr = mk("tr", fresh ? "trade-new" : "");
    tr.dataset.tradeId = t.trade_id;
    const time = mk("time", "", fmtTime(t.executed_at));
    time.setAttribute("datetime", t.executed_at || "");
    time.title = t.executed_at ? fmtDateTime(t.executed_at) : "";
    const td = (cls, label, text) => {
      const c = mk("td", cls, text);
      c.dataset.label = label;
      return c;
    };
    const tdTime = td("time", "Time");
    tdTime.append(time);
    const quote = S.snap ? S.snap.quote_asset : "";
    tr.append(tdTime, td("sym", "Symbol", t.symbol || DASH), td("side side-" + (t.side === "sell" ? "sell" : "buy"), "Side", t.side || DASH),
      td("qty num", "Qty", fmtQty(t.qty)), td("price num", "Price", fmtPrice(t.price)),
      td("fee num", "Fee", fmtFee(t.fee, t.fee_asset, quote)));
    const pnl = td("pnl num", "P&L");
    if (t.side === "sell") setSigned(pnl, t.realized_pnl, decimals());
    else pnl.textContent = "";
    tr.append(pnl);
    if (t.reason) tr.title = t.reason;
    if (fresh) setTimeout(() => tr.classList.remove("trade-new"), 2500);
    return tr;
  }

  function renderTrades() {
    if (dirty.tradesReset) {
      el.trades.textContent = "";
      for (const t of S.trades) el.trades.append(tradeRow(t, false));
    } else {
      // Oldest first, each on top of the last: the newest ends up first, as in a status's list.
      for (const t of dirty.newTrades) el.trades.insertBefore(tradeRow(t, true), el.trades.firstChild);
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
      li.append(time, mk("span", "log-type", LOG_LABEL[e.type] || e.type), mk("span", "log-text", e.text));
      el.log.insertBefore(li, el.log.firstChild);
    }
    dirty.newLog = [];
    while (el.log.children.length > MAX_LOG) el.log.lastChild.remove();
    el.logEmpty.hidden = el.log.children.length > 0;
  }

  /** A line in the activity log. */
  function log(type, text) {
    dirty.newLog.push({ at: new Date(), type, text, cls: LOG_CLASS[type] || "log-status" });
    if (dirty.newLog.length > MAX_LOG) dirty.newLog.shift();
    schedule();
  }

  let noticeTimer = 0;
  /** The answer to this page's own command, next to the buttons. */
  function notice(text, kind) {
    el.notice.textContent = text;
    el.notice.dataset.kind = kind;
    el.notice.classList.remove("faded");
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => el.notice.classList.add("faded"), 8000);
  }

  /** Another bot: every panel is drawn again from the (reset) state, the log and notice start empty. */
  function reset() {
    Object.assign(dirty, { header: true, summary: true, pricesAll: true, positions: true, perf: true, tradesReset: true,
      newTrades: [], newLog: [] });
    dirty.prices.clear();
    el.log.textContent = "";
    el.notice.textContent = "";
    delete el.notice.dataset.kind;
    clearTimeout(noticeTimer);
    schedule();
  }

  return { el, dirty, schedule, log, notice, hooks, reset };
}
