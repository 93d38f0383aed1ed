// Pop-ups: at most three, fast trades grouped into one, dismissible, gone after a while.
import { test } from "node:test";
import assert from "node:assert/strict";
import { FRESH_MS, GROUP_MS, MAX_TOASTS, TOAST_MS, ToastQueue, isFresh, toastText } from "../../crypto_bot_ui/dashboard/static/dashboard/toasts.js";
import { commandText, errorText, sentence, botStateText } from "../../crypto_bot_ui/dashboard/static/dashboard/texts.js";

const t = (side) => ({ side, symbol: "BTCUSDT", qty: "0.01", price: "65000" });
const line = (x) => x.side + " " + x.symbol;

test("trades that come fast are one toast with counts", () => {
  const q = new ToastQueue();
  q.trade(t("buy"), 0);
  q.trade(t("buy"), 1000);
  q.trade(t("sell"), 1000 + GROUP_MS - 1);
  assert.equal(q.items.length, 1);
  assert.equal(toastText(q.items[0], line), "3 trades: 2 buys, 1 sell");
  q.trade(t("sell"), 1000 + 2 * GROUP_MS);
  assert.equal(q.items.length, 2);
  assert.equal(toastText(q.items[1], line), "sell BTCUSDT");
});

test("a burst keeps counts, not every trade; replayed trades are not news", () => {
  const q = new ToastQueue();
  for (let i = 0; i < 1000; i++) q.trade(t(i % 4 ? "buy" : "sell"), i);
  assert.equal(q.items.length, 1);
  assert.equal(toastText(q.items[0], line), "1000 trades: 750 buys, 250 sells");
  assert.equal(Object.keys(q.items[0]).includes("trades"), false);
  const at = Date.parse("2026-01-01T00:00:00Z");
  assert.equal(isFresh({ executed_at: "2026-01-01T00:00:00Z" }, at + FRESH_MS), true);
  assert.equal(isFresh({ executed_at: "2026-01-01T00:00:00Z" }, at + FRESH_MS + 1), false);
  assert.equal(isFresh({ executed_at: "2026-01-01T00:00:10Z" }, at), true); // a clock a little behind
});

test("never more than three; dismiss and expiry remove them", () => {
  const q = new ToastQueue();
  // Trades far enough apart to each get their own toast.
  for (let i = 0; i < 5; i++) q.trade({ side: "buy", symbol: "S" + i }, i * GROUP_MS);
  assert.equal(q.items.length, MAX_TOASTS);
  assert.deepEqual(q.items.map((x) => toastText(x, line)), ["buy S2", "buy S3", "buy S4"]);
  assert.ok(q.dismiss(q.items[0].id));
  assert.equal(q.items.length, 2);
  assert.ok(!q.expire(3 * GROUP_MS + TOAST_MS - 1));
  assert.ok(q.expire(4 * GROUP_MS + TOAST_MS));
  assert.equal(q.items.length, 0);
});

test("command answers in words", () => {
  assert.equal(commandText({ command: "stop_bot", ok: true }), "Bot stopped.");
  assert.equal(commandText({ command: "stop_bot", ok: true, detail: "sold 0.01 BTCUSDT" }), "Bot stopped. Sold 0.01 BTCUSDT.");
  assert.equal(commandText({ command: "start_bot", ok: false, error: "forbidden" }),
    "Start failed: you are a viewer; ask an admin to make you an operator.");
  assert.equal(errorText("something_new"), "something new");
  assert.equal(sentence("done."), "Done.");
  assert.equal(botStateText("running", false), "silent");
  assert.equal(botStateText("stopped", true), "stopped");
});
