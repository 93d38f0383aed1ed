"""`python -m bot`: run the trading bot until SIGTERM/SIGINT."""

import logging
import sys

from bot.runner import main

logger = logging.getLogger(__name__)

sys.exit(main())
