"""Seed a large trade history and time the analytics endpoints on it (run by hand; figures in
docs/benchmarks.md).

    python -m scripts.bench.analytics                        # 100,000 trades of 3 bots, a fresh SQLite file
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench python -m scripts.bench.analytics   # a fresh database
    python -m scripts.bench.analytics --trades 5000 --keep   # seed the configured database and stop (to look)

Each bot trades three symbols over a year: a buy, then a sell that closes it (a realized profit or
loss), with fees; an equity point every ten minutes. The endpoints are called through Django's test
client (routing, view, query, serialisation: all but the socket), each several times after one
untimed request; the report gives the median and the slowest call in milliseconds.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

BOTS = ("bench-a", "bench-b", "bench-c")
SYMBOLS = {"BTCUSDT": 60000, "ETHUSDT": 3000, "SOLUSDT": 150}
STRATEGIES = ("sma_cross", "mean_reversion", "sma_cross")
START = datetime(2025, 12, 1, tzinfo=UTC)
YEAR = 365 * 86400
EQUITY_EVERY = 600


def setup(database: str | None) -> None:
    """Django configured for `database` (None: the environment's)."""
    if database is not None:
        os.environ["DATABASE_URL"] = database
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crypto_bot_ui.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def seed(trades: int, seed: int = 7) -> None:
    """`trades` trades and a year of equity points, spread over the bots (their rows replaced)."""
    from django.db import connection

    from crypto_bot_ui.trades.models import EquitySnapshot, Trade
    from crypto_bot_ui.trades.services import date_openings

    rng = random.Random(seed)  # noqa: S311 - made-up trades, seeded so every run has the same
    Trade.objects.filter(bot_id__in=BOTS).delete()
    EquitySnapshot.objects.filter(bot_id__in=BOTS).delete()
    per_pair = -(-trades // (len(BOTS) * len(SYMBOLS) * 2))  # round trips of each bot's symbol, rounded up
    rows: list[Trade] = []
    for b, bot in enumerate(BOTS):
        for symbol, base in SYMBOLS.items():
            gap = YEAR // (per_pair * 2)
            at = START + timedelta(seconds=rng.randrange(gap))
            for n in range(per_pair):
                price = Decimal(base) * Decimal(1 + rng.uniform(-0.3, 0.3)).quantize(Decimal("0.0001"))
                qty = (Decimal(500) / price).quantize(Decimal("0.00001"))
                pnl = Decimal(rng.gauss(0.5, 8)).quantize(Decimal("0.00000001"))
                fee = (qty * price * Decimal("0.001")).quantize(Decimal("0.00000001"))
                for side, realized, step in (("buy", Decimal(0), rng.randrange(60, gap)), ("sell", pnl, gap)):
                    rows.append(Trade(bot_id=bot, trade_id=f"{symbol}-{n}-{side}", symbol=symbol, side=side, qty=qty,
                                      price=price, quote_qty=(qty * price).quantize(Decimal("0.00000001")), fee=fee,
                                      fee_asset="USDT", fee_in_quote=fee, realized_pnl=realized,
                                      strategy=STRATEGIES[b], executed_at=at))
                    at += timedelta(seconds=step)
            if len(rows) >= 20_000:
                Trade.objects.bulk_create(rows, batch_size=5000)
                rows = []
    Trade.objects.bulk_create(rows, batch_size=5000)
    date_openings(trades=Trade.objects.filter(bot_id__in=BOTS, trade_id__endswith="-0-buy"))  # every symbol's first
    points: list[EquitySnapshot] = []
    for bot in BOTS:
        equity = Decimal(10000)
        for n in range(YEAR // EQUITY_EVERY):
            equity += Decimal(rng.gauss(0.02, 4)).quantize(Decimal("0.01"))
            points.append(EquitySnapshot(bot_id=bot, seq=n, taken_at=START + timedelta(seconds=n * EQUITY_EVERY),
                                         equity=equity, cash=equity, realized_pnl=Decimal(0), unrealized_pnl=Decimal(0),
                                         total_pnl=Decimal(0)))
            if len(points) >= 20_000:
                EquitySnapshot.objects.bulk_create(points, batch_size=5000)
                points = []
    EquitySnapshot.objects.bulk_create(points, batch_size=5000)
    if connection.vendor == "postgresql":  # the planner's statistics, as autovacuum gathers them soon after
        with connection.cursor() as cursor:
            for model in (Trade, EquitySnapshot):
                cursor.execute(f"ANALYZE {model._meta.db_table}")


def measure(repeat: int) -> list[tuple[str, float, float]]:
    """(query, median ms, slowest ms) of each endpoint, for every bot and for one, over all time and 30 days."""
    from django.contrib.auth.models import User
    from django.test import Client

    logging.disable(logging.INFO)  # a login line per call would drown the report
    user, _ = User.objects.get_or_create(username="bench-viewer")
    client = Client(SERVER_NAME="localhost")
    client.force_login(user)
    month = "&since=2026-10-01&until=2026-10-31"
    queries = [f"/api/{path}tz=Europe/Berlin{bot}{span}"
               for path in ("performance?period=day&", "performance?period=week&", "performance?period=month&",
                            "performance.csv?period=day&", "breakdown?", "distribution?", "curve?")
               for bot in ("", "&bot=bench-a") for span in ("", month)]
    client.get(queries[0])  # the process's first request loads what every later one uses: not timed
    results = []
    for url in queries:
        times = []
        for _ in range(repeat):
            began = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - began) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{url}: {response.status_code} {response.content[:200]!r}")
        results.append((url, statistics.median(times), max(times)))
    return results


def main() -> None:
    """Seed, measure, report."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trades", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="seed the configured database (DATABASE_URL) and stop")
    args = parser.parse_args()
    database = None
    if not args.keep and not os.environ.get("DATABASE_URL"):
        database = "sqlite:///" + str(Path(tempfile.mkdtemp(prefix="analytics-bench-")) / "bench.sqlite3")
    setup(database)
    from django.db import connection

    began = time.perf_counter()
    seed(args.trades)
    from crypto_bot_ui.trades.models import Trade

    stored = Trade.objects.filter(bot_id__in=BOTS).count()
    print(f"seeded {stored:,} trades of {len(BOTS)} bots and a year of equity points on {connection.vendor} "
          f"in {time.perf_counter() - began:.1f} s", file=sys.stderr)
    if args.keep:
        return
    print(f"| endpoint ({connection.vendor}, {stored:,} trades) | median ms | slowest ms |")
    print("|---|---:|---:|")
    for url, median, slowest in measure(args.repeat):
        print(f"| `{url}` | {median:.0f} | {slowest:.0f} |")


if __name__ == "__main__":
    main()
