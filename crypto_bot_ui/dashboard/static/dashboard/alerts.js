// The user's alerts without the DOM: the kinds and what their level means, the add form turned into the
// API's body (with hints before anything is sent), an alert and a firing in words, and an API error as a
// sentence. Pure; node --test covers it. The server checks everything again: these are hints.
import { DASH, fmtTime } from "./format.js";
import { problemText } from "./texts.js";

/** Where an alert may be told (notify.models.ALERT_CHANNELS), in that order; `page`: a pop-up here. */
export const CHANNELS = ["page", "telegram", "apprise", "webhook"];
export const CHANNEL_LABELS = { page: "Page", telegram: "Telegram", apprise: "Apprise", webhook: "Webhook" };
/** The operators' shared channels: only an operator of the bot may send an alert there (the server checks). */
export const SHARED_CHANNELS = ["apprise", "webhook"];
export const MAX_WINDOW = 1440;
export const NOTE_MAX = 200;

/** Each kind (notify.alert_rules.AlertKind): its name, what its level is, and what else it takes. */
export const KINDS = [
  { kind: "price_above", label: "Price above", level: "Price", unit: "", symbol: true, window: false },
  { kind: "price_below", label: "Price below", level: "Price", unit: "", symbol: true, window: false },
  { kind: "price_move", label: "Price move", level: "Move", unit: "%", symbol: true, window: true },
  { kind: "daily_pnl_below", label: "Day's loss", level: "Loss", unit: "", symbol: false, window: false },
  { kind: "drawdown", label: "Drawdown", level: "Drawdown", unit: "%", symbol: false, window: false },
];

/** The kind's description, or null for a kind this page does not know. */
export const kindOf = (kind) => KINDS.find((k) => k.kind === kind) || null;

/** What the level field asks for, by kind: its label and an example. */
export function levelHint(kind) {
  const k = kindOf(kind);
  if (!k) return { label: "Level", placeholder: "" };
  if (k.kind === "price_move") return { label: "Move %", placeholder: "e.g. 2.5" };
  if (k.kind === "drawdown") return { label: "Drawdown %", placeholder: "e.g. 10" };
  if (k.kind === "daily_pnl_below") return { label: "Loss", placeholder: "e.g. 100" };
  return { label: "Price", placeholder: "e.g. 65000" };
}

/** A level as typed ("65,000.5", " 2.5 ", "1e3" is not taken) as an exact decimal string, or null. Grouping
 *  commas are taken only where they group thousands: "0,5" is refused, not read as 5. */
export function levelString(text) {
  let t = String(text === null || text === undefined ? "" : text).trim().replace(/[\s_]/g, "");
  if (/^\d{1,3}(,\d{3})+(\.\d+)?$/.test(t)) t = t.replace(/,/g, "");
  if (!/^\d+(\.\d+)?$|^\.\d+$/.test(t)) return null;
  if (t.startsWith(".")) t = "0" + t;
  return t;
}

/** Whether a decimal string is above zero (without floats: "0.000" is not). */
const positive = (s) => /[1-9]/.test(s);

/** Whether decimal string a ≤ b, both plain non-negative (as levelString gives them). */
function atMost(a, b) {
  const [ai, af = ""] = a.split(".");
  const [bi, bf = ""] = b.split(".");
  const x = ai.replace(/^0+(?=\d)/, "");
  const y = bi.replace(/^0+(?=\d)/, "");
  if (x.length !== y.length) return x.length < y.length;
  if (x !== y) return x < y;
  const n = Math.max(af.length, bf.length);
  return af.padEnd(n, "0") <= bf.padEnd(n, "0");
}

/** The add form (fields as typed) as the body of `POST /api/alerts`: `{body}`, or `{problem, field}` with
 *  a sentence and the field to fix. fields: {kind, symbol, level, window, channels: [...], note}. */
export function alertPayload(fields, bot) {
  const k = kindOf(fields.kind);
  if (!k) return { problem: "Choose what the alert watches.", field: "kind" };
  if (k.symbol && !fields.symbol) return { problem: "Choose a symbol: the bot's symbols are not known yet.", field: "symbol" };
  const level = levelString(fields.level);
  if (level === null && levelString(String(fields.level || "").trim().replace(/^-/, "")) !== null) {
    return { problem: k.kind === "daily_pnl_below" ? "Give the day's loss as a positive amount: 100 alerts at a P&L of -100 or less."
      : "The level must be above 0.", field: "level" };
  }
  if (level === null) {
    const comma = /\d,\d/.test(String(fields.level || ""));
    return { problem: comma ? "Use a dot for decimals, e.g. 2.5." : "Give the level as a number, e.g. " +
      levelHint(k.kind).placeholder.replace("e.g. ", "") + ".", field: "level" };
  }
  if (!positive(level)) return { problem: "The level must be above 0.", field: "level" };
  if (k.unit === "%" && !atMost(level, "100")) return { problem: "The percentage must be at most 100.", field: "level" };
  const body = { bot_id: bot, kind: k.kind, level };
  if (k.symbol) body.symbol = fields.symbol;
  if (k.window) {
    const w = String(fields.window === undefined || fields.window === null ? "" : fields.window).trim();
    const n = /^\d+$/.test(w) ? Number(w) : NaN;
    if (!(n >= 1 && n <= MAX_WINDOW)) {
      return { problem: "A price move needs a window of 1 to " + MAX_WINDOW + " minutes.", field: "window" };
    }
    body.window_minutes = n;
  }
  const channels = CHANNELS.filter((c) => (fields.channels || []).includes(c));
  if (!channels.length) return { problem: "Choose at least one channel.", field: "channels" };
  body.channels = channels;
  const note = String(fields.note || "").trim();
  if (note.length > NOTE_MAX) return { problem: "The note may be at most " + NOTE_MAX + " characters.", field: "note" };
  if (note) body.note = note;
  return { body };
}

/** A decimal string with its thousands grouped, digits as they are: "65000.5" → "65,000.5" (no float). */
export function fmtExact(v) {
  const m = /^(-?)(\d+)(\.\d+)?$/.exec(String(v === null || v === undefined ? "" : v).trim());
  if (!m) return DASH;
  return m[1] + m[2].replace(/\B(?=(\d{3})+(?!\d))/g, ",") + (m[3] || "");
}

/** An alert's level as its kind means it: "65,000.5", "2.5 %", "-100" (a loss), "10 %". */
export function levelText(alert) {
  const k = kindOf(alert.kind);
  const shown = fmtExact(alert.level);
  if (!k || shown === DASH) return shown;
  if (k.kind === "daily_pnl_below") return "-" + shown;
  return shown + (k.unit ? " " + k.unit : "");
}

/** An alert's window: "15 min", or a dash for kinds without one. */
export const windowText = (alert) => (Number.isInteger(alert.window_minutes) ? alert.window_minutes + " min" : DASH);

/** Channels in words: "Page, Telegram". */
export const channelsText = (channels) => (channels || []).map((c) => CHANNEL_LABELS[c] || c).join(", ") || DASH;

/** The whole condition in one line, for a label: "BTCUSDT above 65,000.5", "BTCUSDT moves 2.5 % within 15 min",
 *  "day's P&L at -100 or below", "drawdown of 10 % or more". */
export function conditionText(alert) {
  const level = levelText(alert);
  switch (alert.kind) {
    case "price_above":
      return alert.symbol + " at or above " + level;
    case "price_below":
      return alert.symbol + " at or below " + level;
    case "price_move":
      return alert.symbol + " moves " + level + " within " + windowText(alert);
    case "daily_pnl_below":
      return "day's P&L at " + level + " or below";
    case "drawdown":
      return "drawdown of " + level + " or more";
    default:
      return String(alert.kind);
  }
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const sameDay = (a, b) => a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();

/** When something fired, in the browser's zone: "14:03:07" today, "Dec 1 14:03" before. */
export function firedAt(iso, now = new Date()) {
  const d = new Date(iso);
  if (isNaN(d)) return DASH;
  return sameDay(d, now) ? fmtTime(d) : MONTHS[d.getMonth()] + " " + d.getDate() + " " + fmtTime(d).slice(0, 5);
}

/** A firing (from /api/alerts/firings) as the panel's row: when, the value it fired at, what happened. */
export function firingRow(f, now = new Date()) {
  return { id: f.id, when: firedAt(f.fired_at, now), value: fmtExact(f.value), text: String(f.text || "") };
}

/** The pop-up of an `alert_fired` envelope: its text, the bot to link to, the alert. */
export function alertToast(env) {
  const d = env && env.data && typeof env.data === "object" ? env.data : {};
  return { bot: String(env && env.bot), alertId: d.alert_id, text: String(d.text || "An alert fired."), at: d.fired_at };
}

/** A failed API call as a sentence: the server's `{code, message}`, else what the status says. */
export const apiProblem = (status, body) => problemText(status, body, {
  404: "That alert is gone.", 503: "The bot's data cannot be reached right now; try again." });
