// A trade's journal note on the trade history page: the note cell (the note as text, who wrote it, and
// Add/Edit for who may) and its inline editor (a text box with a counter; Esc cancels, Ctrl/⌘+Enter
// saves through PATCH /api/trades/<id>; the server's answer or refusal is shown in the cell). The words
// are journal_model.js's; notes are always set as text. Driven by events, not by the page's frame.
import { DASH } from "../format.js";
import { NOTE_MAX, mayNote, noteCount, rowTexts, savedText } from "./journal_model.js";

/** An element with a class and text (always text: never HTML). */
function mk(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** config: the page's config (note_max, who may write which bot's notes); api(method, url, body): the
 *  page's request (it sends the CSRF token), resolving to the answer's JSON; announce(text): said to
 *  screen readers; onSaved(trade): the trade as the server stored it, to replace the listed one. */
export function createNoteEditor({ config, api, announce, onSaved }) {
  const noteMax = config.note_max || NOTE_MAX;
  const mac = /Mac|iPhone|iPad/.test(navigator.platform || "");
  const editors = new Map(); // trade id -> {area, original}: notes being written

  /** The note as text, who wrote it, and the button to write it (for who may). */
  function show(td, trade, message) {
    const x = rowTexts(trade);
    td.textContent = "";
    td.classList.remove("editing");
    const body = mk("div", "note-body");
    if (x.note) {
      body.append(mk("p", "note-text", x.note));
      if (x.noteBy) body.append(mk("p", "note-by small muted", x.noteBy));
    } else if (!mayNote(config, trade.bot_id)) {
      body.append(mk("span", "muted", DASH));
    }
    td.append(body);
    if (mayNote(config, trade.bot_id)) {
      const tools = mk("div", "note-tools");
      const verb = x.note ? "Edit note" : "Add note";
      const button = mk("button", "btn btn-small note-button", verb);
      button.type = "button";
      button.setAttribute("aria-label", verb + ": " + x.name);
      button.addEventListener("click", () => open(td, trade));
      tools.append(button);
      if (message) tools.append(mk("span", "note-saved small", message));
      td.append(tools);
    }
    return td.querySelector(".note-button");
  }

  function open(td, trade) {
    const x = rowTexts(trade);
    const id = "note-" + trade.id;
    td.textContent = "";
    td.classList.add("editing");
    const label = mk("label", "sr-only", "Note on the " + x.name);
    label.htmlFor = id;
    const area = mk("textarea", "input note-input");
    area.id = id;
    area.maxLength = noteMax;
    area.rows = 3;
    area.value = trade.note || "";
    area.spellcheck = true;
    const count = mk("span", "note-count small muted", noteCount(area.value, noteMax));
    count.id = id + "-count";
    const keys = mk("span", "note-keys small muted", (mac ? "⌘" : "Ctrl") + "+Enter saves · Esc cancels");
    keys.id = id + "-keys";
    const error = mk("p", "form-error small note-error");
    error.id = id + "-error";
    error.setAttribute("role", "alert");
    error.hidden = true;
    area.setAttribute("aria-describedby", [count.id, keys.id].join(" "));
    const save = mk("button", "btn btn-small btn-primary note-save", "Save");
    save.type = "button";
    const cancel = mk("button", "btn btn-small note-cancel", "Cancel");
    cancel.type = "button";
    const bar = mk("div", "note-bar");
    bar.append(save, cancel, count, keys);
    td.append(label, area, error, bar);
    editors.set(trade.id, { area, original: area.value });

    const close = (saved, message) => {
      editors.delete(trade.id);
      const button = show(td, saved || trade, message);
      if (button) button.focus();
    };
    const submit = () => {
      if (save.disabled) return;
      save.disabled = cancel.disabled = true;
      area.readOnly = true;
      save.classList.add("pending");
      api("PATCH", "/api/trades/" + encodeURIComponent(trade.id), { note: area.value }).then((saved) => {
        onSaved(saved);
        const said = savedText(saved);
        announce(said + " " + (saved.note ? "The note on the " : "No note any more on the ") + rowTexts(saved).name + ".");
        if (td.isConnected) close(saved, said);
        else editors.delete(trade.id);
      }).catch((e) => {
        save.disabled = cancel.disabled = false;
        area.readOnly = false;
        error.textContent = "Not saved: " + e.message;
        error.hidden = false;
        area.setAttribute("aria-invalid", "true");
        area.setAttribute("aria-describedby", [error.id, count.id, keys.id].join(" "));
        area.focus();
      }).finally(() => save.classList.remove("pending"));
    };
    const fit = () => {
      // As tall as the text (up to about 14 lines, then it scrolls): a note is read whole while written.
      area.style.height = "";
      area.style.height = Math.min(area.scrollHeight + 2, 320) + "px";
    };
    area.addEventListener("input", () => {
      count.textContent = noteCount(area.value, noteMax);
      count.classList.toggle("full", area.value.length >= noteMax);
      if (!error.hidden) {
        // What was refused is being changed: the refusal no longer describes the text.
        error.hidden = true;
        area.removeAttribute("aria-invalid");
        area.setAttribute("aria-describedby", [count.id, keys.id].join(" "));
      }
      fit();
    });
    area.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape" && !save.disabled) {
        ev.preventDefault();
        close(null, "");
      } else if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
        ev.preventDefault();
        submit();
      }
    });
    save.addEventListener("click", submit);
    cancel.addEventListener("click", () => close(null, ""));
    fit();
    area.focus();
    area.setSelectionRange(area.value.length, area.value.length);
  }

  return {
    /** Fill a row's note cell `td` with `trade`'s note (and its Add/Edit button for who may). */
    show(td, trade) {
      show(td, trade, "");
    },
    /** The rows are drawn anew: the notes being written in the old ones are gone with them. */
    clear() {
      editors.clear();
    },
    /** Whether notes being written may be left (asked when one has changed). */
    mayLeave() {
      const changed = [...editors.values()].some((e) => e.area.isConnected && e.area.value !== e.original);
      return !changed || window.confirm("Leave the note you are writing unsaved?");
    },
  };
}
