// One bot's live dashboard: the shared state, what each event does to it, and the wiring. One
// WebSocket; the DOM is updated at most once per animation frame (render.js). The header's switcher
// moves the page to another bot without a reload: a new socket, every per-bot figure started over.
import {
  apiUrl, belongsTo, botFromPath, botPath, botSocketPath, botsFromApi, canControlOf, freshBotState, isBotId,
} from "./bots.js";
import { createAlertsPanel } from "./alertpanel.js";
import { alertToast } from "./alerts.js";
import { createCharts } from "./charts.js";
import { toNum } from "./format.js";
import { envelopes, nextSeq } from "./link.js";
import { applyPortfolio } from "./portfolio.js";
import { createNotifier } from "./notify.js";
import { createPanels } from "./panels.js";
import { MAX_TRADES, createView } from "./render.js";
import { createSocket } from "./socket.js";
import { createSwitcher } from "./switcher.js";
import { commandText, sentence } from "./texts.js";

const root = document.getElementById("dashboard");
if (root) start(root);

function start(root) {
  const served = isBotId(root.dataset.botId) ? root.dataset.botId : botFromPath(location.pathname);
  const bot = served || "main";
  const wsPath = root.dataset.wsPath || botSocketPath(bot);
  const S = Object.assign(freshBotState(), {
    conn: "connecting", retryAt: 0, lastFrameAt: Date.now(),
    bot, // the bot this page shows now: every socket frame and REST call is about it
    canControl: root.dataset.canControl === "true",
  });
  const panels = createPanels(S, (symbol) => closePosition(symbol));
  const view = createView(root, S, panels);
  const { el, dirty, schedule, log, notice } = view;
  const notify = createNotifier();
  const alertsPanel = createAlertsPanel({ bot: S.bot });
  alertsPanel.setShared(S.canControl);

  // The chart library (200 KB) runs only once the figures are on screen: until then chart calls
  // go nowhere, and the charts start from the latest snapshot when it is ready.
  const noCharts = { onStatus() {}, onPrice() {}, onTrade() {}, onEquity() {}, reset() {} };
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

  // The account after a fill: the last status's figures it changed (the whole status is not sent
  // with every trade). Applied on top of that status, in seq order, so the page stays exact.
  function onPortfolio(d) {
    if (!S.snap) return; // nothing to apply it to: the status that follows on (re)connect has it
    S.snap = applyPortfolio(S.snap, d);
    S.positions = new Map(S.snap.positions.map((p) => [p.symbol, p]));
    if (d.marks) S.marks = d.marks;
    S.tradeCount = Number.isInteger(d.trade_count) ? d.trade_count : S.tradeCount;
    Object.assign(dirty, { summary: true, positions: true, perf: true });
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
  // Another bot's data is never applied (the old socket is gone after a switch; this is the belt).
  function handleFrame(raw, page) {
    const envs = envelopes(raw).filter((env) => belongsTo(env, S.bot));
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
          alertsPanel.setSymbols(S.symbols);
          const n = (d.symbols || []).length;
          if (first && !page) log("status", "connected: the bot is " + d.state + ", " + n + (n === 1 ? " symbol" : " symbols"));
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
        case "portfolio":
          onPortfolio(d);
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
        case "bot_list":
          switcher.setIds(Array.isArray(d.bots) ? d.bots : []);
          if (!roleKnown && Array.isArray(d.bots) && d.bots.includes(S.bot)) refreshBots();
          break;
        case "bot_summary":
          break; // the overview's line per bot; this page has the whole bot
        case "alert_fired": {
          // One of the user's own alerts (on any bot; no seq): a pop-up linking to its bot, and this
          // bot's alerts panel reads its firings again.
          const a = alertToast(env);
          notify.alert(a);
          log("alert", a.text); // its text names the bot and the symbol
          alertsPanel.fired(env);
          break;
        }
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

  // ---- bots: the switcher, the role for each bot, switching without a reload ----
  const switcher = createSwitcher({ current: S.bot, onPick: (id) => switchBot(id, true) });
  const roleEl = document.getElementById("role");
  const csvLink = document.getElementById("csv-link");
  const botName = document.getElementById("bot-name");
  const baseTitle = document.title.replace(/^[^·]*· /, ""); // "Dashboard · Crypto Bot"

  function showBot() {
    document.title = S.bot + " · " + baseTitle;
    if (botName) botName.textContent = S.bot;
    root.dataset.botId = S.bot;
    if (csvLink) csvLink.href = apiUrl("/api/trades.csv", S.bot);
    el.start.setAttribute("aria-label", "Start bot " + S.bot);
    el.stop.setAttribute("aria-label", "Stop bot " + S.bot);
    el.stopClose.setAttribute("aria-label", "Stop bot " + S.bot + " and close all its positions");
    switcher.setCurrent(S.bot);
  }

  // Whether S.canControl is the server's word for this bot (the page's own, or /api/bots's).
  let roleKnown = true;
  /** known: the server's answer; false: still asking ("checking") or it could not say ("unknown"):
   *  read-only until it does (the server checks every command anyway). */
  function setRole(can, known = true, unknownText = "checking role…") {
    S.canControl = can;
    roleKnown = known;
    alertsPanel.setShared(can && known);
    if (roleEl) {
      roleEl.dataset.role = can ? "operator" : "viewer";
      roleEl.textContent = !known ? unknownText : can ? "operator" : "viewer (read-only)";
      roleEl.title = !known ? "Read-only until the server says what you may do with " + S.bot
        : can ? "You may start and stop " + S.bot + " and close its positions"
          : "Read-only: ask an admin to make you an operator of " + S.bot;
    }
    dirty.header = true; // the buttons follow
    schedule();
  }

  // The bots and what this user may do with each: the switcher's list, the role for this bot.
  let botsToken = 0;
  function refreshBots(retry = true) {
    const token = ++botsToken;
    const asked = S.bot;
    fetch("/api/bots", { credentials: "same-origin", cache: "no-store" }).then((r) => {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    }).then((body) => {
      if (token !== botsToken) return; // a newer question is on its way
      const list = botsFromApi(body);
      if (list.length) switcher.setIds(list.map((b) => b.id));
      const can = canControlOf(list, asked);
      if (S.bot !== asked) return;
      if (can !== null) setRole(can);
      else if (!roleKnown) setRole(false, false, "role unknown"); // the bot is not listed (yet)
    }).catch((e) => {
      if (token !== botsToken) return;
      log("error", "the list of bots could not be loaded (" + e.message + ")");
      if (S.bot === asked && !roleKnown) {
        setRole(false, false, "role unknown");
        if (retry) {
          setTimeout(() => {
            if (S.bot === asked && !roleKnown) refreshBots(false); // once more, a little later
          }, 5000);
        }
      }
    });
  }

  function switchBot(id, push) {
    if (!isBotId(id) || id === S.bot) return;
    if (push) history.pushState({ bot: id }, "", botPath(id));
    link.clearPending();
    Object.assign(S, freshBotState(), { bot: id, lastFrameAt: Date.now() });
    setRole(false, false); // until /api/bots says, the controls stay off (the server checks anyway)
    charts.reset();
    notify.clear();
    view.reset();
    alertsPanel.setBot(id);
    showBot();
    log("connection", "switched to bot " + id);
    link.switchTo(botSocketPath(id)); // its first frame is this bot's snapshot
    refreshBots();
    schedule();
  }

  window.addEventListener("popstate", () => {
    const id = botFromPath(location.pathname);
    if (id) switchBot(id, false);
    else location.reload(); // not a bot's page: let the server answer it
  });
  history.replaceState({ bot: S.bot }, "", location.href);

  const initial = document.getElementById("initial-status");
  if (initial) handleFrame(initial.textContent, true);
  showBot();
  schedule();
  link.connect();
  refreshBots();
  // After the frame that draws the figures (rAF), and after that frame is painted (timeout).
  requestAnimationFrame(() => setTimeout(loadChartLib, 0));
}
