// The overview's pure logic: the ranking and its sort order, the sparkline's points and path, and
// what a bot's row says.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  COLUMNS, DEFAULT_SORT, ariaSort, compareDecimal, nextSort, sortBots, statusRank,
} from "../../crypto_bot_ui/dashboard/static/dashboard/overview/sort.js";
import {
  SPARK_EVERY_MS, SPARK_POINTS, newSpark, nextSpark, sparkPath,
} from "../../crypto_bot_ui/dashboard/static/dashboard/overview/spark.js";
import {
  badgesOf, drawdownText, figuresOf, sparkLabel, statusOf, symbolsText, winRateText,
} from "../../crypto_bot_ui/dashboard/static/dashboard/overview/cells.js";
import { DASH, fmtSince } from "../../crypto_bot_ui/dashboard/static/dashboard/format.js";

const bot = (id, total, extra = {}) => Object.assign({
  bot: id, online: true, state: "running", strategy: "sma_cross", mode: "paper", market_data: "sim", decimals: 2,
  pnl: total === null ? null : { realized: "0", unrealized: "0", total }, equity: total === null ? null : "10000",
  trade_count: 0, win_rate: null, max_drawdown: "0", max_drawdown_pct: "0",
}, extra);
const ids = (rows) => rows.map((r) => r.bot);

test("decimal strings compare exactly, digit by digit", () => {
  assert.equal(compareDecimal("1.10", "1.1"), 0);
  assert.equal(compareDecimal("-0.00", "0"), 0);
  assert.equal(compareDecimal("10", "9.99999999"), 1);
  assert.equal(compareDecimal("-10", "-9.99"), -1);
  assert.equal(compareDecimal("-0.01", "0"), -1);
  assert.equal(compareDecimal("+3", "3.000"), 0);
  assert.equal(compareDecimal("0.30000000000000004", "0.3"), 1); // what a float would call equal to 0.1 + 0.2
  assert.equal(compareDecimal("12345678901234567890.01", "12345678901234567890.02"), -1); // beyond a float's digits
  assert.equal(compareDecimal(".5", "0.4"), 1);
  assert.equal(compareDecimal(12, "11.5"), 1); // counts as integers
  // Agrees with numbers where numbers are exact.
  const vals = ["-5", "-1.5", "-0.25", "0", "0.25", "1", "1.5", "2", "100"];
  for (const a of vals) for (const b of vals) assert.equal(compareDecimal(a, b), Math.sign(Number(a) - Number(b)), a + " vs " + b);
});

test("ranked by total P&L, best first, by default; a bot without figures comes last", () => {
  const rows = [bot("a", "-3.20"), bot("b", "12.50"), bot("c", null), bot("d", "0.00"), bot("e", "12.5")];
  assert.deepEqual(DEFAULT_SORT, { key: "total", dir: "desc" });
  assert.deepEqual(ids(sortBots(rows)), ["b", "e", "d", "a", "c"]); // a tie goes by id
  assert.deepEqual(ids(sortBots(rows, { key: "total", dir: "asc" })), ["a", "d", "b", "e", "c"]); // still last
  assert.deepEqual(ids(rows), ["a", "b", "c", "d", "e"]); // the input is left alone
});

test("every column sorts by its own value", () => {
  const rows = [
    bot("bot10", "1", { strategy: "rsi", equity: "900", trade_count: 3, win_rate: "0.5", max_drawdown: "5", max_drawdown_pct: "0.5",
      mode: "live", market_data: "binance", pnl: { realized: "3", unrealized: "-2", total: "1" } }),
    bot("bot9", "2", { strategy: "Breakout", equity: "10000.01", trade_count: 12, win_rate: "0.625", max_drawdown: "50",
      max_drawdown_pct: "0.25", pnl: { realized: "-1", unrealized: "3", total: "2" } }),
    bot("alpha", "3", { online: false, strategy: "sma_cross", equity: "10000", trade_count: 0, win_rate: null,
      pnl: { realized: "0", unrealized: "3", total: "3" } }),
  ];
  const by = (key, dir) => ids(sortBots(rows, { key, dir }));
  assert.deepEqual(by("bot", "asc"), ["alpha", "bot9", "bot10"]); // numbers in names in their order
  assert.deepEqual(by("strategy", "asc"), ["bot9", "bot10", "alpha"]); // case-insensitive
  assert.deepEqual(by("realized", "desc"), ["bot10", "alpha", "bot9"]);
  assert.deepEqual(by("unrealized", "desc"), ["alpha", "bot9", "bot10"]); // tie by id
  assert.deepEqual(by("equity", "desc"), ["bot9", "alpha", "bot10"]);
  assert.deepEqual(by("trades", "desc"), ["bot9", "bot10", "alpha"]);
  assert.deepEqual(by("win_rate", "desc"), ["bot9", "bot10", "alpha"]); // none yet: last
  assert.deepEqual(by("win_rate", "asc"), ["bot10", "bot9", "alpha"]);
  assert.deepEqual(by("max_drawdown", "asc"), ["alpha", "bot9", "bot10"]); // by percentage: 0 < 0.25 < 0.5
  assert.deepEqual(by("status", "asc"), ["bot9", "bot10", "alpha"]); // running (tie by id), then offline
  assert.deepEqual(by("mode", "asc"), ["bot10", "alpha", "bot9"]);
  for (const key of Object.keys(COLUMNS)) assert.equal(sortBots(rows, { key, dir: "desc" }).length, 3, key);
});

test("the status ranks running, stopped, offline, then never heard from", () => {
  assert.equal(statusRank({ online: true, state: "running" }), 0);
  assert.equal(statusRank({ online: true, state: "stopped" }), 1);
  assert.equal(statusRank({ online: false, state: "running" }), 2);
  assert.equal(statusRank({ online: true }), 3);
  assert.equal(statusRank({}), 3);
});

test("a click on a header turns its column around; another column starts where it makes sense", () => {
  let s = DEFAULT_SORT;
  s = nextSort(s, "total");
  assert.deepEqual(s, { key: "total", dir: "asc" });
  s = nextSort(s, "total");
  assert.deepEqual(s, { key: "total", dir: "desc" });
  assert.deepEqual(nextSort(s, "bot"), { key: "bot", dir: "asc" });
  assert.deepEqual(nextSort(s, "status"), { key: "status", dir: "asc" });
  assert.deepEqual(nextSort(nextSort(s, "bot"), "equity"), { key: "equity", dir: "desc" });
  assert.equal(nextSort(s, "nonsense"), s);
  assert.equal(ariaSort({ key: "total", dir: "desc" }, "total"), "descending");
  assert.equal(ariaSort({ key: "total", dir: "asc" }, "total"), "ascending");
  assert.equal(ariaSort({ key: "total", dir: "asc" }, "equity"), "none");
});

test("the sparkline keeps the history, then a live point at most every 10 s, the last 60", () => {
  const history = Array.from({ length: 70 }, (_, i) => String(10000 + i));
  let s = newSpark(history.concat(["junk", null]));
  assert.equal(s.points.length, SPARK_POINTS);
  assert.equal(s.points[0], "10010");
  assert.equal(s.points[59], "10069");
  const t0 = 1_000_000;
  s = nextSpark(s, "10070.50", t0);
  assert.equal(s.points[59], "10070.50"); // the first live point goes in at once
  assert.equal(s.points.length, SPARK_POINTS);
  assert.equal(nextSpark(s, "10071", t0 + SPARK_EVERY_MS - 1), s); // too soon: unchanged, same object
  assert.equal(nextSpark(s, null, t0 + SPARK_EVERY_MS), s); // no equity yet
  const later = nextSpark(s, "10072", t0 + SPARK_EVERY_MS);
  assert.notEqual(later, s);
  assert.equal(later.points[59], "10072");
  assert.equal(s.points[59], "10070.50"); // the old one is left alone
  assert.deepEqual(newSpark(undefined), { points: [], at: 0 });
  assert.deepEqual(nextSpark(newSpark([]), "5", 1).points, ["5"]);
});

test("the sparkline path fills its box, scaled to its own range", () => {
  assert.deepEqual(sparkPath([]), { d: "", trend: "none" });
  assert.deepEqual(sparkPath(["10000"], 120, 32, 2), { d: "M2,16L118,16", trend: "flat" });
  assert.deepEqual(sparkPath(["5", "5", "5"], 120, 32, 2), { d: "M2,16L60,16L118,16", trend: "flat" });
  assert.deepEqual(sparkPath(["0", "10", "5"], 100, 22, 1), { d: "M1,21L50,1L99,11", trend: "up" });
  assert.equal(sparkPath(["10", "0"], 100, 22, 1).trend, "down");
  // The trend is exact: these differ beyond a float's digits.
  assert.equal(sparkPath(["12345678901234567890.01", "12345678901234567890.02"]).trend, "up");
  // Every point inside the box, the first on the left edge and the last on the right.
  const values = Array.from({ length: 60 }, (_, i) => String(10000 + Math.sin(i / 5) * 37.5));
  const pts = sparkPath(values, 120, 32, 2).d.slice(1).split("L").map((p) => p.split(",").map(Number));
  assert.equal(pts.length, 60);
  for (const [x, y] of pts) assert.ok(x >= 2 && x <= 118 && y >= 2 && y <= 30, x + "," + y);
  assert.equal(pts[0][0], 2);
  assert.equal(pts[59][0], 118);
  assert.equal(Math.min(...pts.map((p) => p[1])), 2);
  assert.equal(Math.max(...pts.map((p) => p[1])), 30);
});

test("a bot's status in words: running, stopped with its reason, offline since when", () => {
  const now = new Date(2026, 10, 20, 15, 0, 0);
  assert.deepEqual(statusOf({ online: true, state: "running", reason: "started by admin" }, now),
    { kind: "running", text: "running", detail: "started by admin" });
  assert.deepEqual(statusOf({ online: true, state: "stopped", reason: "daily loss limit reached" }, now),
    { kind: "stopped", text: "stopped", detail: "daily loss limit reached" });
  const seen = new Date(2026, 10, 20, 14, 3, 59).toISOString();
  const off = statusOf({ online: false, state: "running", reason: "started", last_seen: seen }, now);
  assert.equal(off.kind, "offline");
  assert.equal(off.text, "offline since 14:03");
  assert.match(off.detail, /^last heard from 2026-11-20 14:03:59 .*; last running: started$/);
  const yesterday = new Date(2026, 10, 19, 9, 5).toISOString();
  assert.equal(statusOf({ online: false, last_seen: yesterday }, now).text, "offline since Nov 19 09:05");
  assert.equal(statusOf({ online: false }, now).text, "offline");
  assert.equal(statusOf({ online: true }, now).kind, "unknown");
  assert.equal(fmtSince("junk"), DASH);
});

test("a row's figures are the strings the server sent, at the bot's precision", () => {
  const s = bot("a", "6.51", { pnl: { realized: "-3.20", unrealized: "9.71", total: "6.51" }, equity: "10006.51",
    quote_asset: "USDT", trade_count: 7, win_rate: "0.625", max_drawdown: "12.3", max_drawdown_pct: "1.2345" });
  assert.deepEqual(figuresOf(s), {
    realized: { text: "-3.20", sign: "neg" }, unrealized: { text: "+9.71", sign: "pos" }, total: { text: "+6.51", sign: "pos" },
    equity: "10,006.51", quote: "USDT", trades: "7", winRate: "62.5 %", drawdown: "-12.30 (-1.23 %)",
  });
  const btc = bot("b", "0.00012345", { decimals: 8, pnl: { realized: "0", unrealized: "0.00012345", total: "0.00012345" },
    equity: "1.00012345", quote_asset: "BTC" });
  assert.equal(figuresOf(btc).total.text, "+0.00012345");
  assert.equal(figuresOf(btc).equity, "1.00012345");
  const none = figuresOf({ bot: "c", online: true, trade_count: 0 }); // never published a status
  assert.deepEqual([none.total.text, none.equity, none.trades, none.winRate, none.drawdown], [DASH, DASH, DASH, DASH, DASH]);
  assert.equal(drawdownText({ max_drawdown: "0", max_drawdown_pct: "0" }), "none");
  assert.equal(winRateText("1"), "100 %");
  assert.equal(winRateText("0.5234"), "52.3 %");
  assert.equal(winRateText("0.0000"), "0 %");
  assert.equal(winRateText(null), DASH);
  assert.equal(symbolsText({ symbols: ["BTCUSDT", "ETHUSDT"] }), "BTCUSDT, ETHUSDT");
  assert.equal(symbolsText({ symbols: [] }), DASH);
  assert.deepEqual(badgesOf({ mode: "live", market_data: "binance" }).map((b) => b.kind), ["live", "exchange"]);
  assert.deepEqual(badgesOf({ mode: "paper", market_data: "sim" }).map((b) => b.text), ["paper", "sim"]);
  assert.deepEqual(badgesOf({}), []);
  assert.equal(sparkLabel(["10000", "10012.3"], s), "equity from 10,000.00 to 10,012.30 over the last 2 points");
  assert.equal(sparkLabel([], s), "no equity history yet");
});
