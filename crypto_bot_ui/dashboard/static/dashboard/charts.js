/* Price and equity charts (TradingView's lightweight-charts, served by Django, no CDN).
   History comes once per socket from /api/candles and /api/equity; the last candle then moves
   with every price_update and the curve with every equity_snapshot. Drawing happens in
   render.js's animation frame, so a burst of prices costs one chart update. */
(function () {
  "use strict";

  // ---- pure helpers (no DOM; exported for tests) ----
  const bucket = (tsSec, interval) => Math.floor(tsSec / interval) * interval;
  const toCandle = (c) => ({ time: c.time, open: Number(c.open), high: Number(c.high), low: Number(c.low), close: Number(c.close) });
  // Fold a price into the last candle: the same candle grows, a later bucket opens a new one,
  // an older price is ignored (null: nothing to draw).
  const fold = (last, price, tsSec, interval) => {
    const t = bucket(tsSec, interval);
    if (last && t < last.time) return null;
    if (last && t === last.time) {
      return { time: t, open: last.open, high: Math.max(last.high, price), low: Math.min(last.low, price), close: price };
    }
    return { time: t, open: price, high: price, low: price, close: price };
  };
  // Buy/sell markers of `symbol`'s trades inside [from, to], on their candle, oldest first.
  const markersFor = (trades, symbol, interval, from, to) =>
    trades
      .filter((t) => t.symbol === symbol)
      .map((t) => ({ t, time: bucket(Date.parse(t.executed_at) / 1000, interval) }))
      .filter(({ time }) => Number.isFinite(time) && time >= from && time <= to)
      .sort((a, b) => a.time - b.time)
      .map(({ t, time }) => t.side === "sell"
        ? { time, position: "aboveBar", color: "#ff6b6b", shape: "arrowDown", text: "S" }
        : { time, position: "belowBar", color: "#3ecf8e", shape: "arrowUp", text: "B" });
  // Equity points as a line: one value per second, in time order (a later duplicate wins).
  const equityLine = (points) => {
    const byTime = new Map();
    for (const p of points) {
      const time = Math.floor(Date.parse(p.taken_at) / 1000);
      if (Number.isFinite(time)) byTime.set(time, Number(p.equity));
    }
    return Array.from(byTime, ([time, value]) => ({ time, value })).sort((a, b) => a.time - b.time);
  };
  const helpers = { bucket, toCandle, fold, markersFor, equityLine };

  if (typeof document === "undefined" || typeof window === "undefined") {
    if (typeof module !== "undefined" && module.exports) module.exports = helpers;
    return;
  }

  const NS = (window.CryptoDashboard = window.CryptoDashboard || {});
  const SYMBOL_KEY = "cryptobot.chart-symbol";

  // S: shared state; view: render.js (its frame hooks and log).
  function create(S, view) {
    const $ = (id) => document.getElementById(id);
    const select = $("chart-symbol");
    const intervalEl = $("chart-interval");
    const LC = window.LightweightCharts;
    if (!LC) {
      $("chart").textContent = "chart library not loaded";
      return { onStatus() {}, onPrice() {}, onTrade() {}, onEquity() {} };
    }
    const theme = {
      autoSize: true,
      layout: { background: { type: "solid", color: "#171b21" }, textColor: "#8a95a5" },
      grid: { vertLines: { color: "#20262e" }, horzLines: { color: "#20262e" } },
      timeScale: { timeVisible: true, secondsVisible: false, borderColor: "#2a313b", barSpacing: 8, rightOffset: 4 },
      rightPriceScale: { borderColor: "#2a313b" },
    };
    const chart = LC.createChart($("chart"), theme);
    const candles = chart.addSeries(LC.CandlestickSeries, {
      upColor: "#3ecf8e", downColor: "#ff6b6b", borderVisible: false, wickUpColor: "#3ecf8e", wickDownColor: "#ff6b6b",
    });
    const marks = LC.createSeriesMarkers(candles, []);
    const eqChart = LC.createChart($("equity-chart"), theme);
    const equity = eqChart.addSeries(LC.LineSeries, { color: "#4c9aff", lineWidth: 2 });

    const C = { symbol: null, interval: null, first: null, last: null, loaded: false, token: 0,
      candleDirty: false, marksDirty: false, eqLast: null, eqLoaded: false };

    function getJson(url) {
      return fetch(url, { credentials: "same-origin", cache: "no-store" }).then((r) => {
        if (!r.ok) throw new Error(url + ": HTTP " + r.status);
        return r.json();
      });
    }

    function load() {
      const token = ++C.token;
      C.loaded = false;
      if (!C.symbol) return;
      getJson("/api/candles?symbol=" + encodeURIComponent(C.symbol)).then((body) => {
        if (token !== C.token) return; // another symbol was chosen meanwhile
        const data = (body.candles || []).map(toCandle);
        C.interval = body.interval || C.interval;
        candles.setData(data);
        chart.timeScale().scrollToRealTime();
        C.first = data.length ? data[0].time : null;
        C.last = data.length ? Object.assign({}, data[data.length - 1]) : null;
        C.loaded = true;
        // What came meanwhile, at the time the bot sent it (not this browser's clock).
        const price = Number(S.prices.get(C.symbol));
        const at = S.priceTimes.get(C.symbol);
        if (Number.isFinite(price) && at !== undefined) onPrice(C.symbol, price, at);
        C.marksDirty = true;
        view.schedule();
      }).catch((e) => view.log("error", "chart history: " + e.message));
    }

    // The equity curve's history: once per socket (it does not depend on the chosen symbol).
    function loadEquity() {
      getJson("/api/equity?limit=1000").then((points) => {
        const line = equityLine(points);
        equity.setData(line);
        C.eqLast = line.length ? line[line.length - 1].time : null;
        C.eqLoaded = true;
      }).catch((e) => view.log("error", "equity history: " + e.message));
    }

    function fillSelect() {
      const have = Array.from(select.options, (o) => o.value).join(",");
      if (have === S.symbols.join(",")) return;
      select.textContent = "";
      for (const sym of S.symbols) {
        const o = document.createElement("option");
        o.value = o.textContent = sym;
        select.append(o);
      }
    }

    // fresh: the first snapshot on a socket (history is fetched again: it may have moved on).
    function onStatus(d, fresh) {
      C.interval = d.candle_interval || C.interval;
      intervalEl.textContent = C.interval ? (C.interval % 60 ? C.interval + " s" : C.interval / 60 + " min") + " candles" : "";
      fillSelect();
      if (!C.symbol || !S.symbols.includes(C.symbol)) {
        let stored = null;
        try {
          stored = localStorage.getItem(SYMBOL_KEY);
        } catch (e) {
          /* no storage: the first symbol */
        }
        C.symbol = S.symbols.includes(stored) ? stored : S.symbols[0] || null;
        fresh = true;
      }
      select.value = C.symbol || "";
      C.marksDirty = true;
      if (fresh) {
        load();
        loadEquity();
      }
    }

    function onPrice(sym, price, tsSec) {
      if (!C.loaded || sym !== C.symbol || !C.interval || !Number.isFinite(price)) return;
      const next = fold(C.last, price, tsSec, C.interval);
      if (!next) return;
      if (C.first === null) C.first = next.time;
      C.last = next;
      C.candleDirty = true;
    }

    function onTrade(t) {
      if (t && t.symbol === C.symbol) C.marksDirty = true;
    }

    function onEquity(tsSec, value) {
      const time = Math.floor(tsSec);
      if (!C.eqLoaded || !Number.isFinite(value) || (C.eqLast !== null && time < C.eqLast)) return;
      equity.update({ time, value });
      C.eqLast = time;
    }

    view.hooks.push(() => {
      if (C.candleDirty && C.last) {
        C.candleDirty = false;
        candles.update(Object.assign({}, C.last));
      }
      if (C.marksDirty && C.loaded && C.interval) {
        C.marksDirty = false;
        const to = C.last ? C.last.time : -Infinity;
        marks.setMarkers(markersFor(S.trades, C.symbol, C.interval, C.first === null ? Infinity : C.first, to));
      }
    });

    select.addEventListener("change", () => {
      C.symbol = select.value;
      try {
        localStorage.setItem(SYMBOL_KEY, C.symbol);
      } catch (e) {
        /* not remembered */
      }
      C.first = C.last = null;
      load();
    });

    // Test and debug hook: what the charts hold now.
    NS.chart = { candles: () => candles.data().length, markers: () => marks.markers().length, symbol: () => C.symbol };
    return { onStatus, onPrice, onTrade, onEquity };
  }

  NS.charts = Object.assign({ create }, helpers);
})();
