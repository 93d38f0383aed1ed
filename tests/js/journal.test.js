// The trade history page's pure logic: the address's query <-> the filters, local days -> the API's
// since/until (in a time zone with summer time), the API's query and the CSV link, page texts and numbers,
// a trade's row texts, and API errors as sentences.
import { test } from "node:test";
import assert from "node:assert/strict";

// Days are the browser's: test them where a day can last 23 or 25 hours. Set before any Date is made.
process.env.TZ = "Europe/Berlin";

const M = await import("../../crypto_bot_ui/dashboard/static/dashboard/journal/journal_model.js");
const { DASH } = await import("../../crypto_bot_ui/dashboard/static/dashboard/format.js");

const trade = (over) => Object.assign({
  id: 7, bot_id: "main", trade_id: "t-7", symbol: "BTCUSDT", side: "sell", qty: "0.01530000", price: "65158.88",
  quote_qty: "996.9308640", fee: "0.99693086", fee_asset: "USDT", fee_quote: null, realized_pnl: "-3.205",
  reason: "SMA 3 crossed below SMA 8", strategy: "sma_cross", executed_at: "2026-11-20T13:03:07.511204Z", note: "",
  note_changed_at: null, note_changed_by: null,
}, over);

test("the address's query is read into filters, leaving out what is not understood", () => {
  assert.deepEqual(M.parseQuery(""), { filters: { ...M.NO_FILTERS }, page: 1 });
  assert.deepEqual(M.parseQuery("?bot=eth-2&symbol=ethusdt&side=SELL&from=2026-11-01&to=2026-11-20&has_note=true&page=3"), {
    filters: { bot: "eth-2", symbol: "ETHUSDT", side: "sell", from: "2026-11-01", to: "2026-11-20", has_note: "true" }, page: 3,
  });
  const junk = M.parseQuery("?bot=no%20way&symbol=B&side=short&from=2026-02-30&to=yesterday&has_note=maybe&page=0");
  assert.deepEqual(junk, { filters: { ...M.NO_FILTERS }, page: 1 });
  assert.equal(M.parseQuery("?page=-2").page, 1);
  assert.equal(M.parseQuery("?page=1e3").page, 1);
  assert.equal(M.parseQuery("?page=12").page, 12);
});

test("filters make one address, in one order, and read back the same", () => {
  const filters = { has_note: "false", to: "2026-11-20", from: "2026-11-01", side: "buy", symbol: "BTCUSDT", bot: "main" };
  const query = M.pageQuery(filters, 2);
  assert.equal(query, "?bot=main&symbol=BTCUSDT&side=buy&from=2026-11-01&to=2026-11-20&has_note=false&page=2");
  assert.deepEqual(M.parseQuery(query), { filters: { ...filters }, page: 2 });
  assert.equal(M.pageQuery(M.NO_FILTERS, 1), "");
  assert.equal(M.pageQuery({ ...M.NO_FILTERS, side: "sell" }, 1), "?side=sell");
  assert.equal(M.isFiltered(M.NO_FILTERS), false);
  assert.equal(M.isFiltered({ ...M.NO_FILTERS, has_note: "false" }), true);
});

test("a day is the browser's: from its midnight to the next, through summer time", () => {
  assert.deepEqual(M.rangeParams("2026-11-20", "2026-11-20"),
    { since: "2026-11-19T23:00:00.000Z", until: "2026-11-20T23:00:00.000Z" });
  // 29 March 2026: clocks go forward, the day has 23 hours; 25 October: back, 25 hours.
  assert.deepEqual(M.rangeParams("2026-03-29", "2026-03-29"),
    { since: "2026-03-28T23:00:00.000Z", until: "2026-03-29T22:00:00.000Z" });
  assert.deepEqual(M.rangeParams("2026-10-25", "2026-10-25"),
    { since: "2026-10-24T22:00:00.000Z", until: "2026-10-25T23:00:00.000Z" });
  assert.deepEqual(M.rangeParams("2026-11-01", ""), { since: "2026-10-31T23:00:00.000Z" });
  assert.deepEqual(M.rangeParams("", "2026-12-31"), { until: "2026-12-31T23:00:00.000Z" }); // the year's last day
  assert.deepEqual(M.rangeParams("", ""), {});
  assert.equal(M.nextDay("2028-02-28"), "2028-02-29");
  assert.equal(M.nextDay("2026-12-31"), "2027-01-01");
  assert.equal(M.dayStart("2026-02-29"), null);
  assert.equal(M.dayOf(M.dayStart("0099-05-01")), "0099-05-01");
});

test("a date range that cannot be asked for says why", () => {
  const f = (from, to) => ({ ...M.NO_FILTERS, from, to });
  assert.equal(M.rangeProblem(f("2026-11-01", "2026-11-20")), "");
  assert.equal(M.rangeProblem(f("2026-11-20", "2026-11-20")), "");
  assert.equal(M.rangeProblem(f("2026-11-20", "2026-11-01")), '"To" is before "From": choose a later day.');
  assert.equal(M.rangeProblem(f("0002-11-20", "")), '"From" must be a day between 1970 and 8999.');
  assert.equal(M.rangeProblem(f("", "9000-01-01")), '"To" must be a day between 1970 and 8999.');
});

test("the API is asked with the same filters, the days as times; the CSV too, without the page", () => {
  const filters = { bot: "main", symbol: "BTCUSDT", side: "sell", from: "2026-11-01", to: "2026-11-20", has_note: "true" };
  assert.equal(M.apiUrl(filters, 3), "/api/trades?bot=main&symbol=BTCUSDT&side=sell&since=2026-10-31T23%3A00%3A00.000Z"
    + "&until=2026-11-20T23%3A00%3A00.000Z&has_note=true&page=3");
  assert.equal(M.csvHref(filters), "/api/trades.csv?bot=main&symbol=BTCUSDT&side=sell&since=2026-10-31T23%3A00%3A00.000Z"
    + "&until=2026-11-20T23%3A00%3A00.000Z&has_note=true");
  assert.equal(M.apiUrl(M.NO_FILTERS, 1), "/api/trades");
  assert.equal(M.csvHref(M.NO_FILTERS), "/api/trades.csv");
  assert.equal(M.apiUrl({ ...M.NO_FILTERS, has_note: "false" }, 2), "/api/trades?has_note=false&page=2");
});

test("pages: how many, what the summary says, which numbers the pager shows", () => {
  assert.equal(M.pageCount(0), 1);
  assert.equal(M.pageCount(50), 1);
  assert.equal(M.pageCount(51), 2);
  assert.equal(M.pageCount(1234), 25);
  assert.equal(M.pageText(2, 1234), "Trades 51–100 of 1,234");
  assert.equal(M.pageText(25, 1234), "Trades 1,201–1,234 of 1,234");
  assert.equal(M.pageText(1, 7), "Trades 1–7 of 7");
  assert.equal(M.pageText(1, 1), "1 trade");
  assert.equal(M.pageText(1, 0), "No trades");
  assert.deepEqual(M.pageItems(1, 1), [1]);
  assert.deepEqual(M.pageItems(1, 5), [1, 2, null, 5]);
  assert.deepEqual(M.pageItems(6, 25), [1, null, 5, 6, 7, null, 25]);
  assert.deepEqual(M.pageItems(3, 25), [1, 2, 3, 4, null, 25]);
  assert.deepEqual(M.pageItems(4, 25), [1, 2, 3, 4, 5, null, 25]); // a gap of one page shows the page
  assert.deepEqual(M.pageItems(25, 25), [1, null, 24, 25]);
  assert.deepEqual(M.pageItems(6, 25, 2), [1, null, 4, 5, 6, 7, 8, null, 25]);
  assert.deepEqual(M.pageItems(6, 25, 0), [1, null, 6, null, 25]);
  assert.deepEqual(M.pageItems(2, 3, 0), [1, 2, 3]);
});

test("the filters in words, and what an empty list says", () => {
  assert.equal(M.filtersText({ bot: "main", symbol: "BTCUSDT", side: "sell", from: "2026-11-01", to: "2026-11-20",
    has_note: "true" }), "bot main · BTCUSDT · sells · 2026-11-01 to 2026-11-20 · with a note");
  assert.equal(M.filtersText({ ...M.NO_FILTERS, from: "2026-11-20", to: "2026-11-20" }), "on 2026-11-20");
  assert.equal(M.filtersText({ ...M.NO_FILTERS, to: "2026-11-20", side: "buy", has_note: "false" }),
    "buys · up to 2026-11-20 · without a note");
  assert.match(M.emptyText(M.NO_FILTERS), /^No trades yet/);
  assert.equal(M.emptyText({ ...M.NO_FILTERS, symbol: "ETHUSDT" }), "No trades match these filters (ETHUSDT).");
});

test("a trade's row: times in the browser's zone, money formatted from its strings, P&L on sells only", () => {
  const x = M.rowTexts(trade());
  assert.equal(x.time, "2026-11-20 14:03:07");
  assert.equal(x.timeTitle, "2026-11-20 14:03:07 GMT+1");
  assert.equal(x.iso, "2026-11-20T13:03:07.511204Z");
  assert.deepEqual([x.bot, x.symbol, x.side, x.sideText], ["main", "BTCUSDT", "sell", "Sell"]);
  assert.deepEqual([x.qty, x.price, x.value, x.quote, x.fee], ["0.0153", "65,158.88", "996.93", "USDT", "1.00 USDT"]);
  assert.deepEqual([x.pnl, x.pnlSign], ["-3.21", "neg"]);
  assert.deepEqual([x.strategy, x.reason, x.note, x.noteBy, x.feeTitle], ["sma_cross", "SMA 3 crossed below SMA 8", "", "", ""]);
  assert.equal(x.name, "sell 0.0153 BTCUSDT on main at 2026-11-20 14:03:07");
  const buy = M.rowTexts(trade({ side: "buy", realized_pnl: "0", reason: "", strategy: "" }));
  assert.deepEqual([buy.pnl, buy.pnlSign, buy.reason, buy.strategy], ["", "none", DASH, DASH]);
  const bnb = M.rowTexts(trade({ fee: "0.00075", fee_asset: "BNB", fee_quote: "0.45", realized_pnl: "12.5" }));
  assert.deepEqual([bnb.fee, bnb.feeTitle, bnb.pnl, bnb.pnlSign], ["0.00075 BNB", "0.00075 BNB (0.45 USDT)", "+12.50", "pos"]);
  // A crypto quote asset: money to 8 decimals, as the bot's own page shows it.
  const btc = M.rowTexts(trade({ symbol: "ETHBTC", quote_qty: "0.0531", fee: "0.0000531", fee_asset: "BTC", realized_pnl: "0.00012" }));
  assert.deepEqual([btc.quote, btc.value, btc.fee, btc.pnl], ["BTC", "0.05310000", "0.0000531 BTC", "+0.00012000"]);
});

test("quote assets are read off the symbol, the longest that fits", () => {
  assert.equal(M.quoteOf("BTCUSDT"), "USDT");
  assert.equal(M.quoteOf("BTCFDUSD"), "FDUSD");
  assert.equal(M.quoteOf("ETHBTC"), "BTC");
  assert.equal(M.quoteOf("BNBETH"), "ETH");
  assert.equal(M.quoteOf("USDT"), "");
  assert.equal(M.quoteOf("XYZABC"), "");
  M.useCentAssets(["USDT", "EUR"]); // the server's list, as the page's config gives it
  assert.equal(M.moneyDecimals("EUR"), 2);
  assert.equal(M.moneyDecimals("USDT"), 2);
  assert.equal(M.moneyDecimals("BTC"), 8);
  assert.equal(M.moneyDecimals(""), 2);
});

test("a note, who wrote it and when; who may write which bot's notes", () => {
  const noted = trade({ note: "closed too early\nnext time wait", note_changed_by: "olga", note_changed_at: "2026-11-21T08:00:00Z" });
  assert.equal(M.rowTexts(noted).note, "closed too early\nnext time wait");
  assert.equal(M.noteByText(noted), "by olga, 2026-11-21 09:00:00 GMT+1");
  assert.equal(M.noteByText({ ...noted, note_changed_by: null }), "written 2026-11-21 09:00:00 GMT+1");
  assert.equal(M.noteByText({ ...noted, note: "" }), ""); // cleared: nothing to attribute
  assert.equal(M.noteByText({ ...noted, note_changed_at: null }), "");
  assert.equal(M.mayNote({ note_all: true, note_bots: [] }, "anything"), true);
  assert.equal(M.mayNote({ note_all: false, note_bots: ["eth"] }, "eth"), true);
  assert.equal(M.mayNote({ note_all: false, note_bots: ["eth"] }, "main"), false);
  assert.equal(M.mayNote({ note_all: false, note_bots: [] }, "main"), false);
  assert.equal(M.mayNote(null, "main"), false);
  assert.equal(M.noteCount("", 2000), "0 / 2,000");
  assert.equal(M.noteCount("x".repeat(1999)), "1,999 / 2,000");
  assert.equal(M.savedText({ note: "x" }), "Saved.");
  assert.equal(M.savedText({ note: "" }), "Note removed.");
});

test("API errors as sentences: the server's message first", () => {
  assert.equal(M.problemText(400, { code: "too_long", message: "the note is 2001 characters long: at most 2000" }),
    "The note is 2001 characters long: at most 2000.");
  assert.equal(M.problemText(403, { code: "forbidden", message: "you may not write notes on bot main's trades: ask." }),
    "You may not write notes on bot main's trades: ask.");
  assert.match(M.problemText(403, null), /^You may not do this/);
  assert.match(M.problemText(404, {}), /^Not found/);
  assert.equal(M.problemText(500, null), "The server answered 500; try again.");
  assert.match(M.problemText(0, null), /cannot be reached/);
});
