"""The contract between the trading bot and the dashboard: models, Redis names, transport."""

from bot_api.errors import BotApiError, ContractError, StaleSeqError, TransportError

__all__ = ["BotApiError", "ContractError", "StaleSeqError", "TransportError"]
