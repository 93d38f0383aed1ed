// The Alerts panel of a bot's page: the user's own alerts on this bot (switch on/off, delete), the form
// to add one, and their latest firings; all through /api/alerts with the page's CSRF token. The words and
// checks are alerts.js's; the server checks everything again and its 400 message is shown as it says it.
import {
  CHANNELS, CHANNEL_LABELS, KINDS, SHARED_CHANNELS, alertPayload, apiProblem, channelsText, conditionText, firingRow, kindOf,
  levelHint, levelText, windowText,
} from "./alerts.js";
import { fmtSince } from "./format.js";
import { mk } from "./render.js";

const FIRINGS_SHOWN = 8;
const REFRESH_GAP_MS = 1000;

/** bot: the page's bot; returns setBot(id) (the switcher moved the page), setSymbols(list) (from the
 *  bot's snapshot), fired(env) (an alert_fired arrived: the lists are read again). */
export function createAlertsPanel({ bot }) {
  const $ = (id) => document.getElementById(id);
  const el = {
    form: $("alert-form"), kind: $("alert-kind"), symbol: $("alert-symbol"), symbolField: $("alert-symbol-field"),
    level: $("alert-level"), levelLabel: $("alert-level-label"), window: $("alert-window"),
    windowField: $("alert-window-field"), channels: $("alert-channels"), note: $("alert-note"), add: $("alert-add"),
    error: $("alert-error"), done: $("alert-done"), rows: $("alert-rows"), empty: $("alerts-empty"),
    table: $("alerts-table"), firings: $("alert-firings"), firingsEmpty: $("firings-empty"), botName: $("alerts-bot"),
  };
  if (!el.form) return { setBot() {}, setSymbols() {}, fired() {}, setShared() {} };
  let current = bot;
  let symbols = [];
  let generation = 0; // bumped by setBot: answers about the previous bot are dropped

  // ---- talking to the API ----
  const csrf = () => (el.form.elements.namedItem("csrfmiddlewaretoken") || {}).value || "";
  function api(method, url, body) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET") headers["X-CSRFToken"] = csrf();
    return fetch(url, {
      method, headers, credentials: "same-origin", cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(
      (r) => Promise.resolve(r.status === 204 ? null : r.json().catch(() => null)).then((data) => {
        if (!r.ok) throw new Error(apiProblem(r.status, data));
        return data;
      }),
      () => {
        throw new Error(apiProblem(0, null));
      },
    );
  }
  const q = (path, params) => path + "?" + new URLSearchParams(params).toString();

  // ---- messages next to the form ----
  function problem(text, field) {
    el.error.textContent = text;
    el.error.hidden = !text;
    el.done.textContent = "";
    for (const input of [el.kind, el.symbol, el.level, el.window, el.note]) input.removeAttribute("aria-invalid");
    const target = field === "channels" ? el.channels.querySelector("input") : el[field];
    if (text && target) {
      if (field !== "channels") target.setAttribute("aria-invalid", "true");
      target.focus();
    }
  }
  function done(text) {
    problem("");
    el.done.textContent = text;
  }

  // ---- the form ----
  for (const k of KINDS) {
    const option = mk("option", "", k.label);
    option.value = k.kind;
    el.kind.append(option);
  }
  for (const c of CHANNELS) {
    const label = mk("label", "toggle small");
    const box = mk("input");
    box.type = "checkbox";
    box.name = "channels";
    box.value = c;
    box.checked = c === "page";
    label.append(box, document.createTextNode(" " + CHANNEL_LABELS[c]));
    el.channels.append(label);
  }

  function showKind() {
    const k = kindOf(el.kind.value);
    const hint = levelHint(el.kind.value);
    el.levelLabel.textContent = hint.label;
    el.level.placeholder = hint.placeholder;
    el.symbolField.hidden = !(k && k.symbol);
    el.windowField.hidden = !(k && k.window);
  }
  el.kind.addEventListener("change", showKind);
  showKind();

  function setSymbols(list) {
    const next = Array.isArray(list) ? list.filter((s) => typeof s === "string") : [];
    if (next.join(",") === symbols.join(",")) return;
    const keep = el.symbol.value;
    symbols = next;
    el.symbol.textContent = "";
    for (const s of symbols) {
      const option = mk("option", "", s);
      option.value = s;
      el.symbol.append(option);
    }
    if (symbols.includes(keep)) el.symbol.value = keep;
    el.symbol.disabled = symbols.length === 0;
  }
  setSymbols([]);

  el.form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const fields = {
      kind: el.kind.value, symbol: el.symbol.value, level: el.level.value, window: el.window.value, note: el.note.value,
      channels: Array.from(el.channels.querySelectorAll("input:checked"), (i) => i.value),
    };
    const made = alertPayload(fields, current);
    if (made.problem) {
      problem(made.problem, made.field);
      return;
    }
    const gen = generation;
    el.add.disabled = true;
    el.add.classList.add("pending");
    api("POST", "/api/alerts", made.body).then((alert) => {
      if (gen !== generation) return;
      el.level.value = "";
      el.note.value = "";
      done("Added: " + conditionText(alert) + ".");
      refresh();
    }).catch((e) => {
      if (gen === generation) problem(e.message);
    }).finally(() => {
      el.add.disabled = false;
      el.add.classList.remove("pending");
    });
  });

  // ---- the lists ----
  function cell(tag, cls, label, text) {
    const c = mk(tag, cls, text);
    c.dataset.label = label;
    return c;
  }

  function alertRow(a) {
    const tr = mk("tr");
    tr.dataset.alertId = String(a.id);
    tr.classList.toggle("off", !a.enabled);
    const what = cell("th", "what", "Alert");
    what.scope = "row";
    what.append(mk("span", "kind", (kindOf(a.kind) || { label: a.kind }).label));
    if (a.note) what.append(mk("span", "note muted small", a.note));
    const toggle = mk("input");
    toggle.type = "checkbox";
    toggle.checked = a.enabled;
    toggle.setAttribute("aria-label", "Alert " + conditionText(a) + " on");
    toggle.addEventListener("change", () => {
      toggle.disabled = true;
      api("PATCH", "/api/alerts/" + a.id, { enabled: toggle.checked }).then((saved) => {
        tr.classList.toggle("off", !saved.enabled);
        done((saved.enabled ? "Switched on: " : "Switched off: ") + conditionText(saved) + ".");
      }).catch((e) => {
        toggle.checked = !toggle.checked;
        problem(e.message);
      }).finally(() => {
        toggle.disabled = false;
      });
    });
    const on = cell("td", "on", "On");
    on.append(toggle);
    const del = mk("button", "btn btn-small btn-delete", "Delete");
    del.type = "button";
    del.setAttribute("aria-label", "Delete the alert " + conditionText(a));
    del.addEventListener("click", () => {
      if (!window.confirm("Delete the alert " + conditionText(a) + "?")) return;
      del.disabled = true;
      api("DELETE", "/api/alerts/" + a.id).then(() => {
        done("Deleted: " + conditionText(a) + ".");
        refresh();
      }).catch((e) => {
        del.disabled = false;
        problem(e.message);
      });
    });
    const action = cell("td", "action", "");
    action.append(del);
    tr.append(what, cell("td", "sym", "Symbol", a.symbol || "—"), cell("td", "level num", "Level", levelText(a)),
      cell("td", "window num", "Window", windowText(a)), cell("td", "channels", "Channels", channelsText(a.channels)),
      cell("td", "last small", "Last fired", a.last_fired_at ? fmtSince(a.last_fired_at) : "never"), on, action);
    return tr;
  }

  function showAlerts(list) {
    el.rows.textContent = "";
    for (const a of list) el.rows.append(alertRow(a));
    el.empty.hidden = list.length > 0;
    el.table.hidden = list.length === 0;
  }

  function showFirings(list) {
    el.firings.textContent = "";
    const now = new Date();
    for (const f of list) {
      const row = firingRow(f, now);
      const li = mk("li");
      li.dataset.firingId = String(row.id);
      const time = mk("time", "", row.when);
      time.dateTime = f.fired_at;
      li.append(time, mk("span", "value num", row.value), mk("span", "text", row.text));
      el.firings.append(li);
    }
    el.firingsEmpty.hidden = list.length > 0;
  }

  // Both lists, read again; at most once a second however many alerts fire (one more read after a burst).
  let lastRead = 0;
  let again = 0;
  function refresh() {
    const wait = lastRead + REFRESH_GAP_MS - Date.now();
    if (wait > 0) {
      if (!again) {
        again = setTimeout(() => {
          again = 0;
          refresh();
        }, wait);
      }
      return;
    }
    lastRead = Date.now();
    const gen = generation;
    const asked = current;
    Promise.all([api("GET", q("/api/alerts", { bot: asked })),
      api("GET", q("/api/alerts/firings", { bot: asked, limit: FIRINGS_SHOWN }))]).then(([alerts, firings]) => {
      if (gen !== generation) return;
      showAlerts(Array.isArray(alerts) ? alerts : []);
      showFirings(Array.isArray(firings) ? firings : []);
    }).catch((e) => {
      if (gen === generation) problem("Your alerts could not be loaded: " + e.message);
    });
  }

  function setBot(id) {
    generation += 1;
    current = id;
    if (el.botName) el.botName.textContent = id;
    setSymbols([]);
    showAlerts([]);
    showFirings([]);
    problem("");
    el.done.textContent = "";
    lastRead = 0;
    refresh();
  }

  /** An alert_fired envelope arrived on the socket: this bot's lists are read again. */
  function fired(env) {
    if (env && env.bot === current) refresh();
  }

  // After the first figures are painted: the lists are not what a page is opened for first.
  requestAnimationFrame(() => setTimeout(refresh, 0));
  /** Whether this user may use the shared channels (operators of the bot): the others' boxes are off. */
  function setShared(can) {
    for (const box of el.channels.querySelectorAll("input")) {
      if (!SHARED_CHANNELS.includes(box.value)) continue;
      box.disabled = !can;
      if (!can) box.checked = false;
      box.parentElement.title = can ? "" : "For operators of this bot: your alerts go to your page and your Telegram";
    }
  }

  return { setBot, setSymbols, fired, setShared };
}
