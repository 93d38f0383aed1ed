// The trade history page without the DOM: the page's query <-> its filters, local days -> the API's
// since/until, the API's query and the CSV link, page texts and page numbers, a trade's row texts and
// an API error as a sentence. Pure; node --test covers it (tests/js/journal.test.js).
import { DASH, fmtDateTime, fmtDec, fmtFee, fmtMoney, fmtPrice, fmtQty, fmtSigned, fmtTime, sign } from "../format.js";
import { problemText as sentenceOf } from "../texts.js";

export const PAGE_SIZE = 50; // the API's page (crypto_bot_ui/api/pagination.py)
export const NOTE_MAX = 2000; // crypto_bot_ui.trades.models.NOTE_MAX_CHARS (the page gets it from the view too)
export const FILTERS = ["bot", "symbol", "side", "from", "to", "has_note"];
export const NO_FILTERS = Object.freeze({ bot: "", symbol: "", side: "", from: "", to: "", has_note: "" });
export const EARLIEST_DAY = "1970-01-01"; // the API refuses times outside 1970..9000
export const LATEST_DAY = "8999-12-31";

const BOT_RE = /^[A-Za-z0-9_-]{1,32}$/;
const SYMBOL_RE = /^[A-Z0-9]{2,20}$/;
const DAY_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const pad2 = (n) => String(n).padStart(2, "0");

/** The local midnight starting "YYYY-MM-DD" (the browser's time zone), or null for what is no day. */
export function dayStart(day) {
  const m = DAY_RE.exec(String(day || ""));
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const at = new Date(y, mo - 1, d);
  at.setFullYear(y); // years below 100 would otherwise be read as 19xx
  return at.getFullYear() === y && at.getMonth() === mo - 1 && at.getDate() === d ? at : null;
}

/** The local day a time falls on, "YYYY-MM-DD". */
export const dayOf = (at) => String(at.getFullYear()).padStart(4, "0") + "-" + pad2(at.getMonth() + 1) + "-" + pad2(at.getDate());

/** The day after "YYYY-MM-DD" (null if it is no day). */
export function nextDay(day) {
  const at = dayStart(day);
  return at ? dayOf(new Date(at.getFullYear(), at.getMonth(), at.getDate() + 1)) : null;
}

/** The filters and page a query string asks for; what is not understood is left out. */
export function parseQuery(search) {
  const q = new URLSearchParams(search || "");
  const get = (name) => (q.get(name) || "").trim();
  const filters = { ...NO_FILTERS };
  if (BOT_RE.test(get("bot"))) filters.bot = get("bot");
  const symbol = get("symbol").toUpperCase();
  if (SYMBOL_RE.test(symbol)) filters.symbol = symbol;
  if (["buy", "sell"].includes(get("side").toLowerCase())) filters.side = get("side").toLowerCase();
  for (const name of ["from", "to"]) if (dayStart(get(name))) filters[name] = get(name);
  if (["true", "false"].includes(get("has_note").toLowerCase())) filters.has_note = get("has_note").toLowerCase();
  const raw = get("page");
  const page = /^\d{1,9}$/.test(raw) && Number(raw) >= 1 ? Number(raw) : 1;
  return { filters, page };
}

/** The page's own query for these filters and page, "?bot=main&page=2" ("" for every trade, page 1):
 *  always in one order, so a view has one address. */
export function pageQuery(filters, page = 1) {
  const q = new URLSearchParams();
  for (const name of FILTERS) if (filters[name]) q.set(name, filters[name]);
  if (page > 1) q.set("page", String(page));
  const text = q.toString();
  return text ? "?" + text : "";
}

/** Whether any filter is set. */
export const isFiltered = (filters) => FILTERS.some((name) => Boolean(filters[name]));

/** What is wrong with the date range, for people ("" when nothing is). */
export function rangeProblem(filters) {
  for (const [name, label] of [["from", "From"], ["to", "To"]]) {
    const day = filters[name];
    if (day && (!dayStart(day) || day < EARLIEST_DAY || day > LATEST_DAY)) {
      return `"${label}" must be a day between 1970 and 8999.`;
    }
  }
  if (filters.from && filters.to && filters.from > filters.to) return '"To" is before "From": choose a later day.';
  return "";
}

/** The API's time window for local days: `since` the start of `from`, `until` (exclusive) the start of
 *  the day after `to`, both as ISO-8601 UTC times; a missing end is left out. */
export function rangeParams(from, to) {
  const range = {};
  const start = dayStart(from);
  if (start) range.since = start.toISOString();
  const end = dayStart(nextDay(to));
  if (end) range.until = end.toISOString();
  return range;
}

/** The filters as the API's query parameters (`page` too when given and above 1). */
export function apiParams(filters, page) {
  const q = new URLSearchParams();
  for (const name of ["bot", "symbol", "side"]) if (filters[name]) q.set(name, filters[name]);
  const range = rangeParams(filters.from, filters.to);
  if (range.since) q.set("since", range.since);
  if (range.until) q.set("until", range.until);
  if (filters.has_note) q.set("has_note", filters.has_note);
  if (page && page > 1) q.set("page", String(page));
  return q;
}

/** The trades list's address: `/api/trades?...`. */
export function apiUrl(filters, page) {
  const q = apiParams(filters, page).toString();
  return "/api/trades" + (q ? "?" + q : "");
}

/** The CSV export of the same trades (every page): `/api/trades.csv?...`. */
export function csvHref(filters) {
  const q = apiParams(filters).toString();
  return "/api/trades.csv" + (q ? "?" + q : "");
}

/** How many pages `count` trades fill (at least 1). */
export const pageCount = (count, size = PAGE_SIZE) => Math.max(1, Math.ceil((Number(count) || 0) / size));

const whole = (n) => fmtDec(n, 0, 0);

/** "Trades 51–100 of 1,234"; "1 trade"; "No trades". */
export function pageText(page, count, size = PAGE_SIZE) {
  const n = Number(count) || 0;
  if (n <= 0) return "No trades";
  if (n === 1) return "1 trade";
  const first = (page - 1) * size + 1;
  const last = Math.min(page * size, n);
  return `Trades ${whole(first)}–${whole(last)} of ${whole(n)}`;
}

/** The page numbers a pager shows: the first, the last, and `spread` either side of the current one;
 *  null where numbers are left out (shown as "…"). A gap of one page shows that page instead. */
export function pageItems(current, total, spread = 1) {
  const shown = new Set([1, total]);
  for (let p = current - spread; p <= current + spread; p++) if (p >= 1 && p <= total) shown.add(p);
  const sorted = [...shown].sort((a, b) => a - b);
  const items = [];
  for (const p of sorted) {
    const prev = items.length ? items[items.length - 1] : 0;
    if (prev !== null && p - prev === 2) items.push(p - 1);
    else if (prev !== null && p - prev > 2) items.push(null);
    items.push(p);
  }
  return items;
}

/** The filters in words, for the summary line and the empty state: "main · BTCUSDT · sells · with a note". */
export function filtersText(filters) {
  const parts = [];
  if (filters.bot) parts.push("bot " + filters.bot);
  if (filters.symbol) parts.push(filters.symbol);
  if (filters.side) parts.push(filters.side === "buy" ? "buys" : "sells");
  if (filters.from && filters.to) parts.push(filters.from === filters.to ? "on " + filters.from : filters.from + " to " + filters.to);
  else if (filters.from) parts.push("from " + filters.from);
  else if (filters.to) parts.push("up to " + filters.to);
  if (filters.has_note) parts.push(filters.has_note === "true" ? "with a note" : "without a note");
  return parts.join(" · ");
}

/** What an empty list says: no trades at all, or none that match. */
export function emptyText(filters) {
  return isFiltered(filters) ? "No trades match these filters (" + filtersText(filters) + ")."
    : "No trades yet: every fill of every bot is listed here as soon as the recorder stores it.";
}

const QUOTES = ["FDUSD", "USDT", "USDC", "TUSD", "BUSD", "DAI", "USD", "EUR", "GBP", "TRY", "BRL", "BTC", "ETH", "BNB"];
// Quote assets shown in cents: the server's list (bot_api.models.CENT_ASSETS), given by the page's config.
let CENT_ASSETS = new Set(["USDT", "USDC", "FDUSD", "TUSD", "BUSD", "DAI", "USD", "EUR", "GBP", "TRY", "BRL"]);

/** Take the server's list of quote assets shown in cents (the page's config). */
export function useCentAssets(list) {
  if (Array.isArray(list) && list.length) CENT_ASSETS = new Set(list);
}

/** A symbol's quote asset ("BTCUSDT" -> "USDT"), "" when it is not one of the known ones. */
export function quoteOf(symbol) {
  const s = String(symbol || "");
  const found = QUOTES.filter((q) => s.endsWith(q) && s.length > q.length).sort((a, b) => b.length - a.length);
  return found.length ? found[0] : "";
}

/** Decimals money in `quote` is shown with: 2 for fiat and stablecoins, 8 for a crypto quote (as the bot's page). */
export const moneyDecimals = (quote) => (CENT_ASSETS.has(quote) || !quote ? 2 : 8);

/** "2026-11-20 14:03:07" in the browser's time zone (the zone is in the column's header). */
export function fmtStamp(iso) {
  const at = new Date(iso);
  return isNaN(at) ? DASH : dayOf(at) + " " + fmtTime(at);
}

/** Who last wrote the note and when, "by olga, 2026-11-20 14:03:07 CET" ("" without a note or a record). */
export function noteByText(trade) {
  if (!trade || !trade.note || !trade.note_changed_at) return "";
  const when = fmtDateTime(trade.note_changed_at);
  return trade.note_changed_by ? `by ${trade.note_changed_by}, ${when}` : `written ${when}`;
}

/** A trade in words, for buttons' names and messages: "sell 0.5 BTCUSDT on main at 2026-11-20 14:03:07". */
export function tradeName(trade) {
  return `${trade.side} ${fmtQty(trade.qty)} ${trade.symbol} on ${trade.bot_id} at ${fmtStamp(trade.executed_at)}`;
}

/** Everything a row shows of a trade of /api/trades, formatted (money stays the API's strings until here). */
export function rowTexts(trade) {
  const quote = quoteOf(trade.symbol);
  const decimals = moneyDecimals(quote);
  const sell = trade.side === "sell";
  // A fee in a cent asset to the cent (below a cent: to 6 decimals); in a crypto asset to 8 decimals.
  const fee = fmtFee(trade.fee, trade.fee_asset, decimals === 2 ? quote : "");
  const thirdAsset = trade.fee_quote !== null && trade.fee_quote !== undefined && trade.fee_quote !== "";
  return {
    id: trade.id,
    time: fmtStamp(trade.executed_at),
    timeTitle: fmtDateTime(trade.executed_at),
    iso: trade.executed_at || "",
    bot: trade.bot_id || DASH,
    symbol: trade.symbol || DASH,
    side: sell ? "sell" : "buy",
    sideText: sell ? "Sell" : "Buy",
    qty: fmtQty(trade.qty),
    price: fmtPrice(trade.price),
    value: fmtMoney(trade.quote_qty, decimals),
    quote,
    fee,
    feeTitle: thirdAsset ? `${fee} (${fmtMoney(trade.fee_quote, decimals)} ${quote || "in the quote asset"})` : "",
    pnl: sell ? fmtSigned(trade.realized_pnl, decimals) : "",
    pnlSign: sell ? sign(trade.realized_pnl) : "none",
    strategy: trade.strategy || DASH,
    reason: trade.reason || DASH,
    note: trade.note || "",
    noteBy: noteByText(trade),
    name: tradeName(trade),
  };
}

/** Whether this user may write the notes of `botId`'s trades (the page's config; the server checks again). */
export function mayNote(config, botId) {
  return Boolean(config && (config.note_all || (Array.isArray(config.note_bots) && config.note_bots.includes(botId))));
}

/** "12 / 2000": the note's length as the text box counts it (its maxlength), and the limit. */
export const noteCount = (text, max = NOTE_MAX) => `${whole(String(text || "").length)} / ${whole(max)}`;

/** What the note's Save said: "Saved.", "Note removed." */
export const savedText = (trade) => (trade && trade.note ? "Saved." : "Note removed.");

/** An API error as a sentence: the server's own message when it sent one ({code, message}), else by status. */
export const problemText = (status, body) => sentenceOf(status, body, {
  403: "You may not do this (reload the page: your role may have changed).",
  404: "Not found: the trade or the page is gone.",
  0: "The server cannot be reached; check the connection and try again." });
