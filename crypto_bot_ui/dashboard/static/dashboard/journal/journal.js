// The trade history page (/trades/): every stored trade from /api/trades, 50 a page, filtered by what the
// URL's query says (so a view can be bookmarked, and Back/Forward step through the filters), with each
// trade's journal note written inline by who may (the note cells and their editor: notes.js). The words
// and sums are journal_model.js's; this module only talks to the API and draws, at most once per animation
// frame. Text is always set as text, never as HTML.
import { tzName } from "../format.js";
import {
  NO_FILTERS, apiUrl, csvHref, emptyText, filtersText, isFiltered, pageCount, pageItems, pageQuery, pageText,
  parseQuery, problemText, rangeProblem, rowTexts, useCentAssets,
} from "./journal_model.js";
import { createNoteEditor } from "./notes.js";

const DATE_SETTLE_MS = 600; // a date typed digit by digit is a valid date after each digit of its year
const PHONE = "(max-width: 600px)";

/** An element with a class and text (always text: never HTML). */
function mk(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function start(root) {
  const $ = (id) => document.getElementById(id);
  const config = JSON.parse($("journal-config").textContent);
  useCentAssets(config.cent_assets);
  const el = {
    form: $("journal-filters"), bot: $("f-bot"), symbol: $("f-symbol"), side: $("f-side"), from: $("f-from"), to: $("f-to"),
    note: $("f-note"), clearFilters: $("f-clear"), problem: $("f-problem"), csv: $("journal-csv"), summary: $("journal-summary"),
    table: $("journal-table"), rows: $("journal-rows"), empty: $("journal-empty"), emptyText: $("journal-empty-text"),
    clearEmpty: $("journal-clear"), error: $("journal-error"), errorText: $("journal-error-text"), retry: $("journal-retry"),
    pager: $("journal-pager"), announce: $("journal-announce"),
  };
  const controls = { bot: el.bot, symbol: el.symbol, side: el.side, from: el.from, to: el.to, has_note: el.note };
  const phone = window.matchMedia(PHONE);

  const first = parseQuery(location.search);
  const state = {
    filters: first.filters, page: first.page,
    phase: "loading", // loading | ready | error | invalid
    data: null, // the API's page: {count, next, previous, results}
    error: "",
    rowsDirty: false, // the rows are drawn again at the next frame
    focusSummary: false, // after a page change: the keyboard goes on from the summary above the new rows
  };
  const notes = createNoteEditor({
    config, api, announce,
    onSaved(saved) { // the listed trade becomes the one the server stored
      const list = state.data ? state.data.results : [];
      const at = list.findIndex((t) => t.id === saved.id);
      if (at >= 0) list[at] = saved;
    },
  });

  for (const tz of root.querySelectorAll(".tz")) tz.textContent = tzName();

  // ---- drawing, at most once per frame ----
  let frame = 0;
  function schedule() {
    if (!frame) frame = requestAnimationFrame(render);
  }

  function render() {
    frame = 0;
    const { phase, data, filters } = state;
    const results = phase === "ready" && data ? data.results : [];
    el.table.setAttribute("aria-busy", phase === "loading" ? "true" : "false");
    el.table.classList.toggle("loading", phase === "loading");
    if (phase === "ready" && state.rowsDirty) {
      notes.clear();
      el.rows.textContent = "";
      for (const trade of results) el.rows.append(tradeRow(trade));
      state.rowsDirty = false;
    }
    if (phase === "error" || phase === "invalid") el.rows.textContent = "";
    el.table.hidden = el.rows.rows.length === 0; // no header over nothing (while the first page loads, too)

    let summary = "Loading trades…";
    if (phase === "ready") {
      summary = pageText(state.page, data.count) + (isFiltered(filters) ? " · " + filtersText(filters) : "");
    } else if (phase === "error") {
      summary = "Not loaded.";
    } else if (phase === "invalid") {
      summary = "Choose the dates again to list the trades.";
    }
    if (el.summary.textContent !== summary) el.summary.textContent = summary;

    el.empty.hidden = !(phase === "ready" && results.length === 0);
    el.emptyText.textContent = emptyText(filters);
    el.clearEmpty.hidden = !isFiltered(filters);
    el.error.hidden = phase !== "error";
    el.errorText.textContent = phase === "error" ? "The trades could not be loaded: " + state.error : "";
    const problem = rangeProblem(filters);
    el.problem.textContent = problem;
    el.problem.hidden = !problem;
    for (const c of [el.from, el.to]) {
      if (problem) c.setAttribute("aria-invalid", "true");
      else c.removeAttribute("aria-invalid");
    }
    el.clearFilters.disabled = !isFiltered(filters);
    el.csv.href = csvHref(filters);
    drawPager();
    if (state.focusSummary && phase !== "loading") {
      state.focusSummary = false;
      el.summary.focus({ preventScroll: true });
      el.summary.scrollIntoView({ block: "nearest" });
    }
  }

  function drawPager() {
    // While the next page loads, the pager stays (the keyboard's place is kept), as the last list had it.
    const shown = state.data && (state.phase === "ready" || state.phase === "loading");
    const total = shown ? pageCount(state.data.count) : 1;
    el.pager.hidden = total <= 1;
    el.pager.textContent = "";
    if (total <= 1) return;
    const list = mk("ul", "j-pages");
    const link = (page, text, cls, label) => {
      const li = mk("li", cls);
      if (page < 1 || page > total) {
        const off = mk("span", "j-page off", text);
        off.setAttribute("aria-disabled", "true");
        li.append(off);
        return li;
      }
      const a = mk("a", "j-page", text);
      a.href = location.pathname + pageQuery(state.filters, page);
      a.dataset.page = String(page);
      if (label) a.setAttribute("aria-label", label);
      if (page === state.page && !cls) a.setAttribute("aria-current", "page");
      li.append(a);
      return li;
    };
    list.append(link(state.page - 1, "Previous", "j-prev"));
    for (const p of pageItems(state.page, total, phone.matches ? 0 : 2)) {
      if (p === null) {
        const gap = mk("li", "j-gap", "…");
        gap.setAttribute("aria-hidden", "true");
        list.append(gap);
      } else {
        list.append(link(p, String(p), "", "Page " + p + (p === total ? ", the last" : "")));
      }
    }
    list.append(link(state.page + 1, "Next", "j-next"));
    el.pager.append(list);
  }

  // ---- a trade's row ----
  function cell(tag, cls, label, text) {
    const c = mk(tag, cls, text);
    c.dataset.label = label;
    return c;
  }

  function tradeRow(trade) {
    const x = rowTexts(trade);
    const tr = mk("tr");
    tr.dataset.tradeId = String(x.id);
    const when = cell("th", "time", "Time");
    when.scope = "row";
    const time = mk("time", "", x.time);
    time.dateTime = x.iso;
    time.title = x.timeTitle;
    when.append(time);
    const value = cell("td", "value num", "Value", x.value);
    if (x.quote) value.title = x.value + " " + x.quote;
    const fee = cell("td", "fee num", "Fee", x.fee);
    if (x.feeTitle) fee.title = x.feeTitle;
    const pnl = cell("td", "pnl num", "P&L", x.pnl);
    pnl.dataset.sign = x.pnlSign;
    tr.append(when, cell("td", "bot mono", "Bot", x.bot), cell("td", "sym", "Symbol", x.symbol),
      cell("td", "side side-" + x.side, "Side", x.sideText), cell("td", "qty num", "Qty", x.qty),
      cell("td", "price num", "Price", x.price), value, fee, pnl, cell("td", "strategy", "Strategy", x.strategy),
      cell("td", "reason", "Reason", x.reason), noteCell(trade));
    return tr;
  }

  function noteCell(trade) {
    const td = cell("td", "note", "Note");
    notes.show(td, trade);
    return td;
  }

  function announce(text) {
    el.announce.textContent = "";
    // A change the next frame, so the same words twice are said twice.
    requestAnimationFrame(() => {
      el.announce.textContent = text;
    });
  }

  // ---- talking to the API ----
  function api(method, url, body, signal) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET") headers["X-CSRFToken"] = root.dataset.csrf || "";
    return fetch(url, {
      method, headers, credentials: "same-origin", cache: "no-store", signal,
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(
      (r) => r.json().catch(() => null).then((data) => {
        if (!r.ok) {
          const e = new Error(problemText(r.status, data));
          e.status = r.status;
          throw e;
        }
        return data;
      }),
      (e) => {
        if (e && e.name === "AbortError") throw e;
        throw Object.assign(new Error(problemText(0, null)), { status: 0 });
      },
    );
  }

  let asking = null; // the request of the list being read (dropped when another is asked for)
  function load() {
    if (asking) asking.abort();
    asking = null;
    state.rowsDirty = true;
    if (rangeProblem(state.filters)) {
      state.phase = "invalid";
      schedule();
      return;
    }
    state.phase = "loading";
    schedule();
    const ask = new AbortController();
    asking = ask;
    const asked = { filters: state.filters, page: state.page };
    api("GET", apiUrl(asked.filters, asked.page), undefined, ask.signal).then((data) => {
      if (asking !== ask) return;
      state.data = data;
      state.phase = "ready";
      state.rowsDirty = true;
      schedule();
    }).catch((e) => {
      if (asking !== ask || (e && e.name === "AbortError")) return;
      if (e.status === 404 && asked.page > 1) {
        lastPage(ask, asked);
        return;
      }
      state.phase = "error";
      state.error = e.message;
      schedule();
    });
  }

  /** A page past the end (fewer trades since it was bookmarked): the last page, in the address too. */
  function lastPage(ask, asked) {
    api("GET", apiUrl(asked.filters, 1), undefined, ask.signal).then((data) => {
      if (asking !== ask) return;
      const last = pageCount(data.count);
      announce("There is no page " + asked.page + ": page " + last + " is the last.");
      state.page = last;
      history.replaceState(null, "", location.pathname + pageQuery(state.filters, last) + location.hash);
      if (last === 1) {
        state.data = data;
        state.phase = "ready";
        state.rowsDirty = true;
        schedule();
      } else {
        load();
      }
    }).catch((e) => {
      if (asking !== ask || (e && e.name === "AbortError")) return;
      state.phase = "error";
      state.error = e.message;
      schedule();
    });
  }

  // ---- the filters, in the form and in the address ----
  function showFilters(filters) {
    for (const [name, control] of Object.entries(controls)) {
      const value = filters[name] || "";
      if (control.tagName === "SELECT" && value && ![...control.options].some((o) => o.value === value)) {
        const option = mk("option", "", value); // from an address: a bot or symbol with no trades (yet)
        option.value = value;
        control.append(option);
      }
      control.value = value;
    }
  }

  function readFilters() {
    const q = new URLSearchParams();
    for (const [name, control] of Object.entries(controls)) q.set(name, control.value);
    return parseQuery(q.toString()).filters;
  }

  const same = (a, b) => pageQuery(a) === pageQuery(b);

  /** Show these filters and this page; `push`: as a new step of the history (Back returns). */
  function go(filters, page, push) {
    state.filters = filters;
    state.page = page;
    const url = location.pathname + pageQuery(filters, page) + location.hash;
    if (push) history.pushState(null, "", url);
    else history.replaceState(null, "", url);
    load();
  }

  let settle = 0;
  function apply() {
    clearTimeout(settle);
    settle = 0;
    const filters = readFilters();
    if (same(filters, state.filters)) return;
    if (!notes.mayLeave()) {
      showFilters(state.filters);
      return;
    }
    go(filters, 1, true);
  }

  for (const control of [el.bot, el.symbol, el.side, el.note]) control.addEventListener("change", apply);
  for (const control of [el.from, el.to]) {
    control.addEventListener("change", () => {
      clearTimeout(settle);
      settle = setTimeout(apply, DATE_SETTLE_MS);
    });
    control.addEventListener("blur", () => {
      if (settle) apply();
    });
  }
  el.form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    apply();
  });
  const clear = () => {
    if (!isFiltered(state.filters) || !notes.mayLeave()) return;
    showFilters(NO_FILTERS);
    go({ ...NO_FILTERS }, 1, true);
  };
  el.clearFilters.addEventListener("click", clear);
  el.clearEmpty.addEventListener("click", () => {
    clear();
    el.bot.focus();
  });
  el.retry.addEventListener("click", load);

  el.pager.addEventListener("click", (ev) => {
    const a = ev.target.closest("a[data-page]");
    if (!a || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
    ev.preventDefault();
    const page = Number(a.dataset.page);
    if (page === state.page || !notes.mayLeave()) return;
    state.focusSummary = true;
    go(state.filters, page, true);
  });

  window.addEventListener("popstate", () => {
    const asked = parseQuery(location.search);
    state.filters = asked.filters;
    state.page = asked.page;
    showFilters(state.filters);
    load();
  });
  phone.addEventListener("change", schedule);

  // The address as the page reads it (what it did not understand is dropped from it).
  history.replaceState(null, "", location.pathname + pageQuery(state.filters, state.page) + location.hash);
  showFilters(state.filters);
  load();
}

const root = document.getElementById("journal");
if (root) start(root);
