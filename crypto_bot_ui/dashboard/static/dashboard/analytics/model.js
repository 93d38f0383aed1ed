// The analytics page's pure logic: ranges and queries, labels, and the charts' data from the API's
// answers. Money arrives as decimal strings computed by the server; here it is only formatted (or
// made a Number for a chart's height). No DOM; node --test covers it.
import { DASH, fmtDec, fmtMoney, fmtPct, fmtSigned, toNum } from "../format.js";

export const PERIODS = ["day", "week", "month"];
export const PRESETS = ["7d", "30d", "90d", "ytd", "all", "custom"];
export const DEFAULT_PRESET = "30d";

const DATE = /^\d{4}-\d{2}-\d{2}$/;
export const isDate = (s) => typeof s === "string" && DATE.test(s) && !Number.isNaN(Date.parse(s + "T00:00:00Z"));

/** A calendar date `n` days after `date` (both YYYY-MM-DD; calendar arithmetic, no time zone). */
export function addDays(date, n) {
  const d = new Date(date + "T00:00:00Z");
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/** Today's date in the time zone `tz` (YYYY-MM-DD). */
export function todayIn(tz, now = new Date()) {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" })
    .formatToParts(now);
  const get = (type) => parts.find((p) => p.type === type).value;
  return get("year") + "-" + get("month") + "-" + get("day");
}

/** The browser's IANA time zone (UTC when it does not say). */
export function browserZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch (e) {
    return "UTC";
  }
}

/** {from, to}: the inclusive dates of a preset ending today (null: open). */
export function rangeOf(preset, today) {
  switch (preset) {
    case "7d": return { from: addDays(today, -6), to: today };
    case "30d": return { from: addDays(today, -29), to: today };
    case "90d": return { from: addDays(today, -89), to: today };
    case "ytd": return { from: today.slice(0, 4) + "-01-01", to: today };
    default: return { from: null, to: null };
  }
}

/** The API's query for a choice: `since` the first date, `until` the day after the last (exclusive). */
export function queryOf({ bot, period, from, to, tz }) {
  const q = { tz };
  if (bot) q.bot = bot;
  if (period) q.period = period;
  if (isDate(from)) q.since = from;
  if (isDate(to)) q.until = addDays(to, 1);
  return q;
}

/** The page's own URL query for a choice (bookmarkable): bot, period, preset or dates. */
export function pageQuery({ bot, period, preset, from, to }) {
  const q = new URLSearchParams();
  if (bot) q.set("bot", bot);
  if (period && period !== "day") q.set("period", period);
  if (preset === "custom") {
    if (isDate(from)) q.set("from", from);
    if (isDate(to)) q.set("to", to);
  } else if (preset && preset !== DEFAULT_PRESET) q.set("range", preset);
  const s = q.toString();
  return s ? "?" + s : "";
}

/** A choice read back from the page's URL query (unknown values fall back to the defaults). */
export function choiceOf(search) {
  const q = new URLSearchParams(search);
  const period = PERIODS.includes(q.get("period")) ? q.get("period") : "day";
  if (isDate(q.get("from")) || isDate(q.get("to"))) {
    return { bot: q.get("bot") || "", period, preset: "custom", from: q.get("from"), to: q.get("to") };
  }
  const preset = PRESETS.includes(q.get("range")) && q.get("range") !== "custom" ? q.get("range") : DEFAULT_PRESET;
  return { bot: q.get("bot") || "", period, preset, from: null, to: null };
}

/** The URL of an endpoint with a query (empty values left out). */
export function urlOf(path, query) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== null && v !== undefined && v !== "") q.set(k, v);
  const s = q.toString();
  return s ? path + "?" + s : path;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/** How a period reads: "Mon 2 Nov 2026", "Week of 2 Nov 2026", "Nov 2026" (its local date is the
 *  first ten characters of `period_start`, which carries the zone's offset). */
export function periodLabel(periodStart, period) {
  const day = String(periodStart).slice(0, 10);
  const d = new Date(day + "T00:00:00Z");
  const text = d.getUTCDate() + " " + MONTHS[d.getUTCMonth()] + " " + d.getUTCFullYear();
  if (period === "month") return MONTHS[d.getUTCMonth()] + " " + d.getUTCFullYear();
  if (period === "week") return "Week of " + text;
  return DAYS[d.getUTCDay()] + " " + text;
}

const POS = "#3ecf8e";
const NEG = "#ff6b6b";
const ZERO = "#5c6673";

/** The bars of P&L per period, one per period (a business day: the period's local date). */
export function barData(rows) {
  return rows.map((r) => {
    const v = toNum(r.realized_pnl);
    return { time: String(r.period_start).slice(0, 10), value: v, color: v > 0 ? POS : v < 0 ? NEG : ZERO };
  });
}

/** The cumulative realized P&L line, one point per period (the server's running sum). */
export const cumulativeData = (rows) => rows.map((r) => ({ time: String(r.period_start).slice(0, 10), value: toNum(r.cumulative_pnl) }));

/** The equity line and the drawdown (as a negative percentage) in Unix seconds. */
export function equityData(points) {
  const equity = [];
  const drawdown = [];
  for (const p of points) {
    const time = Math.floor(Date.parse(p.at) / 1000);
    equity.push({ time, value: toNum(p.equity) });
    const pct = toNum(p.drawdown_pct);
    drawdown.push({ time, value: pct === 0 ? 0 : -pct }); // never "-0.00 %"
  }
  return { equity, drawdown };
}

/** A time as "2 Nov 2026, 14:05" in `tz`. */
export function fmtAt(iso, tz) {
  if (!iso) return DASH;
  try {
    return new Intl.DateTimeFormat("en-GB", { timeZone: tz, day: "numeric", month: "short", year: "numeric",
      hour: "2-digit", minute: "2-digit", hour12: false }).format(new Date(iso));
  } catch (e) {
    return DASH;
  }
}

/** The deepest drawdown in words: "-210.00 (-13.13 %), from 2 Nov 2026, 10:10 to …; recovered …". */
export function drawdownText(dd, decimals, tz) {
  if (!dd) return "none in this range";
  const pct = toNum(dd.pct);
  const head = fmtSigned("-" + dd.amount, decimals) + " (" + (pct > 0 && pct < 0.005 ? "under 0.01 %" : fmtPct("-" + dd.pct)) + ")";
  const when = "from " + fmtAt(dd.peak_at, tz) + " to " + fmtAt(dd.trough_at, tz);
  return head + ", " + when + "; " + (dd.recovered_at ? "recovered " + fmtAt(dd.recovered_at, tz) : "not recovered yet");
}

/** The summary tiles' texts from the breakdown's `total`. */
export function tileTexts(total, decimals = 2) {
  if (!total) return null;
  return {
    total: fmtSigned(total.total, decimals),
    totalSign: toNum(total.total) > 0 ? "pos" : toNum(total.total) < 0 ? "neg" : "zero",
    fees: fmtMoney(total.fees, decimals),
    trades: fmtDec(total.trades, 0, 0) + (total.closed ? " (" + fmtDec(total.closed, 0, 0) + " closed)" : ""),
    winRate: total.win_rate === null ? DASH : fmtDec(toNum(total.win_rate) * 100, 1, 1) + " % (" + total.wins + "/" + total.closed + ")",
    profitFactor: total.profit_factor === null ? (total.gross_profit !== "0" ? "no losses" : DASH) : fmtDec(total.profit_factor, 2, 2),
    expectancy: total.expectancy === null ? DASH : fmtSigned(total.expectancy, decimals),
  };
}

const SPANS = [[60, "1 min"], [300, "5 min"], [900, "15 min"], [3600, "1 h"], [14400, "4 h"], [86400, "24 h"], [604800, "7 days"]];
const spanText = (s) => (SPANS.find(([v]) => v === s) || [s, s + " s"])[1];

/** A holding-time bin as people read it: "< 1 min", "1 min – 5 min", "≥ 7 days". */
export function holdingLabel(low, high) {
  if (low === 0 && high !== null) return "< " + spanText(high);
  if (high === null) return "≥ " + spanText(low);
  return spanText(low) + " – " + spanText(high);
}

/** A P&L bin as people read it: "-15.00 to -10.00". */
export const pnlLabel = (low, high, decimals = 2) => fmtSigned(low, decimals) + " to " + fmtSigned(high, decimals);

/** Each slice with its share of the total, for display (a percentage with one decimal). */
export function shares(slices, total) {
  const t = toNum(total);
  return slices.map((s) => ({ name: s.name, value: s.value,
    share: t > 0 ? fmtDec((toNum(s.value) / t) * 100, 1, 1) + " %" : DASH }));
}

/** The name of a comparison's key: a blank strategy is "(not reported)". */
export const keyText = (key) => (key === "" ? "(not reported)" : key);

/** A chart axis's number: grouped, `decimals` places, never "-0.00". */
export function axisText(v, decimals = 2) {
  const n = Math.abs(v) < 0.5 * 10 ** -decimals ? 0 : v;
  return fmtDec(n, decimals, decimals);
}

/** How long a step of the equity curve is: "10 s", "1 min", "10 min", "1 h", "1 day". */
export function stepText(seconds) {
  if (seconds >= 86400) return seconds === 86400 ? "1 day" : fmtDec(seconds / 86400, 0, 1) + " days";
  if (seconds >= 3600) return fmtDec(seconds / 3600, 0, 1) + " h";
  if (seconds >= 60) return fmtDec(seconds / 60, 0, 1) + " min";
  return seconds + " s";
}
