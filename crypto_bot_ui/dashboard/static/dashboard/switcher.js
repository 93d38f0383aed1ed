// The bot switcher in the page's header: a disclosure (<details>) listing every bot as a link to its
// page. A plain click switches without reloading (onPick); a middle click or Ctrl-click opens the
// bot in a new tab as any link does. Escape or a click elsewhere closes it.
import { botPath, switcherIds } from "./bots.js";

/** current: the page's bot; onPick(id): the user chose another bot. */
export function createSwitcher({ current, onPick }) {
  const box = document.getElementById("bot-switcher");
  const menu = document.getElementById("bot-menu");
  const shown = document.getElementById("switcher-current");
  if (!box || !menu) return { setIds() {}, setCurrent() {}, close() {} };
  const summary = box.querySelector("summary");
  let ids = [current];
  let active = current;

  function draw() {
    menu.textContent = "";
    for (const id of switcherIds(ids, active)) {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = botPath(id);
      a.dataset.bot = id;
      a.textContent = id;
      if (id === active) a.setAttribute("aria-current", "page");
      li.append(a);
      menu.append(li);
    }
  }

  function close() {
    box.open = false;
  }

  menu.addEventListener("click", (ev) => {
    const a = ev.target.closest("a[data-bot]");
    if (!a || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
    ev.preventDefault();
    close();
    summary.focus();
    onPick(a.dataset.bot);
  });
  document.addEventListener("click", (ev) => {
    if (box.open && !box.contains(ev.target)) close();
  });
  box.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && box.open) {
      close();
      summary.focus();
    }
  });

  return {
    /** The bots there are (the initial list, then every bot_list frame). */
    setIds(list) {
      ids = Array.isArray(list) ? list.slice() : [];
      draw();
    },
    /** The page now shows `id`. */
    setCurrent(id) {
      active = id;
      if (shown) shown.textContent = id;
      draw();
    },
    close,
  };
}
