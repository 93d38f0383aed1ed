// The overview's rows: one per bot, built once and then updated cell by cell (a summary changes a
// few texts, never the row), moved rather than rebuilt when the ranking changes. Called from the
// page's animation frame only.
import { botPath } from "../bots.js";
import { badgesOf, figuresOf, sparkLabel, statusOf, symbolsText } from "./cells.js";
import { SPARK_HEIGHT, SPARK_WIDTH, sparkPath } from "./spark.js";

const SVG = "http://www.w3.org/2000/svg";

function mk(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function cell(tag, cls, label) {
  const c = mk(tag, cls);
  c.dataset.label = label;
  return c;
}

/** Writes only what changed: a live row costs a few text nodes a frame. */
function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}
function setAttr(node, name, value) {
  if (node.getAttribute(name) !== value) node.setAttribute(name, value);
}

/** tbody: the table's body; open(id): go to that bot's page. */
export function createTable(tbody, open) {
  const rows = new Map(); // id -> {tr, cells}

  function build(id) {
    const tr = mk("tr", "bot-row");
    tr.dataset.bot = id;
    const name = cell("th", "bot-name", "Bot");
    name.scope = "row";
    const link = mk("a", "", id);
    link.href = botPath(id);
    name.append(link);
    const status = cell("td", "status", "Status");
    const dot = mk("span", "dot");
    dot.setAttribute("aria-hidden", "true");
    const statusText = mk("span", "status-text");
    status.append(dot, statusText);
    const strategy = cell("td", "strategy", "Strategy");
    const strategyName = mk("span", "strategy-name");
    const symbols = mk("span", "symbols muted small");
    strategy.append(strategyName, symbols);
    const modeCell = cell("td", "mode", "Mode");
    const mode = mk("span", "badges");
    modeCell.append(mode);
    const num = (cls, label) => cell("td", cls + " num", label);
    const realized = num("realized", "Realized");
    const unrealized = num("unrealized", "Unrealized");
    const total = num("total strong", "Total P&L");
    const equity = num("equity", "Equity");
    const equityValue = mk("span", "equity-value");
    const quote = mk("span", "quote muted small");
    const equityBox = mk("span", "equity-box"); // one item in a phone's card: the figure and its asset
    equityBox.append(equityValue, quote);
    equity.append(equityBox);
    const trades = num("trades", "Trades");
    const winRate = num("winrate", "Win rate");
    const drawdown = num("drawdown", "Max drawdown");
    const sparkCell = cell("td", "spark-cell", "Equity trend");
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "spark");
    svg.setAttribute("viewBox", "0 0 " + SPARK_WIDTH + " " + SPARK_HEIGHT);
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("role", "img");
    const path = document.createElementNS(SVG, "path");
    svg.append(path);
    sparkCell.append(svg);
    tr.append(name, status, strategy, modeCell, realized, unrealized, total, equity, trades, winRate, drawdown, sparkCell);
    // The whole row opens the bot (the name is its link, for the keyboard and a new tab).
    tr.addEventListener("click", (ev) => {
      if (ev.defaultPrevented || ev.button !== 0 || ev.target.closest("a")) return;
      const selection = window.getSelection && window.getSelection();
      if (selection && String(selection).length) return; // copying a figure, not opening
      open(id);
    });
    const row = { tr, link, status, statusText, strategyName, symbols, mode, realized, unrealized, total, equityValue, quote,
      trades, winRate, drawdown, svg, path, modeKey: null, sparkKey: null };
    rows.set(id, row);
    return row;
  }

  /** Show `s` (the bot's summary) in its row, made if new; `spark`: its points when they changed. */
  function update(id, s, spark, now) {
    const row = rows.get(id) || build(id);
    const st = statusOf(s, now);
    row.tr.dataset.status = st.kind;
    row.tr.classList.toggle("offline", st.kind === "offline");
    setText(row.statusText, st.text);
    setAttr(row.status, "title", st.detail);
    setText(row.strategyName, s.strategy || "—");
    setText(row.symbols, symbolsText(s));
    const badges = badgesOf(s);
    const modeKey = badges.map((b) => b.kind + ":" + b.text).join(",");
    if (modeKey !== row.modeKey) {
      row.modeKey = modeKey;
      row.mode.textContent = "";
      for (const b of badges) {
        const badge = mk("span", "badge badge-" + b.kind, b.text);
        badge.title = b.title;
        row.mode.append(badge);
      }
      if (!badges.length) row.mode.textContent = "—";
    }
    const f = figuresOf(s);
    for (const key of ["realized", "unrealized", "total"]) {
      setText(row[key], f[key].text);
      if (row[key].dataset.sign !== f[key].sign) row[key].dataset.sign = f[key].sign;
    }
    setText(row.equityValue, f.equity);
    setText(row.quote, f.quote ? " " + f.quote : "");
    setText(row.trades, f.trades);
    setText(row.winRate, f.winRate);
    setText(row.drawdown, f.drawdown);
    if (spark) {
      const { d, trend } = sparkPath(spark.points);
      setAttr(row.path, "d", d);
      setAttr(row.svg, "data-trend", trend);
      setAttr(row.svg, "aria-label", "Equity trend of " + id + ": " + sparkLabel(spark.points, s));
    }
    return row.tr;
  }

  function remove(id) {
    const row = rows.get(id);
    if (!row) return;
    row.tr.remove();
    rows.delete(id);
  }

  /** Put the rows in this order, moving only when it differs; keyboard focus stays where it was. */
  function order(ids) {
    const current = Array.from(tbody.children, (tr) => tr.dataset.bot);
    if (current.length === ids.length && current.every((id, i) => id === ids[i])) return;
    const focused = document.activeElement;
    for (const id of ids) {
      const row = rows.get(id);
      if (row) tbody.append(row.tr);
    }
    if (focused && focused !== document.activeElement && tbody.contains(focused)) focused.focus({ preventScroll: true });
  }

  return { update, remove, order, has: (id) => rows.has(id), get size() { return rows.size; } };
}
