// The page's formatting: money as the bot computed it, quantities, fees, percentages, times.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  DASH, change, fmtDateTime, fmtDec, fmtDuration, fmtFee, fmtMoney, fmtPct, fmtPrice, fmtQty, fmtSigned, fmtTime,
  sign, tzName,
} from "../../crypto_bot_ui/dashboard/static/dashboard/format.js";

test("money keeps the bot's digits and groups thousands", () => {
  assert.equal(fmtMoney("10234.5"), "10,234.50");
  assert.equal(fmtSigned("-0.2"), "-0.20");
  assert.equal(fmtSigned("12.34"), "+12.34");
  assert.equal(fmtSigned("0.00"), "0.00");
  assert.equal(fmtSigned(null), DASH);
  assert.equal(fmtSigned("0.00012345", 8), "+0.00012345");
});

test("prices show digits by their size, quantities without trailing zeros", () => {
  assert.equal(fmtPrice("65012.35"), "65,012.35");
  assert.equal(fmtPrice("3.45678"), "3.4568");
  assert.equal(fmtPrice("0.0123456"), "0.012346");
  assert.equal(fmtQty("0.01538400"), "0.015384");
  assert.equal(fmtQty("2"), "2");
  assert.equal(fmtDec("abc"), DASH);
});

test("fees at a sensible precision", () => {
  assert.equal(fmtFee("0.99999333", "USDT", "USDT"), "1.00 USDT");
  assert.equal(fmtFee("12.3456", "USDT", "USDT"), "12.35 USDT");
  assert.equal(fmtFee("0.99981572", "USDT", "USDT"), "1.00 USDT");
  assert.equal(fmtFee("0.00123", "USDT", "USDT"), "0.00123 USDT");
  assert.equal(fmtFee("0", "USDT", "USDT"), "0.00 USDT");
  assert.equal(fmtFee("0.00001534", "BTC", "USDT"), "0.00001534 BTC");
  assert.equal(fmtFee(undefined, "BTC", "USDT"), DASH);
});

test("percentages and changes", () => {
  assert.equal(fmtPct(1.234), "+1.23 %");
  assert.equal(fmtPct(-0.5), "-0.50 %");
  assert.equal(change("110", "100"), 10);
  assert.equal(change("1", "0"), null);
  assert.equal(change(undefined, "1"), null);
  assert.equal(sign("-1"), "neg");
  assert.equal(sign("0"), "zero");
  assert.equal(sign("x"), "none");
});

test("times carry seconds, full times the zone", () => {
  const iso = "2026-12-01T14:03:07Z";
  assert.match(fmtTime(iso), /^\d\d:03:07$/);
  const full = fmtDateTime(iso);
  assert.match(full, /^2026-12-0[12] \d\d:03:07 \S+$/);
  assert.ok(full.endsWith(" " + tzName(new Date(iso))));
  assert.equal(tzName(new Date(iso), "UTC"), "UTC");
  assert.equal(fmtTime("nonsense"), DASH);
});

test("durations for people", () => {
  assert.equal(fmtDuration(3.2), "3 s");
  assert.equal(fmtDuration(240), "4 min");
  assert.equal(fmtDuration(7500), "2 h 5 min");
  assert.equal(fmtDuration(3 * 86400), "3 d");
});
