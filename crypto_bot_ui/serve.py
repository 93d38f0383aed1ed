"""The web server's command line, spelled once: an ASGI server serving the dashboard, bound where
WEB_HOST and WEB_PORT say, with the WebSocket frame limit the contract sets (`MAX_SEND_BYTES`).

`make run` (the Procfile), the Docker image, docker-compose.yml and the benchmark all start
`python -m crypto_bot_ui.serve`; only the benchmark's textbook baseline names another app.

The server is Uvicorn (uvloop, httptools, the `websockets` protocol): `make bench` measured it
against Daphne and Granian with this application, and it is the fastest that passes every test
(docs/benchmarks.md). Daphne stays supported (`WEB_SERVER=daphne`, and `manage.py runserver`).
Granian is there for the benchmark only: it has no WebSocket frame-size limit, which the
contract's 1 MiB cap needs (docs/security.md).
"""

from __future__ import annotations

import argparse
import logging
from typing import Literal

from django.core.exceptions import ImproperlyConfigured

from bot_api.frames import MAX_SEND_BYTES
from crypto_bot_ui.env import ServeSettings, load

APP = "crypto_bot_ui.asgi:application"
Server = Literal["uvicorn", "daphne", "granian"]
SERVERS: tuple[Server, ...] = ("uvicorn", "daphne", "granian")
GRACEFUL_SECONDS = 5
"""On SIGTERM: seconds open sockets get to close before the process exits anyway."""


def daphne_args(*, host: str, port: int, app: str = APP) -> list[str]:
    """Daphne's arguments for serving `app` on host:port."""
    return ["--bind", host, "--port", str(port), "--websocket-max-message-size", str(MAX_SEND_BYTES), app]


def uvicorn_options(*, host: str, port: int) -> dict[str, object]:
    """Uvicorn's settings for serving the dashboard on host:port."""
    return {
        "host": host,
        "port": port,
        "loop": "uvloop",
        "http": "httptools",
        "ws": "websockets-sansio",
        "ws_max_size": MAX_SEND_BYTES,
        # Compression is per socket: every frame would be deflated once per viewer (1,000 times
        # for one event at 1,000 viewers). The frames after the first status are small anyway.
        "ws_per_message_deflate": False,
        # X-Forwarded-* are the application's to judge (TRUSTED_PROXIES, docs/security.md):
        # Uvicorn would otherwise believe them from 127.0.0.1, a proxy on the same host or not.
        "proxy_headers": False,
        "server_header": False,
        "lifespan": "on",  # shutdown stops the relay and the session guard (dashboard/lifespan.py)
        "log_config": None,  # Django's LOGGING (settings.py) formats every line, Uvicorn's too
        "timeout_graceful_shutdown": GRACEFUL_SECONDS,
    }


def serve(server: Server, *, host: str, port: int, app: str = APP) -> None:
    """Serve `app` on host:port with `server` until stopped."""
    if server == "uvicorn":
        import uvicorn

        uvicorn.run(app, **uvicorn_options(host=host, port=port))  # type: ignore[arg-type]
    elif server == "daphne":
        from daphne.cli import CommandLineInterface

        CommandLineInterface().run(daphne_args(host=host, port=port, app=app))
    else:
        try:
            from granian.constants import Interfaces, Loops
            from granian.server import Server as Granian
        except ImportError:
            raise SystemExit("Granian is installed for the benchmark only (requirements-dev.txt)") from None

        logging.getLogger(__name__).warning("Granian serves without a WebSocket frame limit: for measuring only")
        Granian(app, address=host, port=port, interface=Interfaces.ASGI, loop=Loops.uvloop).serve()


def main(argv: list[str] | None = None) -> None:
    """Serve until stopped; `--bind`/`--port`/`--server` override WEB_HOST/WEB_PORT/WEB_SERVER."""
    try:
        where = load(ServeSettings)
    except ImproperlyConfigured as exc:
        raise SystemExit(f"configuration error: {exc}") from None
    parser = argparse.ArgumentParser(prog="python -m crypto_bot_ui.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--bind", default=where.web_host, help="address (WEB_HOST)")
    parser.add_argument("--port", type=int, default=where.web_port, help="port (WEB_PORT)")
    parser.add_argument("--server", choices=SERVERS, default=where.web_server, help="ASGI server (WEB_SERVER)")
    parser.add_argument("app", nargs="?", default=APP, help="the ASGI application (module:attribute)")
    args = parser.parse_args(argv)
    serve(args.server, host=args.bind, port=args.port, app=args.app)


if __name__ == "__main__":
    main()
