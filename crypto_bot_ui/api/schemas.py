"""Response shapes of the endpoints that serve the bot's own data (built from the bot_api models)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from bot_api.candles import Candle
from bot_api.events import PositionData


class PositionsResponse(BaseModel):
    """Open positions as of the bot's snapshot `seq` (taken at `ts`)."""

    model_config = ConfigDict(extra="forbid")

    seq: int | None
    ts: datetime
    positions: list[PositionData]


class CandlesResponse(BaseModel):
    """One symbol's recent candles, oldest first; `interval` seconds each (null before any)."""

    model_config = ConfigDict(extra="forbid")

    symbol: str
    interval: int | None
    candles: list[Candle]


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
