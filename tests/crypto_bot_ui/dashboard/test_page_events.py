"""The page renders every event the contract declares, and nothing the contract does not."""

from __future__ import annotations

import re
from pathlib import Path

from bot_api.events import EVENT_MODELS

PAGE = Path(__file__).resolve().parents[3] / "crypto_bot_ui/dashboard/static/dashboard/dashboard.js"


def test_the_pages_switch_handles_exactly_the_contracts_event_types() -> None:
    source = PAGE.read_text()
    switch = source[source.index("switch (env.type)"):source.index("default:", source.index("switch (env.type)"))]
    handled = set(re.findall(r'case "([a-z_]+)":', switch))
    assert handled == set(EVENT_MODELS), "add a `case` to applyEnvelope in dashboard.js (or remove a stale one)"


OVERVIEW = PAGE.parent / "overview" / "overview.js"


def test_the_overview_handles_what_its_socket_sends() -> None:
    """The overview socket carries lists, summaries, heartbeats and errors (overview.py, relay.py), and the
    user's fired alerts (sockets.py)."""
    source = OVERVIEW.read_text()
    switch = source[source.index("switch (env.type)"):source.index("default:", source.index("switch (env.type)"))]
    handled = set(re.findall(r'case "([a-z_]+)":', switch))
    assert handled == {"bot_list", "bot_summary", "heartbeat", "error", "alert_fired"}
    assert handled <= set(EVENT_MODELS)
