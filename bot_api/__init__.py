"""The contract between the trading bot and the dashboard: models, Redis names, transport."""

from bot_api.errors import BotApiError, ContractError, TransportError

PROTOCOL_VERSION = 1
DEFAULT_BOT_ID = "main"

__all__ = ["DEFAULT_BOT_ID", "PROTOCOL_VERSION", "BotApiError", "ContractError", "TransportError"]
