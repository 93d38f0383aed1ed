/* Dashboard formatting: pure number/decimal/time helpers (no DOM). Loaded first; see index.html. */
(function () {
  "use strict";

  // ---- pure helpers (no DOM; exported for tests) ----
  const DASH = "—";
  const formatters = new Map();
  const nf = (min, max) => {
    const key = min + ":" + max;
    if (!formatters.has(key)) {
      formatters.set(key, new Intl.NumberFormat("en-US", { minimumFractionDigits: min, maximumFractionDigits: max }));
    }
    return formatters.get(key);
  };
  // Decimals travel as strings; Number() is used only to format them for display.
  const toNum = (v) => (v === null || v === undefined || v === "" ? NaN : Number(v));
  const fmtDec = (v, min = 2, max = 2) => {
    const n = toNum(v);
    return Number.isFinite(n) ? nf(min, max).format(n) : DASH;
  };
  const priceDigits = (a) => (a >= 1000 ? 2 : a >= 1 ? 4 : a >= 0.01 ? 6 : 8);
  const fmtPrice = (v) => fmtDec(v, 2, priceDigits(Math.abs(toNum(v))));
  const fmtQty = (v) => fmtDec(v, 0, 8);
  const sign = (v) => {
    const n = toNum(v);
    return !Number.isFinite(n) ? "none" : n > 0 ? "pos" : n < 0 ? "neg" : "zero";
  };
  const fmtSigned = (v) => {
    const n = toNum(v);
    return Number.isFinite(n) ? (n > 0 ? "+" : n < 0 ? "-" : "") + nf(2, 2).format(Math.abs(n)) : DASH;
  };
  const pad2 = (n) => String(n).padStart(2, "0");
  const toDate = (iso) => (iso instanceof Date ? iso : new Date(iso));
  const fmtTime = (iso) => {
    const d = toDate(iso);
    return isNaN(d) ? DASH : pad2(d.getHours()) + ":" + pad2(d.getMinutes()) + ":" + pad2(d.getSeconds());
  };
  const fmtDateTime = (iso) => {
    const d = toDate(iso);
    return isNaN(d) ? DASH : d.getFullYear() + "-" + pad2(d.getMonth() + 1) + "-" + pad2(d.getDate()) + " " + fmtTime(d);
  };
  // Display-only estimate: (mark - avg_entry) * qty.
  const unrealized = (mark, avgEntry, qty) => (toNum(mark) - toNum(avgEntry)) * toNum(qty);

  const helpers = { fmtDec, fmtPrice, fmtQty, fmtSigned, sign, fmtTime, fmtDateTime, unrealized, toNum };

  if (typeof document === "undefined" || typeof window === "undefined") {
    if (typeof module !== "undefined" && module.exports) module.exports = helpers;
    return;
  }

  const NS = (window.CryptoDashboard = window.CryptoDashboard || {});
  NS.format = Object.assign({ DASH }, helpers);
  // Public debug hook: the helpers sit directly on window.CryptoDashboard as well.
  Object.assign(NS, helpers);
})();
