// Which pop-ups are showing: at most MAX at a time, trades that come fast grouped into one, each
// gone after a while. Pure (the clock is passed in); notify.js draws it; node --test covers it.

export const MAX_TOASTS = 3;
export const TOAST_MS = 5000;
/** Trades within this long of the last trade toast join it instead of adding another. */
export const GROUP_MS = 4000;
/** A trade executed longer ago than this is news no more (a replay after a reconnect): no pop-up. */
export const FRESH_MS = 15000;

/** Whether a trade is recent enough to announce (`now` and `executed_at` on the same clock). */
export const isFresh = (t, now) => !(now - Date.parse(t.executed_at) > FRESH_MS);

/** The toasts on screen: push, dismiss and expire return whether anything changed. */
export class ToastQueue {
  constructor() {
    this.items = [];
    this.nextId = 1;
  }

  /** A trade: a new toast, or counted into the newest trade toast if it is recent (a grouped toast
   *  keeps counts and its latest trade only: bounded however long the burst). */
  trade(t, now) {
    const last = this.items[this.items.length - 1];
    const sell = t.side === "sell";
    if (last && now - last.at < GROUP_MS) {
      last.count += 1;
      last.sells += sell ? 1 : 0;
      last.latest = t;
      last.at = now;
      last.until = now + TOAST_MS;
      return last;
    }
    return this.add({ count: 1, sells: sell ? 1 : 0, latest: t }, now);
  }

  add(item, now) {
    const toast = Object.assign({ id: this.nextId++, at: now, until: now + TOAST_MS }, item);
    this.items.push(toast);
    while (this.items.length > MAX_TOASTS) this.items.shift();
    return toast;
  }

  dismiss(id) {
    const before = this.items.length;
    this.items = this.items.filter((t) => t.id !== id);
    return this.items.length !== before;
  }

  expire(now) {
    const before = this.items.length;
    this.items = this.items.filter((t) => t.until > now);
    return this.items.length !== before;
  }
}

/** A trade toast's text: one trade in full, several as counts ("5 trades: 3 buys, 2 sells"). */
export function toastText(item, line) {
  if (item.count === 1) return line(item.latest);
  const buys = item.count - item.sells;
  const parts = [];
  if (buys) parts.push(buys + (buys > 1 ? " buys" : " buy"));
  if (item.sells) parts.push(item.sells + (item.sells > 1 ? " sells" : " sell"));
  return item.count + " trades: " + parts.join(", ");
}
