/* Dashboard panels built from the shared state: market (price, 24 h change), open positions with
   their close buttons, per-symbol performance, toasts and the optional trade sound.
   Called by render.js inside its animation frame; never touches the socket itself. */
(function () {
  "use strict";

  // ---- pure helpers (no DOM; exported for tests) ----
  // Change against the 24 h reference, in percent (null when either side is unknown).
  const change24h = (price, open) => {
    const p = Number(price);
    const o = Number(open);
    return Number.isFinite(p) && Number.isFinite(o) && o > 0 ? ((p - o) / o) * 100 : null;
  };
  const winRate = (wins, closed) => (closed > 0 ? (wins / closed) * 100 : null);
  const helpers = { change24h, winRate };

  if (typeof document === "undefined" || typeof window === "undefined") {
    if (typeof module !== "undefined" && module.exports) module.exports = helpers;
    return;
  }

  const NS = (window.CryptoDashboard = window.CryptoDashboard || {});
  const { DASH, fmtDec, fmtPrice, fmtQty } = NS.format;
  const { mk, setSigned: signed } = NS.render;

  function pct(node, v) {
    node.textContent = v === null ? DASH : (v > 0 ? "+" : "") + v.toFixed(2) + " %";
    node.dataset.sign = v === null ? "none" : v > 0 ? "pos" : v < 0 ? "neg" : "zero";
    return node;
  }

  // S: shared state; onClose(symbol): asks (confirm) and sends close_position.
  function create(S, onClose) {
    const $ = (id) => document.getElementById(id);
    const el = {
      prices: $("prices"), pricesEmpty: $("prices-empty"), positions: $("positions"), positionsEmpty: $("positions-empty"),
      perf: $("perf"), perfEmpty: $("perf-empty"), toasts: $("toasts"), sound: $("sound-toggle"),
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

    // all: rebuild every row (a snapshot); else only `changed` symbols. Returns rows to flash.
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
      for (const sym of syms) {
        const tr = marketRow(sym);
        const price = S.prices.get(sym);
        tr.querySelector(".price").textContent = fmtPrice(price);
        const ref = S.market[sym];
        const cell = pct(tr.querySelector(".change"), change24h(price, ref && ref.open_24h));
        cell.title = ref && ref.since ? "since " + new Date(ref.since).toLocaleString() : "";
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

    // Rows are kept and their cells updated in place: a price moves the figures, not the
    // buttons (a click must not land on a button replaced between press and release).
    const positionRows = new Map();
    function positionRow(p) {
      const tr = mk("tr");
      tr.dataset.position = p.symbol;
      const btn = mk("button", "btn btn-small btn-close", "Close");
      btn.type = "button";
      btn.dataset.symbol = p.symbol;
      btn.setAttribute("aria-label", "Close the " + p.symbol + " position");
      btn.addEventListener("click", () => onClose(p.symbol));
      const action = mk("td", "action");
      action.append(btn);
      tr.append(mk("th", "sym", p.symbol), mk("td", "side side-buy", "long"), mk("td", "qty num"), mk("td", "entry num"),
        mk("td", "mark num"), mk("td", "upnl num"), action);
      return tr;
    }

    function renderPositions(canClose) {
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
      for (const p of S.positions.values()) {
        const tr = positionRows.get(p.symbol);
        tr.querySelector(".qty").textContent = fmtQty(p.qty);
        tr.querySelector(".entry").textContent = fmtPrice(p.avg_entry);
        tr.querySelector(".mark").textContent = fmtPrice(p.mark_price);
        signed(tr.querySelector(".upnl"), p.upnl);
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
        const wr = winRate(r.wins, r.closed);
        tr.append(mk("th", "sym", r.symbol), mk("td", "fills num", String(r.fills)), mk("td", "closed num", String(r.closed)),
          mk("td", "winrate num", wr === null ? DASH : fmtDec(wr, 0, 1) + " %"), signed(mk("td", "pnl num"), r.realized_pnl));
        el.perf.append(tr);
      }
      el.perfEmpty.hidden = rowsData.length > 0;
    }

    // ---- toasts and sound ----
    const SOUND_KEY = "cryptobot.sound";
    try {
      el.sound.checked = localStorage.getItem(SOUND_KEY) === "on";
    } catch (e) {
      /* storage blocked: sound stays off */
    }
    el.sound.addEventListener("change", () => {
      try {
        localStorage.setItem(SOUND_KEY, el.sound.checked ? "on" : "off");
      } catch (e) {
        /* not remembered, still applies now */
      }
    });
    let audio = null;
    function beep(up) {
      if (!el.sound.checked) return;
      try {
        audio = audio || new AudioContext();
        const osc = audio.createOscillator();
        const gain = audio.createGain();
        osc.frequency.value = up ? 880 : 440;
        gain.gain.value = 0.05;
        osc.connect(gain).connect(audio.destination);
        osc.start();
        osc.stop(audio.currentTime + 0.12);
      } catch (e) {
        /* no audio here */
      }
    }

    function toast(text, kind) {
      const t = mk("div", "toast toast-" + (kind || "info"), text);
      el.toasts.append(t);
      while (el.toasts.children.length > 4) el.toasts.firstChild.remove();
      setTimeout(() => t.remove(), 4000);
    }

    return { renderMarket, renderPositions, renderPerf, toast, beep };
  }

  NS.panels = Object.assign({ create }, helpers);
})();
