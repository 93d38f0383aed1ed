"""`python -m bot`: run the trading bot until SIGTERM/SIGINT; `python -m bot --check`: only validate the settings."""

import argparse
import os
import sys

from bot.config import check
from bot.runner import main

parser = argparse.ArgumentParser(prog="python -m bot", description="The trading bot, configured by the environment.")
parser.add_argument("--check", action="store_true",
                    help="validate every setting and the selected strategy's parameters, print them, exit (0 or 2)")
sys.exit(check(os.environ) if parser.parse_args().check else main())
