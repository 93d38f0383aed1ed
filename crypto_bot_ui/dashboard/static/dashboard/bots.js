// Which bot a page shows, and everything that names it: its page, its socket, the REST calls (every
// one takes bot=), which frames belong to it, the switcher's list, and the per-bot state a switch
// starts over from. Pure (no DOM); node --test covers it.

/** A bot id as the contract allows it (bot_api.models.BOT_ID_PATTERN). */
export const BOT_ID = /^[A-Za-z0-9_-]{1,32}$/;
export const isBotId = (id) => typeof id === "string" && BOT_ID.test(id);

/** The overview, listing every bot even when there is only one. */
export const OVERVIEW_PATH = "/?all";

/** A bot's dashboard page and its socket. */
export const botPath = (id) => "/bots/" + encodeURIComponent(id) + "/";
export const botSocketPath = (id) => "/ws/bots/" + encodeURIComponent(id) + "/";

/** The bot a page path names ("/bots/eth/" → "eth"), or null. */
export function botFromPath(pathname) {
  const m = /^\/bots\/([^/]+)\/?$/.exec(pathname || "");
  if (!m) return null;
  let id;
  try {
    id = decodeURIComponent(m[1]);
  } catch (e) {
    return null;
  }
  return isBotId(id) ? id : null;
}

/** A REST URL about `bot`: `path?bot=<id>&…`, the params in their order, null/undefined ones left out. */
export function apiUrl(path, bot, params = {}) {
  const q = new URLSearchParams();
  q.set("bot", bot);
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined) q.append(k, String(v));
  return path + "?" + q.toString();
}

const BASE = "http://base.invalid";
/** `url` (a `next` link the API returned, absolute or not) about `bot` for sure: its bot= is set to it. */
export function withBot(url, bot) {
  const u = new URL(url, BASE + "/");
  u.searchParams.set("bot", bot);
  return u.origin === BASE ? u.pathname + u.search : u.href;
}

/** Frames about the socket itself or its user, not about a bot's data: kept whatever bot they name (the
 *  user's alert on another bot pops up here too, linking there). */
const SOCKET_TYPES = new Set(["heartbeat", "error", "bot_list", "alert_fired"]);

/** Whether an envelope may be applied to the page of `bot`: another bot's data never is. */
export const belongsTo = (env, bot) => SOCKET_TYPES.has(env.type) || env.bot === bot;

/** The switcher's entries: the valid ids known, sorted, with the page's own bot always among them. */
export function switcherIds(ids, current) {
  const all = new Set((Array.isArray(ids) ? ids : []).filter(isBotId));
  if (isBotId(current)) all.add(current);
  return Array.from(all).sort();
}

/** The bots of a `GET /api/bots` answer (a list; a paginated or wrapped one is taken too). */
export function botsFromApi(body) {
  const list = Array.isArray(body) ? body : body && Array.isArray(body.results) ? body.results
    : body && Array.isArray(body.bots) ? body.bots : [];
  return list.filter((b) => b && isBotId(b.id));
}

/** Whether the user may steer `bot` according to `/api/bots`: true, false, or null when it is not listed. */
export function canControlOf(bots, bot) {
  const b = bots.find((x) => x.id === bot);
  return b ? b.can_control === true : null;
}

/** The per-bot part of the dashboard's state, as before the bot's first snapshot: figures, prices,
 *  positions, trades, seen trade ids, the seq to resume from, the command in flight. A switch to
 *  another bot starts from this; fresh collections every time (nothing shared with the old bot). */
export function freshBotState() {
  return {
    botState: null, botReason: null, botOnline: null,
    snap: null, marks: null, tradeCount: null,
    symbols: [], prices: new Map(), priceTimes: new Map(), dirs: new Map(), positions: new Map(), market: {},
    trades: [], seen: new Set(),
    pending: null, lastSeq: null,
  };
}
