"""The web server's command line, spelled once: Daphne serving the dashboard, bound where WEB_HOST
and WEB_PORT say, with the WebSocket frame limit the contract sets (`MAX_SEND_BYTES`).

`make run` (the Procfile), the Docker image, docker-compose.yml and the benchmark all start
`python -m crypto_bot_ui.serve`; only the benchmark's textbook baseline names another app.
"""

from __future__ import annotations

import argparse

from daphne.cli import CommandLineInterface
from django.core.exceptions import ImproperlyConfigured

from bot_api.frames import MAX_SEND_BYTES
from crypto_bot_ui.env import ServeSettings, load

APP = "crypto_bot_ui.asgi:application"


def daphne_args(*, host: str, port: int, app: str = APP) -> list[str]:
    """Daphne's arguments for serving `app` on host:port."""
    return ["--bind", host, "--port", str(port), "--websocket-max-message-size", str(MAX_SEND_BYTES), app]


def main(argv: list[str] | None = None) -> None:
    """Serve until stopped; `--bind`/`--port` override WEB_HOST/WEB_PORT."""
    try:
        where = load(ServeSettings)
    except ImproperlyConfigured as exc:
        raise SystemExit(f"configuration error: {exc}") from None
    parser = argparse.ArgumentParser(prog="python -m crypto_bot_ui.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--bind", default=where.web_host, help="address (WEB_HOST)")
    parser.add_argument("--port", type=int, default=where.web_port, help="port (WEB_PORT)")
    parser.add_argument("app", nargs="?", default=APP, help="the ASGI application (module:attribute)")
    args = parser.parse_args(argv)
    CommandLineInterface().run(daphne_args(host=args.bind, port=args.port, app=args.app))


if __name__ == "__main__":
    main()
