"""Response shapes of the endpoints that serve the bot's own data (built from the bot_api models)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from drf_spectacular.authentication import SessionScheme
from pydantic import BaseModel, ConfigDict, RootModel

from bot_api.candles import Candle
from bot_api.events import BotSummaryData, PositionData
from bot_api.models import BotId


class PositionsResponse(BaseModel):
    """Open positions as of the bot's snapshot `seq` (taken at `ts`)."""

    model_config = ConfigDict(extra="forbid")

    seq: int | None
    ts: datetime
    positions: list[PositionData]


class CandlesResponse(BaseModel):
    """One symbol's base candles for a chart of `timeframe` seconds, oldest first; `interval` seconds
    each (null before any): the page aggregates them into candles of `timeframe`."""

    model_config = ConfigDict(extra="forbid")

    symbol: str
    timeframe: int
    interval: int | None
    candles: list[Candle]


class BotResponse(BotSummaryData):
    """One bot of `/api/bots`: its line as the overview shows it (`BotSummaryData`, figures as its
    own page shows them; null: the bot never published a status), its id, and whether you may
    steer it."""

    id: BotId
    can_control: bool
    """Whether the requesting user may send this bot commands."""


class BotsResponse(RootModel[list[BotResponse]]):
    """Every registered bot, by id."""


_BOUNDS = {"gt": ">", "ge": "≥", "lt": "<", "le": "≤"}


def decimal_bounds_hook(result: dict[str, Any], **_: Any) -> dict[str, Any]:
    """drf-spectacular post-processing: money travels as a decimal string, and pydantic leaves its
    bounds as `gt`/`ge` keys OpenAPI does not know; they become part of the description."""

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            keys = [k for k in list(node) if k in _BOUNDS and not isinstance(node[k], dict)]
            bounds = ", ".join(f"{_BOUNDS[k]} {node.pop(k)}" for k in keys)
            if bounds:
                node["format"] = "decimal"
                node["description"] = f"{node.get('description', '')} (a decimal string, {bounds})".strip()
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(result.get("components", {}))
    return result


class ChallengingSessionScheme(SessionScheme):
    """The session cookie scheme (`cookieAuth`) for our session authentication too."""

    target_class = "crypto_bot_ui.api.auth.ChallengingSessionAuthentication"


LOGIN_REQUIRED = {
    "description": "No session: log in at /accounts/login/ first.",
    "headers": {"WWW-Authenticate": {"schema": {"type": "string"}, "description": 'Session realm="api"'}},
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}


def login_responses_hook(result: dict[str, Any], **_: Any) -> dict[str, Any]:
    """drf-spectacular post-processing: every operation that needs a session may answer 401."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if any(operation.get("security") or ()):  # [] and [{}] mean open to all
                operation["responses"].setdefault("401", LOGIN_REQUIRED)
    return result
