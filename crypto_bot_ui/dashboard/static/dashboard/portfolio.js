// The account after a fill (`portfolio` events): applied to the page's copy of the last status, so
// the page stays exact without the whole status (~20 KB) arriving with every trade.

const FIGURES = ["pnl", "cash", "equity", "trade_count", "stats", "risk", "marks"];

/** The status `snap` after the delta `d` (a new object; `snap` is left as it was). Positions are
 *  replaced or (null) removed by symbol and kept in symbol order, as the bot's status lists them;
 *  a figure the delta leaves out or sends as null (an older bot) keeps the status's value. */
export function applyPortfolio(snap, d) {
  const bySymbol = new Map((snap.positions || []).map((p) => [p.symbol, p]));
  for (const [symbol, p] of Object.entries((d && d.positions) || {})) {
    if (p) bySymbol.set(symbol, p);
    else bySymbol.delete(symbol);
  }
  const positions = Array.from(bySymbol.values()).sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
  const next = { ...snap, positions };
  for (const key of FIGURES) {
    if (d && d[key] !== undefined && d[key] !== null) next[key] = d[key];
  }
  return next;
}
