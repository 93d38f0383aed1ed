// One page per bot: its paths, the REST URLs (every one names the bot), which frames belong to it,
// the switcher's list, the role from /api/bots, and the state a switch starts over from.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  OVERVIEW_PATH, apiUrl, belongsTo, botFromPath, botPath, botSocketPath, botsFromApi, canControlOf, freshBotState,
  isBotId, switcherIds, withBot,
} from "../../crypto_bot_ui/dashboard/static/dashboard/bots.js";

test("bot ids follow the contract's pattern", () => {
  for (const id of ["main", "eth", "bot_2", "A-b-9", "x".repeat(32)]) assert.ok(isBotId(id), id);
  for (const id of ["", "x".repeat(33), "a b", "a/b", "ü", null, undefined, 7, "../x"]) assert.ok(!isBotId(id), String(id));
});

test("a bot's page and socket, and the bot a path names", () => {
  assert.equal(botPath("eth"), "/bots/eth/");
  assert.equal(botSocketPath("eth"), "/ws/bots/eth/");
  assert.equal(OVERVIEW_PATH, "/?all");
  assert.equal(botFromPath("/bots/eth/"), "eth");
  assert.equal(botFromPath("/bots/eth"), "eth");
  assert.equal(botFromPath(botPath("bot_2")), "bot_2");
  for (const p of ["/", "/bots/", "/bots/a b/", "/bots/eth/trades/", "/api/bots", "/bots/%E0%A4%A/", "", null]) {
    assert.equal(botFromPath(p), null, String(p));
  }
});

test("every REST URL names the bot first, then its parameters, encoded", () => {
  assert.equal(apiUrl("/api/candles", "eth", { symbol: "ETHUSDT", timeframe: 300 }),
    "/api/candles?bot=eth&symbol=ETHUSDT&timeframe=300");
  assert.equal(apiUrl("/api/equity", "main", { limit: 1000 }), "/api/equity?bot=main&limit=1000");
  assert.equal(apiUrl("/api/trades.csv", "b-1"), "/api/trades.csv?bot=b-1");
  assert.equal(apiUrl("/api/trades", "eth", { since: "2026-01-01T00:00:00.000Z", symbol: null, side: undefined }),
    "/api/trades?bot=eth&since=2026-01-01T00%3A00%3A00.000Z");
  for (const path of ["/api/candles", "/api/trades", "/api/equity", "/api/dashboard", "/api/positions"]) {
    const u = new URL(apiUrl(path, "eth", { symbol: "BTCUSDT" }), "http://x");
    assert.equal(u.searchParams.get("bot"), "eth", path);
  }
});

test("a next-page link the API returns stays about the page's bot", () => {
  assert.equal(withBot("/api/trades?page=2&bot=eth", "eth"), "/api/trades?page=2&bot=eth");
  assert.equal(withBot("/api/trades?page=2", "eth"), "/api/trades?page=2&bot=eth");
  assert.equal(withBot("/api/trades?bot=main&page=2", "eth"), "/api/trades?bot=eth&page=2");
  assert.equal(withBot("http://127.0.0.1:8000/api/trades?page=3", "eth"), "http://127.0.0.1:8000/api/trades?page=3&bot=eth");
});

test("another bot's frames are dropped; frames about the socket itself are kept", () => {
  const env = (type, bot) => ({ v: 1, type, bot, seq: 1, data: {} });
  for (const type of ["status", "price_update", "trade_executed", "status_change", "bot_control", "bot_presence",
    "equity_snapshot", "order_skipped", "bot_summary"]) {
    assert.ok(belongsTo(env(type, "eth"), "eth"), type);
    assert.ok(!belongsTo(env(type, "main"), "eth"), type);
    assert.ok(!belongsTo(env(type, undefined), "eth"), type);
  }
  for (const type of ["heartbeat", "error", "bot_list", "alert_fired"]) assert.ok(belongsTo(env(type, "main"), "eth"), type);
});

test("the switcher lists the known bots, sorted, always with the page's own", () => {
  assert.deepEqual(switcherIds(["main", "eth", "btc"], "eth"), ["btc", "eth", "main"]);
  assert.deepEqual(switcherIds(["main"], "eth"), ["eth", "main"]); // a retired bot still shown while on its page
  assert.deepEqual(switcherIds(["main", "main", "bad id", 3], "main"), ["main"]);
  assert.deepEqual(switcherIds(null, "main"), ["main"]);
});

test("the role for a bot comes from /api/bots; a bot it does not list leaves the role as it was", () => {
  const body = [
    { id: "main", can_control: true, online: true }, { id: "eth", can_control: false }, { id: "no good", can_control: true },
  ];
  const bots = botsFromApi(body);
  assert.deepEqual(bots.map((b) => b.id), ["main", "eth"]);
  assert.equal(canControlOf(bots, "main"), true);
  assert.equal(canControlOf(bots, "eth"), false);
  assert.equal(canControlOf(bots, "gone"), null);
  assert.deepEqual(botsFromApi({ results: body }).map((b) => b.id), ["main", "eth"]);
  assert.deepEqual(botsFromApi({ code: "unavailable" }), []);
  assert.deepEqual(botsFromApi(null), []);
});

test("a switch starts every per-bot figure over, with nothing shared with the old bot", () => {
  // The page's state while showing bot A, with everything a bot fills in.
  const S = Object.assign(freshBotState(), { conn: "live", bot: "a", canControl: true, lastFrameAt: 5 });
  Object.assign(S, {
    botState: "running", botReason: "started", botOnline: true, snap: { state: "running" }, marks: { total: "1.00" },
    tradeCount: 4, symbols: ["BTCUSDT"], market: { BTCUSDT: {} }, trades: [{ trade_id: "t1" }], pending: { id: "c-1" }, lastSeq: 77,
  });
  S.prices.set("BTCUSDT", "65000");
  S.priceTimes.set("BTCUSDT", 1);
  S.dirs.set("BTCUSDT", "up");
  S.positions.set("BTCUSDT", { symbol: "BTCUSDT" });
  S.seen.add("t1");
  const old = { prices: S.prices, positions: S.positions, seen: S.seen, trades: S.trades };

  Object.assign(S, freshBotState(), { bot: "b" });
  assert.deepEqual(
    Object.fromEntries(Object.keys(freshBotState()).map((k) => [k, S[k] instanceof Map || S[k] instanceof Set ? S[k].size : S[k]])),
    { botState: null, botReason: null, botOnline: null, snap: null, marks: null, tradeCount: null, symbols: [], prices: 0,
      priceTimes: 0, dirs: 0, positions: 0, market: {}, trades: [], seen: 0, pending: null, lastSeq: null });
  assert.equal(S.bot, "b");
  assert.equal(S.conn, "live"); // the link's own state is the socket's business
  // The old bot's collections were replaced, not emptied in place, and are left as they were.
  assert.notEqual(S.prices, old.prices);
  assert.notEqual(S.seen, old.seen);
  assert.equal(old.prices.size, 1);
  assert.equal(old.trades.length, 1);
  // Two fresh states share nothing either.
  const x = freshBotState();
  const y = freshBotState();
  x.prices.set("A", "1");
  x.trades.push(1);
  x.symbols.push("A");
  assert.equal(y.prices.size, 0);
  assert.equal(y.trades.length, 0);
  assert.equal(y.symbols.length, 0);
});
