// Tables built from the shared state: the market (price, 24 h change), open positions with their
// close buttons, and per-symbol performance. Drawn inside render.js's animation frame.
import { DASH, change, fmtDateTime, fmtDec, fmtDuration, fmtMoney, fmtPct, fmtPrice, fmtQty, sign } from "./format.js";
import { mk, setSigned } from "./render.js";

const DAY = 86400;

function pct(node, v) {
  node.textContent = v === null ? DASH : fmtPct(v);
  node.dataset.sign = v === null ? "none" : sign(v);
  return node;
}

function cell(tag, cls, label, text) {
  const c = mk(tag, cls, text);
  c.dataset.label = label;
  return c;
}

/** S: the shared state; onClose(symbol): asks (confirm) and sends close_position. */
export function createPanels(S, onClose) {
  const $ = (id) => document.getElementById(id);
  const el = {
    prices: $("prices"), pricesEmpty: $("prices-empty"), positions: $("positions"), positionsEmpty: $("positions-empty"),
    perf: $("perf"), perfEmpty: $("perf-empty"),
  };
  const rows = new Map();

  function marketRow(sym) {
    let tr = rows.get(sym);
    if (!tr) {
      tr = mk("tr");
      tr.dataset.symbol = sym;
      tr.append(mk("th", "sym", sym), mk("td", "price num", DASH), mk("td", "change num", DASH));
      el.prices.append(tr);
      rows.set(sym, tr);
    }
    return tr;
  }

  /** all: rebuild every row (a snapshot); else only the `changed` symbols. */
  function renderMarket(all, changed) {
    let syms;
    if (all) {
      el.prices.textContent = "";
      rows.clear();
      syms = S.symbols.slice();
      for (const s of S.prices.keys()) if (!syms.includes(s)) syms.push(s);
    } else {
      syms = Array.from(changed);
    }
    const flashes = [];
    const now = Date.now() / 1000;
    for (const sym of syms) {
      const tr = marketRow(sym);
      const price = S.prices.get(sym);
      tr.querySelector(".price").textContent = fmtPrice(price);
      const ref = S.market[sym];
      const c = pct(tr.querySelector(".change"), change(price, ref && ref.open_24h));
      // A reference younger than a day (a bot that has not watched that long) is said, not hidden.
      const since = ref && ref.since ? Date.parse(ref.since) / 1000 : NaN;
      const short = Number.isFinite(since) && now - since < DAY - 3600;
      c.classList.toggle("partial", short);
      c.title = !ref ? "" : short ? "Change over the last " + fmtDuration(now - since) + " only (since " + fmtDateTime(ref.since) + ")"
        : "Change since " + fmtDateTime(ref.since);
      const dir = S.dirs.get(sym);
      if (dir) {
        S.dirs.delete(sym);
        tr.classList.remove("flash-up", "flash-down");
        flashes.push([tr, dir]);
      }
    }
    if (flashes.length) {
      void el.prices.offsetWidth; // restart the CSS animation
      for (const [tr, dir] of flashes) tr.classList.add(dir === "up" ? "flash-up" : "flash-down");
    }
    el.pricesEmpty.hidden = el.prices.rows.length > 0;
  }

  // Rows are kept and their cells updated in place: a price moves the figures, not the buttons
  // (a click must not land on a button replaced between press and release).
  const positionRows = new Map();
  function positionRow(p) {
    const tr = mk("tr");
    tr.dataset.position = p.symbol;
    const btn = mk("button", "btn btn-small btn-close", "Close");
    btn.type = "button";
    btn.dataset.symbol = p.symbol;
    btn.setAttribute("aria-label", "Close the " + p.symbol + " position");
    btn.addEventListener("click", () => onClose(p.symbol));
    const action = cell("td", "action", "");
    action.append(btn);
    tr.append(cell("th", "sym", "Symbol", p.symbol), cell("td", "qty num", "Qty"), cell("td", "entry num", "Entry"),
      cell("td", "mark num", "Mark"), cell("td", "value num", "Value"), cell("td", "upnl num", "Unrealized"), action);
    return tr;
  }

  /** money: the figures to show (the bot's marks); canClose: whether Close buttons are enabled. */
  function renderPositions(canClose, money) {
    const symbols = Array.from(S.positions.keys());
    if (symbols.join(",") !== Array.from(positionRows.keys()).join(",")) {
      el.positions.textContent = "";
      positionRows.clear();
      for (const p of S.positions.values()) {
        const tr = positionRow(p);
        positionRows.set(p.symbol, tr);
        el.positions.append(tr);
      }
    }
    const decimals = money ? money.decimals : 2;
    for (const p of S.positions.values()) {
      const tr = positionRows.get(p.symbol);
      const m = money && money.positions[p.symbol];
      tr.querySelector(".qty").textContent = fmtQty(p.qty);
      tr.querySelector(".entry").textContent = fmtPrice(p.avg_entry);
      tr.querySelector(".mark").textContent = fmtPrice(S.prices.get(p.symbol) || p.mark_price);
      tr.querySelector(".value").textContent = m ? fmtMoney(m.value, decimals) : DASH;
      setSigned(tr.querySelector(".upnl"), m ? m.unrealized : p.unrealized_pnl, decimals);
      tr.querySelector(".btn-close").disabled = !canClose;
    }
    el.positionsEmpty.hidden = S.positions.size > 0;
  }

  function renderPerf() {
    el.perf.textContent = "";
    const rowsData = (S.snap && S.snap.stats && S.snap.stats.per_symbol) || [];
    for (const r of rowsData) {
      const tr = mk("tr");
      tr.dataset.symbol = r.symbol;
      const wr = r.closed > 0 ? (r.wins / r.closed) * 100 : null;
      tr.append(mk("th", "sym", r.symbol), mk("td", "fills num", String(r.fills)), mk("td", "closed num", String(r.closed)),
        mk("td", "winrate num", wr === null ? DASH : fmtDec(wr, 0, 1) + " %"),
        setSigned(mk("td", "pnl num"), r.realized_pnl, S.marks ? S.marks.decimals : 2));
      el.perf.append(tr);
    }
    el.perfEmpty.hidden = rowsData.length > 0;
  }

  return { renderMarket, renderPositions, renderPerf };
}
