// Words for people: what a command did, why a command failed, what the bot is doing. Pure; tested.

const COMMAND = {
  start_bot: "Start",
  stop_bot: "Stop",
  close_position: "Close position",
  request_status: "Refresh",
  resume: "Resume",
};

const ERRORS = {
  forbidden: "you are a viewer; ask an admin to make you an operator",
  bot_offline: "the bot is not running",
  unavailable: "the server cannot reach the bot right now; try again",
  rate_limited: "too many commands; wait a few seconds",
  expired: "it arrived too late and was not carried out",
  invalid: "the bot refused it",
  no_position: "there is no position to close",
  order_failed: "the order failed",
  invalid_frame: "the page sent something the server did not understand",
  frame_too_large: "the message was too large",
  too_large: "the message was too large",
};

/** A failure code in words. */
export const errorText = (code) => ERRORS[code] || (code ? String(code).replace(/_/g, " ") : "unknown error");

/** The sentence for a command's answer (bot_control data): "Bot stopped.", "Start failed: …". */
export function commandText(d) {
  const name = COMMAND[d.command] || d.command || "Command";
  const detail = d.detail ? " " + sentence(d.detail) : "";
  if (!d.ok) return name + " failed: " + errorText(d.error) + "." + detail;
  switch (d.command) {
    case "start_bot":
      return "Bot started." + detail;
    case "stop_bot":
      return "Bot stopped." + detail;
    case "close_position":
      return "Position closed." + detail;
    default:
      return name + " done." + detail;
  }
}

/** First letter up, a full stop at the end. */
export function sentence(text) {
  const t = String(text || "").trim();
  if (!t) return "";
  return t[0].toUpperCase() + t.slice(1) + (/[.!?]$/.test(t) ? "" : ".");
}

/** What the bot's state pill says. */
export function botStateText(state, online) {
  if (online === false) return "silent";
  return state === "running" ? "running" : state === "stopped" ? "stopped" : "—";
}

/** What the connection pill says. */
export function connText(state, retryInSec, quietSec) {
  switch (state) {
    case "live":
      return "live";
    case "stale":
      return "stale · no data for " + quietSec + " s";
    case "reconnecting":
      return "reconnecting · retry in " + retryInSec + " s";
    case "connecting":
      return "connecting…";
    case "offline":
      return "offline";
    default:
      return state;
  }
}

/** A trade in one line: "BUY 0.0153 BTCUSDT @ 65,010.37". */
export function tradeLine(t, fmtQty, fmtPrice) {
  return (t.side === "sell" ? "SELL " : "BUY ") + fmtQty(t.qty) + " " + t.symbol + " @ " + fmtPrice(t.price);
}

/** A failed API call as a sentence: the server's own `{code, message}` when it sent one, else what
 *  the status says (`words` gives a page's own sentence for a status, e.g. {404: "That alert is gone."}). */
export function problemText(status, body, words = {}) {
  const message = body && typeof body.message === "string" ? body.message.trim() : "";
  if (message) {
    const text = message[0].toUpperCase() + message.slice(1);
    return /[.!?)]$/.test(text) ? text : text + ".";
  }
  if (words[status]) return words[status];
  if (status === 401) return "Your session ended: log in again.";
  if (status === 403) return "The server refused this (reload the page and try again).";
  if (status === 503) return "The server cannot reach its data right now; try again.";
  return status ? "The server answered " + status + "; try again." : "The server cannot be reached; try again.";
}
