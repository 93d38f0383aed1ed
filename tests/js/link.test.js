// Connection bookkeeping: backoff, resume answers, staleness, the seq to resume from, batched frames.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  STALE_AFTER_MS, backoffDelay, commandId, envelopes, nextSeq, resumeAnswer, shownState,
} from "../../crypto_bot_ui/dashboard/static/dashboard/link.js";

test("backoff is jittered, floored and capped", () => {
  assert.equal(backoffDelay(0, () => 0), 250);
  assert.equal(backoffDelay(3, () => 0.5), 4000);
  assert.equal(backoffDelay(40, () => 0.999999), 29999);
});

test("command ids are 128 random bits, as the contract's id pattern allows", () => {
  const ids = new Set(Array.from({ length: 1000 }, () => commandId()));
  assert.equal(ids.size, 1000);
  for (const id of ids) assert.match(id, /^c-[0-9a-f]{32}$/);
  const zeros = { getRandomValues: (a) => a.fill(0) };
  assert.equal(commandId(zeros), "c-" + "0".repeat(32)); // the source of randomness is the only input
});

test("only the answer to our resume ends the resume; an error frame refuses it", () => {
  const data = { id: "9f1c", ref: "r1", command: "resume", ok: true, recovered: true };
  const answer = JSON.stringify({ v: 1, type: "bot_control", data });
  assert.deepEqual(resumeAnswer(answer, "r1"), data);
  assert.equal(resumeAnswer(answer, "r2"), null);
  assert.equal(resumeAnswer(JSON.stringify({ v: 1, type: "price_update", data: {} }), "r1"), null);
  assert.deepEqual(resumeAnswer(JSON.stringify({ v: 1, type: "error", data: {} }), "r1"), { refused: true });
  assert.equal(resumeAnswer("{broken", "r1"), null);
});

test("a live socket that went quiet is shown stale; other states as they are", () => {
  assert.equal(shownState("live", 1000, 1000 + STALE_AFTER_MS - 1), "live");
  assert.equal(shownState("live", 1000, 1000 + STALE_AFTER_MS), "stale");
  assert.equal(shownState("reconnecting", 0, 1e9), "reconnecting");
});

test("bot events move the resume point, server frames do not", () => {
  assert.equal(nextSeq(5, { seq: 6 }), 6);
  assert.equal(nextSeq(5, { seq: null, type: "heartbeat" }), 5);
  assert.equal(nextSeq(null, { type: "error" }), null);
});

test("frames: one envelope or a batch, junk dropped", () => {
  assert.equal(envelopes(JSON.stringify({ v: 1, type: "status", seq: 3 })).length, 1);
  const batch = JSON.stringify([{ v: 1, type: "price_update", seq: 4 }, { v: 2, type: "x" }, null, { v: 1, type: "trade_executed", seq: 5 }]);
  assert.deepEqual(envelopes(batch).map((e) => e.seq), [4, 5]);
  assert.deepEqual(envelopes("not json"), []);
});
