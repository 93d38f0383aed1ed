// The connection's bookkeeping without a socket: backoff, command ids, the resume answer, how fresh
// the link is, and the seq to resume from. Pure (no DOM); node --test covers it.

/** No frame (event or heartbeat) for this long: the link is shown as stale. The server sends a
 *  heartbeat on every idle socket each second, so silence means a stuck link, not a quiet market. */
export const STALE_AFTER_MS = 3000;
/** Stale for this long: the socket is given up and a new one opened (a half-open TCP link never
 *  closes by itself). */
export const DEAD_AFTER_MS = 10000;
/** A socket that has not opened after this long is abandoned and retried. */
export const OPEN_TIMEOUT_MS = 10000;

/** Full jitter: uniform in [0, min(cap, base * 2^attempt)], at least 250 ms. */
export const backoffDelay = (attempt, rand = Math.random, base = 1000, cap = 30000) =>
  Math.max(250, Math.floor(rand() * Math.min(cap, base * 2 ** Math.min(attempt, 16))));

/** A command's reference: 128 random bits in hex, so no other page (or user) can share or guess it.
 *  getRandomValues, not randomUUID: the latter exists only on HTTPS or localhost. */
export const commandId = (random = globalThis.crypto) =>
  "c-" + Array.from(random.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");

/** The data of the bot_control answering resume `id`, {refused: true} for an error frame, or null
 *  for any other frame (dropped while resuming). */
export function resumeAnswer(raw, id) {
  try {
    const env = JSON.parse(raw);
    if (env && env.type === "error") return { refused: true };
    const d = env && env.type === "bot_control" ? env.data : null;
    return d && d.ref === id && d.command === "resume" ? d : null;
  } catch (e) {
    return null;
  }
}

/** What the connection pill shows: the socket's state, or "stale" when a live socket went quiet. */
export function shownState(conn, lastFrameAt, now) {
  if (conn !== "live") return conn;
  return now - lastFrameAt >= STALE_AFTER_MS ? "stale" : "live";
}

/** The seq to resume from after `env`: bot events advance it, server frames (seq null) do not. */
export const nextSeq = (lastSeq, env) => (env && Number.isInteger(env.seq) ? env.seq : lastSeq);

/** A frame's envelopes: one object, or an array the server batched (in order); junk is dropped. */
export function envelopes(raw) {
  let decoded = null;
  try {
    decoded = JSON.parse(raw);
  } catch (e) {
    return [];
  }
  const list = Array.isArray(decoded) ? decoded : [decoded];
  return list.filter((env) => env && typeof env.type === "string" && env.v === 1);
}
