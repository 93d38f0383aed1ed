/* Dashboard connection: one WebSocket, reconnect with full-jitter backoff, session check, commands. */
(function () {
  "use strict";

  // ---- pure helpers (no DOM; exported for tests) ----
  // Full jitter: uniform in [0, min(cap, base * 2^attempt)], floored at 250 ms.
  const backoffDelay = (attempt, rand = Math.random, base = 1000, cap = 30000) =>
    Math.max(250, Math.floor(rand() * Math.min(cap, base * 2 ** Math.min(attempt, 16))));
  let idCounter = 0;
  const commandId = (now = Date.now()) => "c-" + now + "-" + ++idCounter;

  // The data of the bot_control answering resume `id`, {refused: true} for an error frame,
  // or null for any other frame (dropped while resuming).
  const resumeAnswer = (raw, id) => {
    try {
      const env = JSON.parse(raw);
      if (env && env.type === "error") return { refused: true };
      const d = env && env.type === "bot_control" ? env.data : null;
      return d && d.id === id && d.command === "resume" ? d : null;
    } catch (e) {
      return null;
    }
  };

  const helpers = { backoffDelay, commandId, resumeAnswer };

  if (typeof document === "undefined" || typeof window === "undefined") {
    if (typeof module !== "undefined" && module.exports) module.exports = helpers;
    return;
  }

  // S: the shared state (dashboard.js); view: the render API (render.js); onFrame: called with each raw
  // frame, returns how many events it applied.
  function create({ S, view, wsPath, onFrame }) {
    const { dirty, schedule, log, notice } = view;
    let ws = null;
    let gotStatus = false; // a status arrived on the current socket
    let attempt = 0;
    let retryTimer = 0;
    let tickTimer = 0;
    let leaving = false;

    function setConn(state) {
      S.conn = state;
      dirty.header = true;
      schedule();
    }

    // Called for every status frame: a snapshot resets the backoff. True for the first one on this socket.
    function statusArrived() {
      attempt = 0;
      const first = !gotStatus;
      gotStatus = true;
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

    // extra: the command's own fields (e.g. symbol); label: which button shows it pending.
    function send(command, extra, label) {
      if (!ws || ws.readyState !== WebSocket.OPEN || S.conn !== "live" || S.pending) return false;
      const id = commandId();
      try {
        ws.send(JSON.stringify(Object.assign({}, extra || {}, { command, id })));
      } catch (e) {
        notice(command + " failed: not sent", "error");
        return false;
      }
      if (command !== "request_status") {
        S.pending = { id, command, label: label || command };
        pendingTimer = setTimeout(() => {
          if (S.pending && S.pending.id === id) {
            notice(command + " failed: no answer", "error");
            clearPending();
          }
        }, 15000);
        dirty.header = true;
        schedule();
      }
      return true;
    }

    // ---- flow control ----
    // The server cannot see whether we read (its buffers take everything), so we tell it:
    // the last applied seq, after 200 events or 1 s after the first unacknowledged one.
    // No timer runs while nothing arrives.
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
    // count: the events a frame carried (an array frame carries several).
    function frameApplied(count) {
      if (!count) return;
      unacked += count;
      if (unacked >= 200) sendAck();
      else if (!ackTimer) ackTimer = setTimeout(sendAck, 1000);
    }

    // ---- connection ----
    function wsUrl() {
      if (/^wss?:\/\//.test(wsPath)) return wsPath;
      return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + wsPath;
    }

    function clearRetry() {
      clearTimeout(retryTimer);
      clearInterval(tickTimer);
      retryTimer = 0;
      tickTimer = 0;
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
      let opened = false;
      // Resuming: everything before the server's answer is dropped (it would be a snapshot
      // newer than our state, followed by events older than it); after it comes one ordered
      // stream: the missed events, or a fresh status marked recovered: false.
      let resumeId = null;
      sock.onopen = () => {
        opened = true;
        if (S.lastSeq !== null) {
          resumeId = commandId();
          sock.send(JSON.stringify({ command: "resume", last_seq: S.lastSeq, id: resumeId }));
        }
      };
      sock.onmessage = (ev) => {
        if (ws !== sock) return;
        if (resumeId !== null) {
          const answer = resumeAnswer(ev.data, resumeId);
          if (answer === null) return;
          resumeId = null;
          if (answer.refused) {
            // A server that does not know resume: start over with a plain snapshot.
            S.lastSeq = null;
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
          onClosed(ev.code, opened);
        }
      };
    }

    function onResumed(d) {
      if (d.ok && d.recovered) {
        log("connection", "resumed after seq " + S.lastSeq + ": missed events follow");
        statusArrived(); // our state plus the replay is the bot's state: live now
        setConn("live");
      } else if (d.ok) {
        log("connection", "resume window passed: a fresh snapshot follows");
      } else {
        log("connection", "resume failed (" + (d.error || "error") + "): a fresh snapshot follows");
      }
    }

    function toLogin() {
      log("connection", "not authenticated");
      setConn("offline");
      const next = encodeURIComponent(location.pathname || "/").replace(/%2F/gi, "/");
      location.assign("/accounts/login/?next=" + next);
    }

    // A refused handshake reaches the page as a bare 1006, indistinguishable from a network
    // failure; ask the server whether the session is still valid before retrying.
    function checkSession() {
      return fetch(location.pathname || "/", { redirect: "manual", cache: "no-store", credentials: "same-origin" })
        .then((resp) => resp.type !== "opaqueredirect")
        .catch(() => true); // unreachable: keep retrying, the session may be fine
    }

    function onClosed(code, opened) {
      if (S.pending) {
        notice(S.pending.command + ": connection lost, result unknown", "error");
        clearPending();
      }
      if (leaving) return;
      if (code === 4001 || code === 4003) {
        toLogin(); // not logged in, session ended, or account deactivated
        return;
      }
      if (!opened) {
        checkSession().then((valid) => {
          if (leaving) return;
          if (valid) scheduleReconnect();
          else toLogin();
        });
        return;
      }
      if (code === 4008 && attempt === 0) {
        attempt = 1;
        log("connection", "server dropped this client (too slow); reconnecting now");
        connect();
        return;
      }
      log("connection", "socket closed (" + code + ")");
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
      tickTimer = setInterval(() => {
        dirty.header = true;
        schedule();
      }, 1000);
    }

    window.addEventListener("offline", () => {
      clearRetry();
      setConn("offline");
      log("connection", "browser offline");
    });
    window.addEventListener("online", () => {
      log("connection", "browser online");
      if (ws && ws.readyState === WebSocket.OPEN) {
        // the socket survived; live again only if it already delivered a status
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
      if (ws) {
        const sock = ws;
        ws = null;
        sock.onclose = null;
        sock.onmessage = null;
        sock.close(1000);
      }
    });
    window.addEventListener("pageshow", (ev) => {
      if (ev.persisted) {
        leaving = false;
        attempt = 0;
        connect();
      }
    });

    return { connect, send, setConn, clearPending, statusArrived };
  }

  const NS = (window.CryptoDashboard = window.CryptoDashboard || {});
  NS.socket = Object.assign({ create }, helpers);
  // Public debug hook: the helpers sit directly on window.CryptoDashboard as well.
  Object.assign(NS, helpers);
})();
