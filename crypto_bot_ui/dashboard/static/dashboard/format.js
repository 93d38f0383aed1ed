// Formatting for people: numbers, money, quantities, fees and times. Pure (no DOM); node --test covers it.
// Money arrives as decimal strings computed by the bot; these functions only format them.

export const DASH = "—";

const formatters = new Map();
function nf(min, max) {
  const key = min + ":" + max;
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.NumberFormat("en-US", { minimumFractionDigits: min, maximumFractionDigits: max });
    formatters.set(key, f);
  }
  return f;
}

/** A decimal string (or number) as a Number for display; NaN when absent. */
export const toNum = (v) => (v === null || v === undefined || v === "" ? NaN : Number(v));

/** Grouped, with between `min` and `max` decimals; a dash when unknown. */
export function fmtDec(v, min = 2, max = 2) {
  const n = toNum(v);
  return Number.isFinite(n) ? nf(min, max).format(n) : DASH;
}

/** Decimals a price shows by its size: 65,012.35 · 3.4567 · 0.012345. */
const priceDigits = (a) => (a >= 1000 ? 2 : a >= 1 ? 4 : a >= 0.01 ? 6 : 8);
export const fmtPrice = (v) => fmtDec(v, 2, priceDigits(Math.abs(toNum(v))));

/** A base-asset quantity: up to 8 decimals, no trailing zeros. */
export const fmtQty = (v) => fmtDec(v, 0, 8);

/** "pos", "neg", "zero" or "none": the colour of a signed figure. */
export function sign(v) {
  const n = toNum(v);
  return !Number.isFinite(n) ? "none" : n > 0 ? "pos" : n < 0 ? "neg" : "zero";
}

/** Money in the quote asset at the bot's display precision (`decimals`, 2 for USDT). */
export const fmtMoney = (v, decimals = 2) => fmtDec(v, decimals, decimals);

/** Signed money: "+1,234.50", "-0.20", "0.00". */
export function fmtSigned(v, decimals = 2) {
  const n = toNum(v);
  if (!Number.isFinite(n)) return DASH;
  return (n > 0 ? "+" : n < 0 ? "-" : "") + nf(decimals, decimals).format(Math.abs(n));
}

/** A percentage with its sign: "+1.25 %". */
export function fmtPct(v, digits = 2) {
  const n = toNum(v);
  if (!Number.isFinite(n)) return DASH;
  return (n > 0 ? "+" : n < 0 ? "-" : "") + nf(digits, digits).format(Math.abs(n)) + " %";
}

/** A fee: in the quote asset to the cent (up to 6 decimals below a cent, so it never reads 0.00),
 *  in any other asset to 8 decimals without trailing zeros. */
export function fmtFee(v, asset, quote) {
  const n = toNum(v);
  if (!Number.isFinite(n)) return DASH;
  const text = asset === quote ? (Math.abs(n) >= 0.01 || n === 0 ? fmtDec(n, 2, 2) : fmtDec(n, 2, 6)) : fmtDec(n, 0, 8);
  return asset ? text + " " + asset : text;
}

const pad2 = (n) => String(n).padStart(2, "0");
const toDate = (iso) => (iso instanceof Date ? iso : new Date(iso));

/** The browser's time zone as people read it ("CET", "GMT+1", "UTC"). */
export function tzName(at = new Date(), timeZone = undefined) {
  try {
    const parts = new Intl.DateTimeFormat("en-US", { timeZoneName: "short", timeZone }).formatToParts(at);
    const tz = parts.find((p) => p.type === "timeZoneName");
    return tz ? tz.value : "UTC";
  } catch (e) {
    return "UTC";
  }
}

/** "14:03:07" in the browser's time zone (the zone is shown once, next to the column or list). */
export function fmtTime(iso) {
  const d = toDate(iso);
  return isNaN(d) ? DASH : pad2(d.getHours()) + ":" + pad2(d.getMinutes()) + ":" + pad2(d.getSeconds());
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** "14:03" in the browser's time zone; "Dec 1 14:03" when not on the day of `now`. */
export function fmtSince(iso, now = new Date()) {
  const d = toDate(iso);
  if (isNaN(d)) return DASH;
  const hm = pad2(d.getHours()) + ":" + pad2(d.getMinutes());
  const today = d.getFullYear() === now.getFullYear() && d.getMonth() === now.getMonth() && d.getDate() === now.getDate();
  return today ? hm : MONTHS[d.getMonth()] + " " + d.getDate() + " " + hm;
}

/** "2026-12-01 14:03:07 CET": a full, unambiguous time. */
export function fmtDateTime(iso) {
  const d = toDate(iso);
  if (isNaN(d)) return DASH;
  return d.getFullYear() + "-" + pad2(d.getMonth() + 1) + "-" + pad2(d.getDate()) + " " + fmtTime(d) + " " + tzName(d);
}

/** "3 s", "4 min", "2 h 5 min": how long ago or how long, for people. */
export function fmtDuration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return s + " s";
  const m = Math.floor(s / 60);
  if (m < 60) return m + " min";
  const h = Math.floor(m / 60);
  if (h < 48) return h + " h" + (m % 60 ? " " + (m % 60) + " min" : "");
  return Math.floor(h / 24) + " d";
}

/** Percent change of `price` against `open` (null when either is unknown). */
export function change(price, open) {
  const p = toNum(price);
  const o = toNum(open);
  return Number.isFinite(p) && Number.isFinite(o) && o > 0 ? ((p - o) / o) * 100 : null;
}

/** A win rate (a fraction, as the bot sends it: "0.625") in percent, "62.5 %": the decimal point is
 * moved in the text, never multiplied in floating point, so every page shows the same digits. */
export function fmtWinRate(v) {
  const m = v === null || v === undefined ? null : /^(\d*)\.?(\d*)$/.exec(String(v));
  if (!m || (m[1] === "" && m[2] === "")) return DASH;
  const frac = m[2] + "00";
  const whole = (m[1] + frac.slice(0, 2)).replace(/^0+(?=\d)/, "");
  return fmtDec(Number(whole + "." + (frac.slice(2) || "0")), 0, 1) + " %";
}
