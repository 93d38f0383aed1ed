// Chart logic without a chart: timeframes, candle aggregation, live folding, trade markers grouped
// per candle. Pure (no DOM); node --test covers it.

/** The timeframes the chart offers, in seconds. */
export const TIMEFRAMES = [
  { label: "1m", seconds: 60 },
  { label: "5m", seconds: 300 },
  { label: "15m", seconds: 900 },
  { label: "1h", seconds: 3600 },
  { label: "4h", seconds: 14400 },
  { label: "1d", seconds: 86400 },
];
export const DEFAULT_TIMEFRAME = 60;
export const isTimeframe = (s) => TIMEFRAMES.some((t) => t.seconds === s);

/** Start (Unix seconds, UTC) of the `tf`-second candle holding `tsSec`. */
export const bucket = (tsSec, tf) => Math.floor(tsSec / tf) * tf;

/** Base candles (decimal strings, oldest first) merged into `tf`-second candles: the first open,
 *  the highest high, the lowest low, the last close. Values become Numbers for the chart only. */
export function aggregate(base, tf) {
  const out = [];
  let cur = null;
  for (const c of base) {
    const time = bucket(c.time, tf);
    const o = Number(c.open), h = Number(c.high), l = Number(c.low), cl = Number(c.close);
    if (cur && time === cur.time) {
      if (h > cur.high) cur.high = h;
      if (l < cur.low) cur.low = l;
      cur.close = cl;
    } else if (!cur || time > cur.time) {
      cur = { time, open: o, high: h, low: l, close: cl };
      out.push(cur);
    } // an out-of-order base candle is ignored: history is not rewritten
  }
  return out;
}

/** Fold a live price into the last candle: the same candle grows, a later bucket opens a new one,
 *  an older price changes nothing (null). */
export function fold(last, price, tsSec, tf) {
  const t = bucket(tsSec, tf);
  if (last && t < last.time) return null;
  if (last && t === last.time) {
    return { time: t, open: last.open, high: Math.max(last.high, price), low: Math.min(last.low, price), close: price };
  }
  return { time: t, open: price, high: price, low: price, close: price };
}

/** `symbol`'s trades grouped by their `tf` candle within [from, to]: oldest first, each
 *  `{time, buys, sells, trades}` with the trades newest first. Duplicates (by trade_id) count once. */
export function groupTrades(trades, symbol, tf, from = -Infinity, to = Infinity) {
  const groups = new Map();
  const seen = new Set();
  for (const t of trades) {
    if (!t || t.symbol !== symbol || seen.has(t.trade_id)) continue;
    const at = Date.parse(t.executed_at) / 1000;
    if (!Number.isFinite(at)) continue;
    const time = bucket(at, tf);
    if (time < from || time > to) continue;
    seen.add(t.trade_id);
    let g = groups.get(time);
    if (!g) groups.set(time, (g = { time, buys: 0, sells: 0, trades: [] }));
    if (t.side === "sell") g.sells += 1;
    else g.buys += 1;
    g.trades.push(t);
  }
  for (const g of groups.values()) g.trades.sort((a, b) => Date.parse(b.executed_at) - Date.parse(a.executed_at));
  return Array.from(groups.values()).sort((a, b) => a.time - b.time);
}

/** The marker of a group: "B", "S", or counts such as "3B 2S"; below the bar when it bought
 *  more than it sold, above otherwise. */
export function markerOf(g) {
  const parts = [];
  if (g.buys) parts.push((g.buys > 1 ? g.buys : "") + "B");
  if (g.sells) parts.push((g.sells > 1 ? g.sells : "") + "S");
  const buying = g.buys > g.sells;
  const mixed = g.buys > 0 && g.sells > 0;
  return {
    time: g.time,
    position: buying ? "belowBar" : "aboveBar",
    color: mixed ? "#f5b942" : buying ? "#3ecf8e" : "#ff6b6b",
    shape: mixed ? "circle" : buying ? "arrowUp" : "arrowDown",
    text: parts.join(" "),
  };
}
