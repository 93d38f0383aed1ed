// Which pop-ups are showing: at most MAX at a time, trades that come fast grouped into one, the user's
// fired alerts each on their own and longer, each gone after a while. Pure (the clock is passed in);
// notify.js draws it; node --test covers it.

export const MAX_TOASTS = 3;
export const TOAST_MS = 5000;
/** A fired alert stays longer than a trade: the user asked to be told. */
export const ALERT_TOAST_MS = 15000;
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
    let last = null;
    for (const item of this.items) if (!item.alert) last = item; // the newest trade toast
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

  /** A fired alert (alerts.js alertToast): a toast of its own, never grouped, on screen ALERT_TOAST_MS. */
  alert(a, now) {
    return this.add({ alert: a }, now, ALERT_TOAST_MS);
  }

  /** A new toast; beyond MAX_TOASTS the oldest trade toast goes (this one, if the others are alerts), and
   *  the oldest alert only when all are alerts. */
  add(item, now, ms = TOAST_MS) {
    const toast = Object.assign({ id: this.nextId++, at: now, until: now + ms }, item);
    this.items.push(toast);
    while (this.items.length > MAX_TOASTS) {
      const trade = this.items.findIndex((x) => !x.alert);
      this.items.splice(trade >= 0 ? trade : 0, 1);
    }
    return toast;
  }

  /** Only the alerts stay (trade pop-ups were switched off, or the page shows another bot now). */
  keepAlerts() {
    const before = this.items.length;
    this.items = this.items.filter((t) => t.alert);
    return this.items.length !== before;
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

/** A toast's text: an alert's own words; one trade in full, several as counts ("5 trades: 3 buys, 2 sells"). */
export function toastText(item, line) {
  if (item.alert) return item.alert.text;
  if (item.count === 1) return line(item.latest);
  const buys = item.count - item.sells;
  const parts = [];
  if (buys) parts.push(buys + (buys > 1 ? " buys" : " buy"));
  if (item.sells) parts.push(item.sells + (item.sells > 1 ? " sells" : " sell"));
  return item.count + " trades: " + parts.join(", ");
}
