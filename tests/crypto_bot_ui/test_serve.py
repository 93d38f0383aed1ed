"""The web server's command line is spelled once: every way of starting the web process uses it,
and each server gets the contract's frame limit and leaves forwarded headers to the application."""

from __future__ import annotations

import re
from pathlib import Path

from bot_api.frames import MAX_SEND_BYTES
from crypto_bot_ui.env import ServeSettings
from crypto_bot_ui.serve import APP, daphne_args, uvicorn_options

ROOT = Path(__file__).resolve().parents[2]


def test_uvicorn_is_the_default_and_gets_the_contracts_frame_limit() -> None:
    assert ServeSettings.model_validate({}).web_server == "uvicorn"
    options = uvicorn_options(host="127.0.0.2", port=9000)
    assert (options["host"], options["port"], options["ws_max_size"]) == ("127.0.0.2", 9000, MAX_SEND_BYTES)
    assert (options["loop"], options["http"], options["ws"]) == ("uvloop", "httptools", "websockets-sansio")
    # X-Forwarded-* are judged by the application against TRUSTED_PROXIES, never by Uvicorn.
    assert options["proxy_headers"] is False
    assert options["ws_per_message_deflate"] is False
    assert options["log_config"] is None  # Django's LOGGING formats every line


def test_daphne_gets_the_contracts_frame_limit() -> None:
    args = daphne_args(host="127.0.0.2", port=9000)
    assert args == ["--bind", "127.0.0.2", "--port", "9000", "--websocket-max-message-size", str(MAX_SEND_BYTES), APP]


def test_procfile_image_compose_and_benchmark_start_the_web_server_the_same_way() -> None:
    for name in ("Procfile", "Dockerfile", "docker-compose.yml", "scripts/bench/servers.py"):
        text = (ROOT / name).read_text()
        assert "crypto_bot_ui.serve" in text, name
        assert not re.search(r"\b(daphne|uvicorn|granian)\b[^.\n]*--(bind|host|port)", text), (
            f"{name} spells out a server's command line")
