"""Brokers: where orders are executed."""


from bot.broker.base import Broker, Fill
from bot.broker.paper import PaperBroker

__all__ = ["Broker", "Fill", "PaperBroker"]
