"""Binance spot access through python-binance: REST calls behind a circuit breaker, symbol rules."""
