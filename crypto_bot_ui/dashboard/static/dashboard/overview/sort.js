// The overview's ranking: which columns sort, how, and what a click on a header does. Figures are
// compared exactly as the decimal strings they are (no float). Pure (no DOM); node --test covers it.

/** Exact order of two decimal strings in positional notation (or integers): -1, 0 or 1. */
export function compareDecimal(a, b) {
  const x = parseDecimal(a);
  const y = parseDecimal(b);
  if (!x || !y) return Math.sign(Number(a) - Number(b)) || 0; // not positional: the best we can do
  if (x.sign !== y.sign) return x.sign < y.sign ? -1 : 1;
  const m = compareMagnitude(x, y);
  return x.sign < 0 && m ? -m : m;
}

function parseDecimal(v) {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(String(v).trim());
  if (!m || (m[2] === "" && (m[3] === undefined || m[3] === ""))) return null;
  const int = m[2].replace(/^0+/, "");
  const frac = (m[3] || "").replace(/0+$/, "");
  const zero = int === "" && frac === "";
  return { sign: zero ? 0 : m[1] === "-" ? -1 : 1, int, frac };
}

function compareMagnitude(x, y) {
  if (x.int.length !== y.int.length) return x.int.length < y.int.length ? -1 : 1;
  if (x.int !== y.int) return x.int < y.int ? -1 : 1;
  const n = Math.max(x.frac.length, y.frac.length);
  const fx = x.frac.padEnd(n, "0");
  const fy = y.frac.padEnd(n, "0");
  return fx === fy ? 0 : fx < fy ? -1 : 1;
}

const money = (get) => ({ type: "number", get });
const text = (get) => ({ type: "text", get });
const has = (v) => v !== null && v !== undefined && v !== "";

/** Running first, then stopped, then offline, then bots that never reported. */
export function statusRank(s) {
  if (!s || s.online !== true) return s && s.online === false ? 2 : 3;
  return s.state === "running" ? 0 : s.state === "stopped" ? 1 : 3;
}

/** Every sortable column: its kind (text sorts A→Z first, numbers high first) and its value. */
export const COLUMNS = {
  bot: text((s) => s.bot),
  status: { type: "rank", get: statusRank },
  strategy: text((s) => s.strategy),
  mode: text((s) => (has(s.mode) ? s.mode + " " + (s.market_data || "") : null)),
  realized: money((s) => s.pnl && s.pnl.realized),
  unrealized: money((s) => s.pnl && s.pnl.unrealized),
  total: money((s) => s.pnl && s.pnl.total),
  equity: money((s) => s.equity),
  trades: money((s) => (Number.isInteger(s.trade_count) ? s.trade_count : null)),
  win_rate: money((s) => s.win_rate),
  max_drawdown: money((s) => (has(s.max_drawdown_pct) ? s.max_drawdown_pct : s.max_drawdown)),
};

/** Ranked by total P&L, the best first. */
export const DEFAULT_SORT = Object.freeze({ key: "total", dir: "desc" });

export const isSortKey = (key) => Object.prototype.hasOwnProperty.call(COLUMNS, key);

function compareValues(type, a, b) {
  if (type === "text") return String(a).localeCompare(String(b), "en", { sensitivity: "base", numeric: true });
  if (type === "rank") return a - b;
  return compareDecimal(a, b);
}

/** The bots (summaries with their `bot` id) in the order `sort` asks; a bot without that figure
 *  comes last either way; ties go by id. A new array; the input is left alone. */
export function sortBots(bots, sort = DEFAULT_SORT) {
  const col = COLUMNS[sort.key] || COLUMNS[DEFAULT_SORT.key];
  const dir = sort.dir === "asc" ? 1 : -1;
  const byId = (a, b) => String(a.bot).localeCompare(String(b.bot), "en", { numeric: true });
  return bots.slice().sort((a, b) => {
    const va = col.get(a);
    const vb = col.get(b);
    if (!has(va) || !has(vb)) return has(va) ? -1 : has(vb) ? 1 : byId(a, b);
    return dir * compareValues(col.type, va, vb) || byId(a, b);
  });
}

/** After a click on column `key`: the same column turns around; another starts A→Z for words,
 *  running first for the status, and highest first for figures. */
export function nextSort(sort, key) {
  if (!isSortKey(key)) return sort;
  if (sort.key === key) return { key, dir: sort.dir === "asc" ? "desc" : "asc" };
  return { key, dir: COLUMNS[key].type === "number" ? "desc" : "asc" };
}

/** A header's aria-sort for `key`. */
export const ariaSort = (sort, key) => (sort.key !== key ? "none" : sort.dir === "asc" ? "ascending" : "descending");
