// Candle aggregation against an independent computation from raw prices, live folding, and trade
// markers grouped per candle.
import { test } from "node:test";
import assert from "node:assert/strict";
import { aggregate, bucket, fold, groupTrades, markerOf, TIMEFRAMES } from "../../crypto_bot_ui/dashboard/static/dashboard/candles.js";

// A seeded walk of one price a second for 3 days (no Math.random: reproducible).
function walk(seconds, seed = 7) {
  let x = seed;
  const rand = () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648);
  const start = Date.UTC(2026, 0, 1, 0, 0, 17) / 1000; // not aligned to any timeframe
  const prices = [];
  let p = 65000;
  for (let i = 0; i < seconds; i++) {
    p = Math.round((p * (1 + (rand() - 0.5) * 0.001)) * 100) / 100;
    prices.push({ t: start + i, p });
  }
  return prices;
}

// The reference: candles straight from the prices, bucketed by `tf` (no base candles involved).
function direct(prices, tf) {
  const m = new Map();
  for (const { t, p } of prices) {
    const b = Math.floor(t / tf) * tf;
    const c = m.get(b);
    if (!c) m.set(b, { time: b, open: p, high: p, low: p, close: p });
    else Object.assign(c, { high: Math.max(c.high, p), low: Math.min(c.low, p), close: p });
  }
  return Array.from(m.values());
}

const asStrings = (cs) => cs.map((c) => ({ time: c.time, open: String(c.open), high: String(c.high), low: String(c.low), close: String(c.close) }));

test("every timeframe aggregated from 1-minute and 1-hour base candles equals candles from the raw prices", () => {
  const prices = walk(3 * 86400);
  const base60 = asStrings(direct(prices, 60));
  const base3600 = asStrings(direct(prices, 3600));
  for (const { seconds } of TIMEFRAMES) {
    const base = seconds < 3600 ? base60 : base3600;
    assert.deepEqual(aggregate(base, seconds), direct(prices, seconds), "timeframe " + seconds);
  }
});

test("an out-of-order base candle does not rewrite history", () => {
  const base = [{ time: 120, open: "1", high: "2", low: "1", close: "2" }, { time: 60, open: "9", high: "9", low: "0", close: "9" }];
  assert.deepEqual(aggregate(base, 60), [{ time: 120, open: 1, high: 2, low: 1, close: 2 }]);
});

test("live prices fold into the current candle of the timeframe", () => {
  let last = { time: 300, open: 10, high: 11, low: 9, close: 10 };
  last = fold(last, 12, 599, 300);
  assert.deepEqual(last, { time: 300, open: 10, high: 12, low: 9, close: 12 });
  assert.deepEqual(fold(last, 8, 600, 300), { time: 600, open: 8, high: 8, low: 8, close: 8 });
  assert.equal(fold(last, 8, 299, 300), null);
  assert.equal(bucket(86399, 86400), 0);
});

const trade = (id, side, at, symbol = "BTCUSDT") => ({ trade_id: id, side, symbol, executed_at: at, qty: "0.01", price: "65000" });

test("trades are grouped per candle with counts, other symbols and duplicates left out", () => {
  const trades = [
    trade("a", "buy", "2026-01-01T00:00:05Z"), trade("b", "buy", "2026-01-01T00:00:50Z"),
    trade("c", "sell", "2026-01-01T00:00:59Z"), trade("c", "sell", "2026-01-01T00:00:59Z"),
    trade("d", "sell", "2026-01-01T00:01:10Z"), trade("e", "buy", "2026-01-01T00:00:30Z", "ETHUSDT"),
  ];
  const t0 = Date.UTC(2026, 0, 1) / 1000;
  const groups = groupTrades(trades, "BTCUSDT", 60);
  assert.deepEqual(groups.map((g) => [g.time - t0, g.buys, g.sells]), [[0, 2, 1], [60, 0, 1]]);
  assert.deepEqual(groups[0].trades.map((t) => t.trade_id), ["c", "b", "a"]); // newest first
  assert.deepEqual(groupTrades(trades, "BTCUSDT", 300).map((g) => [g.buys, g.sells]), [[2, 2]]);
  assert.equal(groupTrades(trades, "BTCUSDT", 60, t0 + 60).length, 1); // the visible range only
});

test("a marker says what its candle holds", () => {
  assert.equal(markerOf({ time: 0, buys: 3, sells: 2 }).text, "3B 2S");
  assert.equal(markerOf({ time: 0, buys: 1, sells: 0 }).text, "B");
  assert.equal(markerOf({ time: 0, buys: 1, sells: 0 }).position, "belowBar");
  assert.equal(markerOf({ time: 0, buys: 0, sells: 2 }).text, "2S");
  assert.equal(markerOf({ time: 0, buys: 0, sells: 2 }).position, "aboveBar");
});
