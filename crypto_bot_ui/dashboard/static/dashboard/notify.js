// Pop-ups and the trade sound, each switchable and remembered in localStorage.
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

/** Wire the pop-up and sound switches; returns trade(t), and clear() (another bot: its pop-ups go). */
export function createNotifier() {
  const box = document.getElementById("toasts");
  const toastsToggle = document.getElementById("toasts-toggle");
  const soundToggle = document.getElementById("sound-toggle");
  toastsToggle.checked = remembered(TOASTS_KEY, true);
  soundToggle.checked = remembered(SOUND_KEY, false);
  const queue = new ToastQueue();
  let timer = 0;

  toastsToggle.addEventListener("change", () => {
    remember(TOASTS_KEY, toastsToggle.checked);
    if (!toastsToggle.checked) {
      queue.items = [];
      schedule();
    }
  });
  soundToggle.addEventListener("change", () => remember(SOUND_KEY, soundToggle.checked));

  const line = (t) => tradeLine(t, fmtQty, fmtPrice);

  // Drawn at most once per animation frame, however many trades a frame brought.
  let frame = 0;
  function schedule() {
    if (!frame) frame = requestAnimationFrame(draw);
  }

  function draw() {
    frame = 0;
    box.textContent = "";
    for (const item of queue.items) {
      const tone = item.sells === item.count ? "sell" : "buy";
      const div = mk("div", "toast toast-" + (tone || "info"));
      div.dataset.toastId = String(item.id);
      const close = mk("button", "toast-close", "×");
      close.type = "button";
      close.setAttribute("aria-label", "Dismiss");
      close.addEventListener("click", () => {
        queue.dismiss(item.id);
        schedule();
      });
      div.append(mk("span", "toast-text", toastText(item, line)), close);
      box.append(div);
    }
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

  function clear() {
    queue.items = [];
    schedule();
  }

  schedule();
  return { trade, clear };
}
