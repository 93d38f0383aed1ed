"""Binance spot through python-binance: the only package that imports it (see `pybinance`).

`exchange.open_binance` builds the Exchange; `rest` guards every REST call (circuit breaker,
rate-limit gate, timeout), `market` streams prices with a REST fallback, `broker` places MARKET
orders, `user_stream` follows the account, `klines` reads candles of the past.
"""
