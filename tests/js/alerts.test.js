// The user's alerts on the page: the form as the API's body (hints before sending), levels as exact
// strings, an alert and a firing in words, API errors as sentences, and alert pop-ups.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  CHANNELS, KINDS, alertPayload, alertToast, apiProblem, channelsText, conditionText, firedAt, firingRow, fmtExact,
  kindOf, levelHint, levelString, levelText, windowText,
} from "../../crypto_bot_ui/dashboard/static/dashboard/alerts.js";
import { ALERT_TOAST_MS, MAX_TOASTS, TOAST_MS, ToastQueue, toastText } from "../../crypto_bot_ui/dashboard/static/dashboard/toasts.js";

const form = (over) => Object.assign({ kind: "price_above", symbol: "BTCUSDT", level: "65000", window: "15",
  channels: ["page"], note: "" }, over);

test("the kinds and channels are the server's, each kind saying what it takes", () => {
  assert.deepEqual(KINDS.map((k) => k.kind), ["price_above", "price_below", "price_move", "daily_pnl_below", "drawdown"]);
  assert.deepEqual(CHANNELS, ["page", "telegram", "apprise", "webhook"]);
  assert.deepEqual(KINDS.filter((k) => k.symbol).map((k) => k.kind), ["price_above", "price_below", "price_move"]);
  assert.deepEqual(KINDS.filter((k) => k.window).map((k) => k.kind), ["price_move"]);
  assert.equal(kindOf("nope"), null);
  assert.deepEqual(levelHint("price_move"), { label: "Move %", placeholder: "e.g. 2.5" });
  assert.equal(levelHint("daily_pnl_below").label, "Loss");
});

test("a level is taken as an exact decimal string, never through a float", () => {
  assert.equal(levelString(" 65000.5 "), "65000.5");
  assert.equal(levelString("65,000.25"), "65000.25"); // grouping commas
  assert.equal(levelString("1,234,567"), "1234567");
  assert.equal(levelString(".5"), "0.5");
  assert.equal(levelString("0.1000000000000000055511151231257827"), "0.1000000000000000055511151231257827");
  for (const bad of ["", "abc", "0,5", "1e3", "-5", "1.2.3", "65,00", null, undefined]) assert.equal(levelString(bad), null, String(bad));
});

test("the form becomes the API's body: only what the kind takes", () => {
  assert.deepEqual(alertPayload(form({ level: "65,000.5", note: "  sell  " }), "main"), {
    body: { bot_id: "main", kind: "price_above", level: "65000.5", symbol: "BTCUSDT", channels: ["page"], note: "sell" } });
  assert.deepEqual(alertPayload(form({ kind: "price_move", level: "0.001", window: " 1 ", channels: ["webhook", "page"] }), "eth"), {
    body: { bot_id: "eth", kind: "price_move", level: "0.001", symbol: "BTCUSDT", window_minutes: 1, channels: ["page", "webhook"] } });
  assert.deepEqual(alertPayload(form({ kind: "daily_pnl_below", level: "100" }), "main"), {
    body: { bot_id: "main", kind: "daily_pnl_below", level: "100", channels: ["page"] } }); // no symbol, no window
  assert.deepEqual(alertPayload(form({ kind: "drawdown", level: "100" }), "main").body.level, "100");
});

test("a form the server would refuse gets a hint first, naming the field", () => {
  const hint = (over) => alertPayload(form(over), "main");
  assert.deepEqual(hint({ kind: "" }), { problem: "Choose what the alert watches.", field: "kind" });
  assert.equal(hint({ symbol: "" }).field, "symbol");
  assert.deepEqual(hint({ level: "" }), { problem: "Give the level as a number, e.g. 65000.", field: "level" });
  assert.deepEqual(hint({ level: "2,5" }), { problem: "Use a dot for decimals, e.g. 2.5.", field: "level" });
  assert.deepEqual(hint({ level: "0.000" }), { problem: "The level must be above 0.", field: "level" });
  assert.deepEqual(hint({ level: "-3" }), { problem: "The level must be above 0.", field: "level" });
  assert.match(hint({ kind: "daily_pnl_below", level: "-100" }).problem, /positive amount/);
  assert.deepEqual(hint({ kind: "drawdown", level: "100.01" }), { problem: "The percentage must be at most 100.", field: "level" });
  assert.equal(hint({ kind: "drawdown", level: "0100.00" }).body.level, "0100.00"); // exactly 100 is fine
  assert.equal(hint({ kind: "price_move", level: "150" }).field, "level");
  assert.equal(hint({ level: "150" }).body.level, "150"); // a price may be anything above 0
  for (const window of ["", "0", "1441", "2.5", "abc"]) {
    assert.deepEqual(hint({ kind: "price_move", level: "1", window }),
      { problem: "A price move needs a window of 1 to 1440 minutes.", field: "window" }, window);
  }
  assert.deepEqual(hint({ channels: [] }), { problem: "Choose at least one channel.", field: "channels" });
  assert.deepEqual(hint({ channels: ["sms"] }).field, "channels");
  assert.equal(hint({ note: "x".repeat(201) }).field, "note");
});

test("an alert in words: its level as its kind means it, exact digits", () => {
  const a = (over) => Object.assign({ kind: "price_above", symbol: "BTCUSDT", level: "65000.5", window_minutes: null }, over);
  assert.equal(fmtExact("1234567.000000001"), "1,234,567.000000001");
  assert.equal(fmtExact("-100"), "-100");
  assert.equal(fmtExact("junk"), "—");
  assert.equal(levelText(a()), "65,000.5");
  assert.equal(levelText(a({ kind: "price_move", level: "2.5" })), "2.5 %");
  assert.equal(levelText(a({ kind: "daily_pnl_below", level: "100" })), "-100");
  assert.equal(windowText(a({ window_minutes: 15 })), "15 min");
  assert.equal(windowText(a()), "—");
  assert.equal(channelsText(["page", "telegram"]), "Page, Telegram");
  assert.equal(channelsText([]), "—");
  assert.equal(conditionText(a()), "BTCUSDT at or above 65,000.5");
  assert.equal(conditionText(a({ kind: "price_below", level: "1800" })), "BTCUSDT at or below 1,800");
  assert.equal(conditionText(a({ kind: "price_move", level: "0.5", window_minutes: 5 })), "BTCUSDT moves 0.5 % within 5 min");
  assert.equal(conditionText(a({ kind: "daily_pnl_below", symbol: "", level: "250" })), "day's P&L at -250 or below");
  assert.equal(conditionText(a({ kind: "drawdown", symbol: "", level: "10" })), "drawdown of 10 % or more");
});

test("a firing as a row: when in the browser's zone, its value exact, its text", () => {
  const now = new Date(2026, 11, 1, 18, 0, 0);
  const today = new Date(2026, 11, 1, 14, 3, 7);
  const before = new Date(2026, 10, 30, 9, 5, 0);
  assert.equal(firedAt(today.toISOString(), now), "14:03:07");
  assert.equal(firedAt(before.toISOString(), now), "Nov 30 09:05");
  assert.equal(firedAt("junk", now), "—");
  assert.deepEqual(firingRow({ id: 3, fired_at: today.toISOString(), value: "65012.3", text: "main BTCUSDT: moved" }, now),
    { id: 3, when: "14:03:07", value: "65,012.3", text: "main BTCUSDT: moved" });
});

test("an API refusal is shown as the server says it, as a sentence", () => {
  assert.equal(apiProblem(400, { code: "invalid", message: "The percentage must be above 0 and at most 100." }),
    "The percentage must be above 0 and at most 100.");
  assert.equal(apiProblem(400, { code: "invalid", message: "level: give it as a decimal string" }),
    "Level: give it as a decimal string.");
  assert.equal(apiProblem(403, { code: "permission_denied", message: "CSRF Failed: CSRF token missing." }),
    "CSRF Failed: CSRF token missing.");
  assert.equal(apiProblem(401, null), "Your session ended: log in again.");
  assert.equal(apiProblem(503, {}), "The bot's data cannot be reached right now; try again.");
  assert.equal(apiProblem(500, null), "The server answered 500; try again.");
  assert.equal(apiProblem(0, null), "The server cannot be reached; try again.");
});

test("a fired alert pops up on its own, longer, and is not pushed out by trades", () => {
  const env = { v: 1, type: "alert_fired", bot: "eth", seq: null,
    data: { alert_id: 7, symbol: "ETHUSDT", kind: "price_below", text: "eth ETHUSDT: crossed below 3,000 at 2,999.5",
      value: "2999.5", fired_at: "2026-12-01T14:03:07Z" } };
  const a = alertToast(env);
  assert.deepEqual(a, { bot: "eth", alertId: 7, text: "eth ETHUSDT: crossed below 3,000 at 2,999.5", at: "2026-12-01T14:03:07Z" });
  assert.equal(alertToast({ bot: "main", data: null }).text, "An alert fired.");

  const q = new ToastQueue();
  const line = (t) => t.side + " " + t.symbol;
  q.trade({ side: "buy", symbol: "BTCUSDT" }, 0);
  q.alert(a, 10);
  q.trade({ side: "sell", symbol: "BTCUSDT" }, 20); // grouped into the trade toast, not the alert
  assert.equal(q.items.length, 2);
  assert.equal(toastText(q.items[0], line), "2 trades: 1 buy, 1 sell");
  assert.equal(toastText(q.items[1], line), a.text);
  assert.equal(q.items[1].until, 10 + ALERT_TOAST_MS);
  assert.ok(ALERT_TOAST_MS > TOAST_MS);
  // More than fit: trade toasts go first, the alerts stay.
  q.alert({ ...a, text: "second" }, 30);
  q.trade({ side: "buy", symbol: "X" }, 30 + 10_000);
  assert.equal(q.items.length, MAX_TOASTS);
  assert.deepEqual(q.items.map((x) => toastText(x, line)), [a.text, "second", "buy X"]);
  q.alert({ ...a, text: "third" }, 40_000);
  assert.deepEqual(q.items.map((x) => toastText(x, line)), [a.text, "second", "third"]);
  q.alert({ ...a, text: "fourth" }, 40_001); // all alerts: the oldest goes
  assert.deepEqual(q.items.map((x) => toastText(x, line)), ["second", "third", "fourth"]);
  q.trade({ side: "buy", symbol: "Y" }, 50_000); // three alerts showing: a trade waits for none of them
  assert.deepEqual(q.items.map((x) => toastText(x, line)), ["second", "third", "fourth"]);
  // Trade pop-ups switched off (or another bot shown): the alerts stay.
  q.dismiss(q.items[0].id);
  q.trade({ side: "buy", symbol: "Z" }, 60_000);
  assert.equal(q.items.length, 3);
  assert.ok(q.keepAlerts());
  assert.ok(q.items.every((x) => x.alert));
  assert.ok(!q.keepAlerts());
});
