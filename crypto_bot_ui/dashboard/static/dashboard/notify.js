// Pop-ups and the trade sound, each switchable and remembered in localStorage; and the user's fired
// alerts, which always pop up (the user chose the `page` channel for them) and link to their bot.
import { botPath } from "./bots.js";
import { fmtPrice, fmtQty } from "./format.js";
import { mk } from "./render.js";
import { tradeLine } from "./texts.js";
import { ToastQueue, isFresh, toastText } from "./toasts.js";

const TOASTS_KEY = "cryptobot.toasts";
const SOUND_KEY = "cryptobot.sound";

function remembered(key, fallback) {
  try {
    const v = localStorage.getItem(key);
    return v === null ? fallback : v === "on";
  } catch (e) {
    return fallback; // storage blocked
  }
}

function remember(key, on) {
  try {
    localStorage.setItem(key, on ? "on" : "off");
  } catch (e) {
    /* not remembered, still applies now */
  }
}

/** Wire the pop-up and sound switches (a page without them, the overview, shows alerts only); returns
 *  trade(t), alert(a) (alerts.js alertToast), and clear() (another bot: its trade pop-ups go). */
export function createNotifier() {
  const box = document.getElementById("toasts");
  const toastsToggle = document.getElementById("toasts-toggle") || { checked: false, addEventListener() {} };
  const soundToggle = document.getElementById("sound-toggle") || { checked: false, addEventListener() {} };
  toastsToggle.checked = remembered(TOASTS_KEY, true);
  soundToggle.checked = remembered(SOUND_KEY, false);
  const queue = new ToastQueue();
  let timer = 0;

  toastsToggle.addEventListener("change", () => {
    remember(TOASTS_KEY, toastsToggle.checked);
    if (!toastsToggle.checked && queue.keepAlerts()) schedule();
  });
  soundToggle.addEventListener("change", () => remember(SOUND_KEY, soundToggle.checked));

  const line = (t) => tradeLine(t, fmtQty, fmtPrice);

  const shown = new Map(); // toast id -> its element

  function toastElement(item) {
    const div = mk("div", "toast");
    div.dataset.toastId = String(item.id);
    const close = mk("button", "toast-close", "×");
    close.type = "button";
    close.setAttribute("aria-label", "Dismiss");
    close.addEventListener("click", () => {
      queue.dismiss(item.id);
      schedule();
    });
    if (item.alert) {
      // The alert's words, linking to its bot's alerts panel (on that bot's page: only a scroll).
      const link = mk("a", "toast-text");
      link.href = botPath(item.alert.bot) + "#alerts";
      link.title = item.alert.text;
      link.append(mk("strong", "toast-label", "Alert"), " ", mk("span", "toast-words"));
      div.append(link, close);
    } else {
      const text = mk("span", "toast-text");
      text.append(mk("span", "toast-words"));
      div.append(text, close);
    }
    return div;
  }

  // Drawn at most once per animation frame, however many trades a frame brought.
  let frame = 0;
  function schedule() {
    if (!frame) frame = requestAnimationFrame(draw);
  }

  function draw() {
    frame = 0;
    // Each toast keeps its element while it shows: only new ones are made (and animate in), a grouped
    // trade toast changes its text in place, and a pop-up on screen never flickers when another comes.
    const ids = new Set(queue.items.map((item) => item.id));
    for (const [id, div] of shown) {
      if (!ids.has(id)) {
        div.remove();
        shown.delete(id);
      }
    }
    queue.items.forEach((item, index) => {
      let div = shown.get(item.id);
      if (!div) {
        div = toastElement(item);
        shown.set(item.id, div);
      }
      const tone = item.alert ? "alert" : item.sells === item.count ? "sell" : "buy";
      div.className = "toast toast-" + tone;
      const text = div.querySelector(".toast-words");
      if (text.textContent !== toastText(item, line)) text.textContent = toastText(item, line);
      // In queue order; one already in place is not moved (a moved element would animate in again).
      if (box.children[index] !== div) box.insertBefore(div, box.children[index] || null);
    });
    box.hidden = queue.items.length === 0;
    clearTimeout(timer);
    if (queue.items.length) {
      const next = Math.min(...queue.items.map((t) => t.until)) - Date.now();
      timer = setTimeout(() => {
        queue.expire(Date.now());
        schedule();
      }, Math.max(50, next));
    }
  }

  let audio = null;
  function beep(up) {
    if (!soundToggle.checked) return;
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

  /** A trade arrived; one replayed after a reconnect (older than FRESH_MS) is not announced. */
  function trade(t) {
    const now = Date.now();
    if (!isFresh(t, now)) return;
    beep(t.side !== "sell");
    if (!toastsToggle.checked) return;
    queue.trade(t, now);
    schedule();
  }

  /** One of the user's alerts fired: a pop-up whatever the trade switch says, and the sound if it is on. */
  function alert(a) {
    beep(true);
    queue.alert(a, Date.now());
    schedule();
  }

  function clear() {
    if (queue.keepAlerts()) schedule();
  }

  schedule();
  return { trade, alert, clear };
}
