// The dashboard's WebSocket: connect, resume after the last seq, reconnect with jittered backoff,
// acknowledge what was applied, and notice a link that went quiet (stale) or died half-open.
import {
  DEAD_AFTER_MS, OPEN_TIMEOUT_MS, backoffDelay, commandId, resumeAnswer, shownState,
} from "./link.js";
import { commandText } from "./texts.js";

/** S: the shared state; view: render.js's API; onFrame(raw): applies a frame, returns how many
 *  events it carried; acks: whether to acknowledge events (the bot socket's flow control; the
 *  overview socket has none). A socket resumes only when S.lastSeq is set (the overview never sets it). */
export function createSocket({ S, view, wsPath, onFrame, acks = true }) {
  const { dirty, schedule, log, notice } = view;
  let path = wsPath;
  let generation = 0; // bumped by switchTo: work begun for the previous path is dropped
  let ws = null;
  let gotStatus = false; // a status arrived on the current socket
  let attempt = 0;
  let retryTimer = 0;
  let openTimer = 0;
  let leaving = false;
  let shown = null;
  let everLive = false; // a socket of this page delivered before: the next one is a reconnection
  let wsOpened = false; // the current socket completed its handshake

  function setConn(state) {
    S.conn = state;
    dirty.header = true;
    schedule();
  }

  // Twice a second: is the live link still talking? (Heartbeats come every second when idle.)
  setInterval(() => {
    const now = Date.now();
    const state = shownState(S.conn, S.lastFrameAt, now);
    if (state !== shown || state !== "live") {
      shown = state;
      dirty.header = true;
      schedule();
    }
    // Any open socket, live or still waiting for its snapshot or resume answer, that heard
    // nothing for this long is given up: a frozen server never closes it.
    if (ws && wsOpened && now - S.lastFrameAt >= DEAD_AFTER_MS) {
      log("connection", "no data for " + Math.round((now - S.lastFrameAt) / 1000) + " s: opening a new connection");
      drop(ws);
      lostPending();
      scheduleReconnect();
    }
  }, 500);

  /** Called for every status frame: a snapshot resets the backoff; true for the first on this socket. */
  function statusArrived() {
    attempt = 0;
    const first = !gotStatus;
    gotStatus = true;
    everLive = true;
    return first;
  }

  // ---- commands ----
  let pendingTimer = 0;
  function clearPending() {
    S.pending = null;
    clearTimeout(pendingTimer);
    dirty.header = true;
    schedule();
  }

  /** Send a command; extra: its own fields (e.g. symbol); label: which button shows it pending. */
  function send(command, extra, label) {
    if (!ws || ws.readyState !== WebSocket.OPEN || S.conn !== "live" || S.pending) return false;
    const id = commandId();
    try {
      ws.send(JSON.stringify(Object.assign({}, extra || {}, { command, id })));
    } catch (e) {
      notice(commandText({ command, ok: false, error: "unavailable" }), "error");
      return false;
    }
    S.pending = { id, command, label: label || command };
    pendingTimer = setTimeout(() => {
      if (S.pending && S.pending.id === id) {
        notice(commandText({ command, ok: false, error: "unavailable" }) + " No answer within 15 s.", "error");
        clearPending();
      }
    }, 15000);
    dirty.header = true;
    schedule();
    return true;
  }

  // ---- flow control ----
  // The server cannot see whether we read (its buffers take everything), so we tell it: the last
  // applied seq, after 200 events or 1 s after the first unacknowledged one.
  let ackTimer = 0;
  let unacked = 0;
  let ackedSeq = null;
  function sendAck() {
    clearTimeout(ackTimer);
    ackTimer = 0;
    unacked = 0;
    if (!ws || ws.readyState !== WebSocket.OPEN || S.lastSeq === null || S.lastSeq === ackedSeq) return;
    ackedSeq = S.lastSeq;
    try {
      ws.send(JSON.stringify({ command: "ack", seq: S.lastSeq }));
    } catch (e) {
      /* the socket is closing; the next one resumes from lastSeq anyway */
    }
  }
  function frameApplied(count) {
    if (!count || !acks) return;
    unacked += count;
    if (unacked >= 200) sendAck();
    else if (!ackTimer) ackTimer = setTimeout(sendAck, 1000);
  }

  // ---- connection ----
  function wsUrl() {
    if (/^wss?:\/\//.test(path)) return path;
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
  }

  function clearRetry() {
    clearTimeout(retryTimer);
    retryTimer = 0;
  }

  // Forget a socket without waiting for its closing handshake (a frozen server never answers it).
  function drop(sock) {
    clearTimeout(openTimer);
    wsOpened = false;
    sock.onopen = sock.onmessage = sock.onclose = null;
    try {
      sock.close(4000);
    } catch (e) {
      /* already closed */
    }
    if (ws === sock) ws = null;
  }

  function connect() {
    clearRetry();
    if (leaving || ws) return;
    if (navigator.onLine === false) {
      setConn("offline");
      return;
    }
    setConn("connecting");
    gotStatus = false;
    ackedSeq = null;
    S.botOnline = null; // the server re-sends bot_presence after the snapshot
    let sock;
    try {
      sock = new WebSocket(wsUrl());
    } catch (e) {
      console.error("dashboard: cannot open socket", e);
      scheduleReconnect();
      return;
    }
    ws = sock;
    wsOpened = false;
    let opened = false;
    openTimer = setTimeout(() => {
      if (ws === sock && !opened) {
        log("connection", "the server did not answer within " + OPEN_TIMEOUT_MS / 1000 + " s");
        drop(sock);
        scheduleReconnect();
      }
    }, OPEN_TIMEOUT_MS);
    // Resuming: everything before the server's answer is dropped (a snapshot newer than our state,
    // then events older than it); after it comes one ordered stream: the missed events, or a fresh
    // status marked recovered: false.
    let resumeId = null;
    sock.onopen = () => {
      opened = true;
      wsOpened = true;
      clearTimeout(openTimer);
      S.lastFrameAt = Date.now();
      if (S.lastSeq !== null) {
        resumeId = commandId();
        sock.send(JSON.stringify({ command: "resume", last_seq: S.lastSeq, id: resumeId }));
      }
    };
    sock.onmessage = (ev) => {
      if (ws !== sock) return;
      S.lastFrameAt = Date.now();
      if (resumeId !== null) {
        const answer = resumeAnswer(ev.data, resumeId);
        if (answer === null) return;
        resumeId = null;
        if (answer.refused) {
          S.lastSeq = null; // a server that does not know resume: start over with a snapshot
          sock.close(4000);
          return;
        }
        onResumed(answer);
        return;
      }
      frameApplied(onFrame(ev.data));
    };
    sock.onclose = (ev) => {
      if (ws === sock) {
        ws = null;
        clearTimeout(openTimer);
        onClosed(ev.code, opened);
      }
    };
  }

  function onResumed(d) {
    const again = everLive;
    everLive = true;
    if (d.ok && d.recovered) {
      log("connection", again ? "reconnected: the events missed since #" + S.lastSeq + " follow"
        : "connected: the events since the page loaded follow");
      statusArrived(); // our state plus the replay is the bot's state: live now
      setConn("live");
    } else if (d.ok) {
      log("connection", "reconnected after too long to replay: a fresh snapshot follows");
    } else {
      log("connection", "could not resume (" + (d.error || "error") + "): a fresh snapshot follows");
    }
  }

  function toLogin() {
    log("connection", "signed out");
    setConn("offline");
    const next = encodeURIComponent(location.pathname || "/").replace(/%2F/gi, "/");
    location.assign("/accounts/login/?next=" + next);
  }

  // A refused handshake reaches the page as a bare 1006, like a network failure: ask the server
  // whether the session is still valid before retrying.
  function checkSession() {
    return fetch((location.pathname || "/") + location.search, { redirect: "manual", cache: "no-store", credentials: "same-origin" })
      .then((resp) => resp.type !== "opaqueredirect")
      .catch(() => true); // unreachable: keep retrying, the session may be fine
  }

  // A command in flight when its socket went: its answer, if any, went with it.
  function lostPending() {
    if (S.pending) {
      notice("Connection lost: the outcome of " + S.pending.command.replace(/_/g, " ") + " is not known yet.", "error");
      clearPending();
    }
  }

  function onClosed(code, opened) {
    wsOpened = false;
    lostPending();
    if (leaving) return;
    if (code === 4001 || code === 4003) {
      toLogin(); // not logged in, session ended, or account deactivated
      return;
    }
    if (code === 4009) {
      location.reload(); // now an operator, or now a viewer: the page comes back with those controls
      return;
    }
    if (code === 4004) {
      location.assign("/?all"); // no such bot (retired, or a mistyped address): the list of those there are
      return;
    }
    if (!opened) {
      const gen = generation;
      checkSession().then((valid) => {
        if (leaving || gen !== generation) return;
        if (valid) scheduleReconnect();
        else toLogin();
      });
      return;
    }
    if (code === 4008 && attempt === 0) {
      attempt = 1;
      log("connection", "the server dropped this page for falling behind; reconnecting now");
      connect();
      return;
    }
    if (code === 4029) {
      log("connection", "too many dashboards are open for this account; close some tabs (retrying)");
    } else {
      log("connection", "connection closed (code " + code + ")");
    }
    scheduleReconnect();
  }

  function scheduleReconnect() {
    clearRetry();
    if (navigator.onLine === false) {
      setConn("offline");
      return;
    }
    const delay = backoffDelay(attempt);
    attempt += 1;
    S.retryAt = Date.now() + delay;
    setConn("reconnecting");
    retryTimer = setTimeout(connect, delay);
  }

  window.addEventListener("offline", () => {
    clearRetry();
    setConn("offline");
    log("connection", "this device is offline");
  });
  window.addEventListener("online", () => {
    log("connection", "this device is online again");
    if (ws && ws.readyState === WebSocket.OPEN) {
      setConn(gotStatus ? "live" : "connecting");
    } else if (!ws) {
      attempt = 0;
      connect();
    } else {
      setConn("connecting");
    }
  });
  window.addEventListener("pagehide", () => {
    leaving = true;
    clearRetry();
    if (ws) drop(ws);
  });
  window.addEventListener("pageshow", (ev) => {
    if (ev.persisted) {
      leaving = false;
      attempt = 0;
      connect();
    }
  });

  /** Leave the current socket for another path (another bot's): nothing the old one carried arrives
   *  after this, its command in flight is forgotten, and the new one starts without a resume (the
   *  caller has reset S, so its first frame is the new bot's snapshot). */
  function switchTo(newPath) {
    generation += 1;
    path = newPath;
    clearRetry();
    if (ws) drop(ws);
    clearTimeout(pendingTimer);
    clearTimeout(ackTimer);
    ackTimer = 0;
    unacked = 0;
    ackedSeq = null;
    attempt = 0;
    gotStatus = false;
    everLive = false;
    S.lastFrameAt = Date.now();
    connect();
  }

  return { connect, send, setConn, clearPending, statusArrived, switchTo };
}
