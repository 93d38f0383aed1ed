"""The trading bot: market data in, strategy signals, paper fills, events out through bot_api."""


