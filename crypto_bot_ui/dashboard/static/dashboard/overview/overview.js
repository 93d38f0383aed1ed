// The overview's entry point: every bot in one table, ranked, updated live from the overview socket
// (a bot_list, then one bot_summary per bot, then live summaries). The DOM is touched at most once
// per animation frame, and then only the rows that changed. The user's fired alerts pop up here too.
import { alertToast } from "../alerts.js";
import { botPath } from "../bots.js";
import { envelopes, shownState } from "../link.js";
import { createNotifier } from "../notify.js";
import { createSocket } from "../socket.js";
import { connText, sentence } from "../texts.js";
import { DEFAULT_SORT, ariaSort, isSortKey, nextSort, sortBots } from "./sort.js";
import { newSpark, nextSpark } from "./spark.js";
import { createTable } from "./table.js";

const SORT_KEY = "cryptobot.overview-sort";

const root = document.getElementById("overview");
if (root) start(root);

function readJson(id, fallback) {
  const node = document.getElementById(id);
  if (!node) return fallback;
  try {
    return JSON.parse(node.textContent);
  } catch (e) {
    return fallback;
  }
}

function storedSort() {
  try {
    const s = JSON.parse(localStorage.getItem(SORT_KEY) || "null");
    if (s && isSortKey(s.key) && (s.dir === "asc" || s.dir === "desc")) return s;
  } catch (e) {
    /* storage blocked or junk: the default */
  }
  return DEFAULT_SORT;
}

function start(root) {
  const $ = (id) => document.getElementById(id);
  const el = {
    conn: $("conn-state"), note: $("conn-note"), count: $("bots-count"), table: $("bots-table"), body: $("bots"),
    empty: $("bots-empty"), sortKey: $("sort-key"), sortDir: $("sort-dir"), sortBox: $("sort-box"),
  };
  const S = { conn: "connecting", retryAt: 0, lastFrameAt: Date.now(), lastSeq: null, pending: null, botOnline: null };
  const bots = new Map(); // id -> {data: the summary with its bot id, spark: {points, at}}
  const dirty = { header: true, rows: new Set(), sparks: new Set(), order: true };
  let sort = storedSort();
  const table = createTable(el.body, (id) => location.assign(botPath(id)));
  const notify = createNotifier(); // no trade pop-ups here: only the user's alerts

  let rafId = 0;
  function schedule() {
    if (!rafId) rafId = requestAnimationFrame(render);
  }
  function note(text) {
    el.note.textContent = sentence(text);
  }
  const view = { dirty, schedule, log: (type, text) => note(text), notice: () => {} };
  const link = createSocket({ S, view, wsPath: root.dataset.wsPath || "/ws/overview/", onFrame: handleFrame, acks: false });

  // ---- state ----
  function upsert(id, data, now) {
    let b = bots.get(id);
    if (!b) {
      b = { data: { bot: id }, spark: newSpark([]) };
      bots.set(id, b);
      dirty.sparks.add(id);
      dirty.order = true;
    }
    if (data) {
      b.data = Object.assign({}, data, { bot: id });
      const spark = nextSpark(b.spark, data.equity, now);
      if (spark !== b.spark) {
        b.spark = spark;
        dirty.sparks.add(id);
      }
    }
    dirty.rows.add(id);
    dirty.order = true; // a figure of the sort column may have moved
  }

  function onList(ids) {
    const keep = new Set(Array.isArray(ids) ? ids : []);
    for (const id of Array.from(bots.keys())) {
      if (!keep.has(id)) {
        bots.delete(id); // retired
        table.remove(id);
        dirty.rows.delete(id);
        dirty.order = true;
      }
    }
    for (const id of keep) if (!bots.has(id)) upsert(id, null, Date.now()); // its summary follows
    dirty.header = true;
  }

  function live() {
    if (S.conn === "live" || S.conn === "offline") return;
    link.statusArrived(); // resets the reconnect backoff
    link.setConn("live");
    note(""); // what the last connection said is over
  }

  function handleFrame(raw) {
    const envs = envelopes(raw);
    const now = Date.now();
    for (const env of envs) {
      const d = env.data && typeof env.data === "object" ? env.data : {};
      try {
        switch (env.type) {
          case "bot_list":
            onList(d.bots);
            live();
            break;
          case "bot_summary":
            if (typeof env.bot === "string" && env.bot) {
              upsert(env.bot, d, now);
              dirty.header = true;
              live();
            }
            break;
          case "heartbeat":
            break; // its arrival is the news (socket.js noted the time)
          case "alert_fired":
            notify.alert(alertToast(env)); // one of the user's own alerts, linking to its bot
            break;
          case "error":
            note(d.message || d.code || "error");
            break;
          default:
            break; // the overview socket sends nothing else; a newer server's extras are ignored
        }
      } catch (e) {
        console.error("overview: failed to apply", env.type, e);
      }
    }
    if (envs.length) schedule();
    return envs.length;
  }

  // ---- drawing ----
  function render() {
    rafId = 0;
    const now = new Date();
    if (dirty.header) renderHeader(now);
    for (const id of dirty.rows) {
      const b = bots.get(id);
      if (b) table.update(id, b.data, dirty.sparks.has(id) ? b.spark : null, now);
    }
    dirty.rows.clear();
    dirty.sparks.clear();
    if (dirty.order) {
      dirty.order = false;
      table.order(sortBots(Array.from(bots.values(), (b) => b.data), sort).map((s) => s.bot));
    }
    el.empty.hidden = bots.size > 0;
    el.table.hidden = bots.size === 0;
    el.sortBox.hidden = bots.size < 2; // nothing to rank
  }

  function renderHeader(now) {
    dirty.header = false;
    const ms = now.getTime();
    const state = shownState(S.conn, S.lastFrameAt, ms);
    el.conn.textContent = connText(state, Math.max(0, Math.ceil((S.retryAt - ms) / 1000)), Math.round((ms - S.lastFrameAt) / 1000));
    el.conn.dataset.state = state;
    el.conn.title = state === "stale" ? "Nothing arrived for a while: the figures may be out of date" : "";
    document.body.classList.toggle("stale", state !== "live" && bots.size > 0);
    let online = 0;
    for (const b of bots.values()) if (b.data.online === true) online += 1;
    el.count.textContent = bots.size ? bots.size + (bots.size === 1 ? " bot" : " bots") + " · " + online + " online" : "";
  }

  function showSort() {
    for (const th of el.table.querySelectorAll("th[data-sort]")) {
      const s = ariaSort(sort, th.dataset.sort);
      if (s === "none") th.removeAttribute("aria-sort");
      else th.setAttribute("aria-sort", s);
    }
    el.sortKey.value = sort.key;
    el.sortDir.textContent = sort.dir === "asc" ? "Ascending" : "Descending";
    el.sortDir.dataset.dir = sort.dir;
    el.sortDir.setAttribute("aria-label", "Sort order: " + (sort.dir === "asc" ? "ascending" : "descending") + " (switch)");
  }

  function setSort(next) {
    sort = next;
    try {
      localStorage.setItem(SORT_KEY, JSON.stringify(sort));
    } catch (e) {
      /* not remembered */
    }
    showSort();
    dirty.order = true;
    schedule();
  }

  // ---- wiring ----
  for (const btn of el.table.querySelectorAll("th[data-sort] button")) {
    btn.addEventListener("click", () => setSort(nextSort(sort, btn.closest("th").dataset.sort)));
  }
  el.sortKey.addEventListener("change", () => {
    if (isSortKey(el.sortKey.value)) setSort(nextSort({ key: null, dir: "desc" }, el.sortKey.value));
  });
  el.sortDir.addEventListener("click", () => setSort({ key: sort.key, dir: sort.dir === "asc" ? "desc" : "asc" }));
  showSort();

  // The page's own copy: rows at once, with the equity history the server kept; live from the socket.
  const sparks = readJson("initial-sparks", {}) || {};
  const now = Date.now();
  for (const s of readJson("initial-bots", []) || []) {
    if (!s || typeof s.bot !== "string") continue;
    const { bot, ...data } = s;
    if (bots.has(bot)) continue;
    bots.set(bot, { data: { bot }, spark: newSpark(sparks[bot]) });
    dirty.sparks.add(bot);
    upsert(bot, data, now); // its equity now is the newest point (the 10 s clock starts here)
  }
  schedule();
  link.connect();
}
