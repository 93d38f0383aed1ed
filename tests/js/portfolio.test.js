// The `portfolio` delta applied to the page's copy of the status.
import { test } from "node:test";
import assert from "node:assert/strict";
import { applyPortfolio } from "../../crypto_bot_ui/dashboard/static/dashboard/portfolio.js";

const pos = (symbol, qty) => ({ symbol, qty, avg_entry: "100", mark_price: "101", unrealized_pnl: "1" });
const status = () => ({
  state: "running", symbols: ["BTCUSDT", "ETHUSDT"], positions: [pos("BTCUSDT", "1")],
  pnl: { realized: "0", unrealized: "1", total: "1" }, cash: "900", equity: "1001", trade_count: 1,
  stats: { win_rate: null }, risk: { daily_pnl: "1" }, marks: { decimals: 2, equity: "1001.00" },
  recent_trades: [{ trade_id: "t1" }],
});

test("a new position joins in symbol order; figures are replaced; the rest of the status stays", () => {
  const before = status();
  const after = applyPortfolio(before, {
    positions: { ETHUSDT: pos("ETHUSDT", "2") }, pnl: { realized: "0", unrealized: "3", total: "3" }, cash: "700",
    equity: "1003", trade_count: 2, stats: { win_rate: "50" }, risk: { daily_pnl: "3" },
    marks: { decimals: 2, equity: "1003.00" },
  });
  assert.deepEqual(after.positions.map((p) => p.symbol), ["BTCUSDT", "ETHUSDT"]);
  assert.equal(after.cash, "700");
  assert.equal(after.trade_count, 2);
  assert.deepEqual(after.marks, { decimals: 2, equity: "1003.00" });
  assert.deepEqual(after.recent_trades, before.recent_trades);
  assert.equal(after.state, "running");
  assert.equal(before.cash, "900", "the status it was applied to is unchanged");
  assert.equal(before.positions.length, 1);
});

test("null closes a position; a changed one is replaced in place", () => {
  const s = applyPortfolio(status(), { positions: { ETHUSDT: pos("ETHUSDT", "2") } });
  const closed = applyPortfolio(s, { positions: { BTCUSDT: null, ETHUSDT: pos("ETHUSDT", "5") } });
  assert.deepEqual(closed.positions, [pos("ETHUSDT", "5")]);
});

test("figures an older bot leaves out (null or absent) keep the status's", () => {
  const after = applyPortfolio(status(), { positions: {}, stats: null, cash: "1" });
  assert.deepEqual(after.stats, { win_rate: null });
  assert.deepEqual(after.marks, { decimals: 2, equity: "1001.00" });
  assert.equal(after.cash, "1");
});
