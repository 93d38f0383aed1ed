"""Brokers: where orders are executed."""

import logging

from bot.broker.base import Broker, Fill
from bot.broker.paper import PaperBroker

logger = logging.getLogger(__name__)

__all__ = ["Broker", "Fill", "PaperBroker"]
