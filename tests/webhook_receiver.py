"""A local HTTP endpoint that records the JSON POSTed to it (the notifier's webhook and Apprise's
`json://` both post here in tests). Runs in its own thread; can be told to fail."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    """What the receiver got, in order, and how to make it fail."""

    posts: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    failures_left: int = 0
    failure_status: int = 503
    refused: int = 0
    changed: threading.Condition = field(default_factory=threading.Condition)

    def fail_next(self, times: int, status: int = 503) -> None:
        """Answer `status` to the next `times` requests (and record nothing of them)."""
        with self.changed:
            self.failures_left, self.failure_status = times, status

    def wait_posts(self, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
        """The posts once there are at least `count` (AssertionError after `timeout` seconds)."""
        with self.changed:
            if not self.changed.wait_for(lambda: len(self.posts) >= count, timeout):
                raise AssertionError(f"{len(self.posts)} posts received, waited for {count}")
            return list(self.posts)


@contextmanager
def webhook_receiver() -> Iterator[tuple[str, Received]]:
    """A receiver on 127.0.0.1 (a free port): yields its URL and what it received."""
    received = Received()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with received.changed:
                if received.failures_left:
                    received.failures_left -= 1
                    received.refused += 1
                    status = received.failure_status
                else:
                    received.posts.append(json.loads(body))
                    received.headers.append(dict(self.headers.items()))
                    received.changed.notify_all()
                    status = 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    finally:
        server.shutdown()
        server.server_close()
