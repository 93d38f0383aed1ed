// What one bot's row says: its status in words, its mode badges, and its figures formatted as its
// own page formats them (the decimal strings the server sent, at the bot's display precision; never
// recomputed). Pure (no DOM); node --test covers it.
import { DASH, fmtDateTime, fmtDec, fmtMoney, fmtPct, fmtSigned, fmtSince, fmtWinRate, sign, toNum } from "../format.js";

/** {kind, text, detail}: kind is running, stopped, offline or unknown (the row's look); text the
 *  words in the cell ("offline since 14:03"); detail the reason or state behind it (a tooltip). */
export function statusOf(s, now = new Date()) {
  const state = s.state === "running" || s.state === "stopped" ? s.state : null;
  const reason = s.reason ? String(s.reason) : "";
  if (s.online !== true) {
    const since = s.last_seen ? fmtSince(s.last_seen, now) : null;
    const was = state ? "last " + state + (reason ? ": " + reason : "") : "";
    const seen = s.last_seen ? "last heard from " + fmtDateTime(s.last_seen) : "never heard from";
    return {
      kind: s.online === false ? "offline" : "unknown",
      text: s.online === false ? (since ? "offline since " + since : "offline") : DASH,
      detail: [seen, was].filter(Boolean).join("; "),
    };
  }
  if (!state) return { kind: "unknown", text: "online · no status yet", detail: "" };
  return { kind: state, text: state, detail: reason };
}

/** The mode badges: paper or live trading, simulated or exchange prices. */
export function badgesOf(s) {
  const out = [];
  if (s.mode) out.push({ kind: s.mode === "live" ? "live" : "paper", text: s.mode, title: s.mode === "live" ? "Live trading: real orders" : "Paper trading: simulated fills" });
  if (s.market_data) out.push({ kind: s.market_data === "sim" ? "sim" : "exchange", text: s.market_data,
    title: s.market_data === "sim" ? "Simulated market" : "Prices from " + s.market_data });
  return out;
}

const decimalsOf = (s) => (Number.isInteger(s.decimals) ? s.decimals : 2);

/** A signed money figure: {text, sign} ("+12.30", "pos"). */
export function signed(v, decimals) {
  return { text: fmtSigned(v, decimals), sign: sign(v) };
}

/** The win rate (a fraction: "0.625" → "62.5 %"), as the bot's page shows it. */
export const winRateText = (v) => fmtWinRate(v);

/** The largest drawdown as the bot's page shows it: "-12.30 (-1.20 %)", "none" before any. */
export function drawdownText(s) {
  if (s.max_drawdown === null || s.max_drawdown === undefined) return DASH;
  if (!(toNum(s.max_drawdown) > 0)) return "none";
  const pct = s.max_drawdown_pct === null || s.max_drawdown_pct === undefined ? "" : " (" + fmtPct(-toNum(s.max_drawdown_pct)) + ")";
  return "-" + fmtMoney(s.max_drawdown, decimalsOf(s)) + pct;
}

/** Every figure of a row, ready for its cells. */
export function figuresOf(s) {
  const dec = decimalsOf(s);
  const pnl = s.pnl || {};
  return {
    realized: signed(pnl.realized, dec),
    unrealized: signed(pnl.unrealized, dec),
    total: signed(pnl.total, dec),
    equity: s.equity === null || s.equity === undefined ? DASH : fmtMoney(s.equity, dec),
    quote: s.quote_asset || "",
    trades: Number.isInteger(s.trade_count) && s.pnl ? String(s.trade_count) : DASH,
    winRate: winRateText(s.win_rate),
    drawdown: drawdownText(s),
  };
}

/** The symbols in a line ("BTCUSDT, ETHUSDT"), a dash for none. */
export const symbolsText = (s) => (Array.isArray(s.symbols) && s.symbols.length ? s.symbols.join(", ") : DASH);

/** The sparkline's words for a screen reader: "equity from 10,000.00 to 10,012.30 over 60 points". */
export function sparkLabel(points, s) {
  if (!points.length) return "no equity history yet";
  const dec = decimalsOf(s);
  return "equity from " + fmtMoney(points[0], dec) + " to " + fmtMoney(points[points.length - 1], dec) +
    " over the last " + points.length + (points.length === 1 ? " point" : " points");
}
