// The analytics page's pure logic: ranges and queries, labels, chart data.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  addDays, axisText, barData, choiceOf, cumulativeData, drawdownText, equityData, holdingLabel, isDate, keyText, pageQuery,
  periodLabel, queryOf, rangeOf, shares, stepText, tileTexts, todayIn, urlOf,
} from "../../crypto_bot_ui/dashboard/static/dashboard/analytics/model.js";

test("dates are calendar arithmetic, across months, years and leap days", () => {
  assert.equal(addDays("2024-02-28", 1), "2024-02-29");
  assert.equal(addDays("2026-12-31", 1), "2027-01-01");
  assert.equal(addDays("2026-03-01", -1), "2026-02-28");
  assert.ok(isDate("2026-11-02") && !isDate("2026-13-40") && !isDate("yesterday") && !isDate(null));
});

test("today is the zone's date, not the machine's", () => {
  const at = new Date("2026-12-01T23:30:00Z");
  assert.equal(todayIn("UTC", at), "2026-12-01");
  assert.equal(todayIn("Europe/Berlin", at), "2026-12-02");
  assert.equal(todayIn("America/New_York", at), "2026-12-01");
});

test("a preset's range ends today, inclusive; the query's until is the next day", () => {
  assert.deepEqual(rangeOf("7d", "2026-12-02"), { from: "2026-11-26", to: "2026-12-02" });
  assert.deepEqual(rangeOf("ytd", "2026-12-02"), { from: "2026-01-01", to: "2026-12-02" });
  assert.deepEqual(rangeOf("all", "2026-12-02"), { from: null, to: null });
  assert.deepEqual(queryOf({ bot: "", period: "week", from: "2026-11-26", to: "2026-12-02", tz: "Europe/Berlin" }),
    { tz: "Europe/Berlin", period: "week", since: "2026-11-26", until: "2026-12-03" });
  assert.deepEqual(queryOf({ bot: "alpha", period: null, from: null, to: null, tz: "UTC" }), { tz: "UTC", bot: "alpha" });
});

test("the page's URL keeps the choice and reads it back", () => {
  const custom = { bot: "alpha", period: "month", preset: "custom", from: "2026-01-01", to: "2026-03-31" };
  assert.equal(pageQuery(custom), "?bot=alpha&period=month&from=2026-01-01&to=2026-03-31");
  assert.deepEqual(choiceOf(pageQuery(custom)), custom);
  assert.equal(pageQuery({ bot: "", period: "day", preset: "30d" }), "");
  assert.deepEqual(choiceOf("?range=all&period=year"), { bot: "", period: "day", preset: "all", from: null, to: null });
  assert.equal(urlOf("/api/curve", { tz: "UTC", bot: "", since: null }), "/api/curve?tz=UTC");
});

test("periods read as people say them, from the local date in period_start", () => {
  assert.equal(periodLabel("2026-03-29T00:00:00+01:00", "day"), "Sun 29 Mar 2026");
  assert.equal(periodLabel("2026-03-30T00:00:00+02:00", "week"), "Week of 30 Mar 2026");
  assert.equal(periodLabel("2026-03-01T00:00:00-05:00", "month"), "Mar 2026");
});

test("bars are coloured by sign and placed on the period's local date", () => {
  const bars = barData([{ period_start: "2026-03-29T00:00:00+01:00", realized_pnl: "-4.5" },
    { period_start: "2026-03-30T00:00:00+02:00", realized_pnl: "0" }]);
  assert.deepEqual(bars.map((b) => [b.time, b.value]), [["2026-03-29", -4.5], ["2026-03-30", 0]]);
  assert.notEqual(bars[0].color, bars[1].color);
  assert.deepEqual(cumulativeData([{ period_start: "2026-03-29T00:00:00+01:00", realized_pnl: "-4.5", cumulative_pnl: "-4.5" },
    { period_start: "2026-03-30T00:00:00+02:00", realized_pnl: "2", cumulative_pnl: "-2.5" }]),
  [{ time: "2026-03-29", value: -4.5 }, { time: "2026-03-30", value: -2.5 }]); // the server's running sum
});

test("the drawdown is drawn below zero, never as -0", () => {
  const { equity, drawdown } = equityData([{ at: "2026-11-02T09:00:00Z", equity: "1000", drawdown: "0", drawdown_pct: "0" },
    { at: "2026-11-02T09:10:00Z", equity: "900", drawdown: "100", drawdown_pct: "10" }]);
  assert.deepEqual(equity, [{ time: 1793610000, value: 1000 }, { time: 1793610600, value: 900 }]);
  assert.ok(Object.is(drawdown[0].value, 0) && drawdown[1].value === -10);
  assert.equal(axisText(-0.001), "0.00");
  assert.equal(axisText(-1234.5), "-1,234.50");
});

test("the deepest drawdown in words, in the chosen zone", () => {
  const dd = { amount: "210", pct: "13.125", peak_at: "2026-11-02T09:10:00Z", trough_at: "2026-11-02T09:25:00Z",
    recovered_at: null };
  assert.equal(drawdownText(dd, 2, "Europe/Berlin"),
    "-210.00 (-13.13 %), from 2 Nov 2026, 10:10 to 2 Nov 2026, 10:25; not recovered yet");
  assert.match(drawdownText(Object.assign({}, dd, { pct: "0.003" }), 2, "UTC"), /under 0\.01 %/);
  assert.equal(drawdownText(null, 2, "UTC"), "none in this range");
});

test("summary tiles", () => {
  const t = tileTexts({ total: "22.5", fees: "3", trades: 8, closed: 5, wins: 2, win_rate: "0.4", profit_factor: null,
    gross_profit: "42.5", expectancy: "4.5" });
  assert.deepEqual([t.total, t.totalSign, t.trades, t.winRate, t.profitFactor, t.expectancy],
    ["+22.50", "pos", "8 (5 closed)", "40.0 % (2/5)", "no losses", "+4.50"]);
  assert.equal(tileTexts(null), null);
});

test("bins, shares and keys as people read them", () => {
  assert.equal(holdingLabel(0, 60), "< 1 min");
  assert.equal(holdingLabel(900, 3600), "15 min – 1 h");
  assert.equal(holdingLabel(604800, null), "≥ 7 days");
  assert.deepEqual(shares([{ name: "cash", value: "750" }, { name: "BTCUSDT", value: "250" }], "1000").map((s) => s.share),
    ["75.0 %", "25.0 %"]);
  assert.equal(shares([{ name: "cash", value: "0" }], "0")[0].share, "—");
  assert.equal(keyText(""), "(not reported)");
  assert.deepEqual([stepText(10), stepText(600), stepText(3600), stepText(86400)], ["10 s", "10 min", "1 h", "1 day"]);
});
