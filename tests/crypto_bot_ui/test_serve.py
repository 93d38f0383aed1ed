"""The web server's command line is spelled once: every way of starting the web process uses it."""

from __future__ import annotations

import re
from pathlib import Path

from bot_api.frames import MAX_SEND_BYTES
from crypto_bot_ui.serve import APP, daphne_args

ROOT = Path(__file__).resolve().parents[2]


def test_daphne_gets_the_contracts_frame_limit() -> None:
    args = daphne_args(host="127.0.0.2", port=9000)
    assert args == ["--bind", "127.0.0.2", "--port", "9000", "--websocket-max-message-size", str(MAX_SEND_BYTES), APP]


def test_procfile_image_compose_and_benchmark_start_the_web_server_the_same_way() -> None:
    for name in ("Procfile", "Dockerfile", "docker-compose.yml", "scripts/bench/servers.py"):
        text = (ROOT / name).read_text()
        assert "crypto_bot_ui.serve" in text, name
        assert not re.search(r"\bdaphne\b[^.\n]*--bind", text), f"{name} spells out Daphne's command line"
