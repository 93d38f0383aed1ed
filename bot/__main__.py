"""`python -m bot`: run the trading bot until SIGTERM/SIGINT."""

import sys

from bot.runner import main

sys.exit(main())
