"""Process entry point: wire settings, Redis, market, strategy, broker and engine; run until stopped."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Awaitable
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.chart import candle_loop, seed_candles
from bot.config import BotSettings
from bot.connectivity import Connectivity
from bot.engine import TradingEngine
from bot.errors import BotError, ConfigError
from bot.journal import Journal
from bot.market.base import MarketData
from bot.outbox import Outbox
from bot.reconcile import reconcile
from bot.strategy import build_strategy
from bot.venue import Venue, open_venue
from bot_api.backoff import Backoff
from bot_api.command_bus import CommandBus
from bot_api.errors import TransportError
from bot_api.events import BotEvent
from bot_api.heartbeat import HEARTBEAT_INTERVAL
from bot_api.keys import RedisKeys
from bot_api.models import utcnow
from bot_api.publisher import EventPublisher
from bot_api.redis_conn import connect
from bot_api.registry import announce
from bot_api.tasks import cancel_and_wait

logger = logging.getLogger(__name__)

SEQ_WAIT_SECONDS = 2.0
"""How long startup waits for Redis to tell its seq before trusting the journal alone."""
COMMAND_BLOCK_MS = 1000
SHUTDOWN_REDIS_TIMEOUT = 0.5
SHUTDOWN_VENUE_TIMEOUT = 1.0
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

T = TypeVar("T")
Started = tuple[TradingEngine, Venue, CommandBus, str | None, Outbox]
"""What startup hands to the loops: engine, venue, command bus, command cursor, outbox."""
STATUS_PUSH_DELAY = 0.2
"""Exchange health changes within this window go out as one status."""


def main() -> int:
    """Run the bot from environment settings; return the process exit code (2: bad config)."""
    try:
        settings = BotSettings.from_env(os.environ)
    except ConfigError as exc:
        print(f"configuration error: {exc.message}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, format=LOG_FORMAT)
    try:
        asyncio.run(run(settings))
    except ConfigError as exc:  # found at start-up, e.g. a symbol the exchange does not list
        print(f"configuration error: {exc.message}", file=sys.stderr)
        return 2
    return 0


async def run(settings: BotSettings, *, stop_event: asyncio.Event | None = None) -> None:
    """Trade and publish until SIGTERM/SIGINT or `stop_event`; then clean up within ~1 s."""
    stop = stop_event if stop_event is not None else asyncio.Event()
    loop = asyncio.get_running_loop()
    handled = _install_signal_handlers(loop, stop)
    logger.info("starting: %s", settings.summary())
    redis = connect(settings.redis)
    journal = Journal(settings.journal_path)
    stopper = asyncio.create_task(stop.wait(), name="bot-stop")
    tasks: list[asyncio.Task[Any]] = [stopper]
    startup: asyncio.Task[Started] | None = None
    try:
        startup = asyncio.create_task(_start(settings, redis, journal), name="bot-startup")
        tasks.append(startup)
        await asyncio.wait({startup, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if stopper.done():
            return
        engine, venue, bus, cursor, outbox = startup.result()
        keys = settings.keys
        loops = [
            asyncio.create_task(outbox.run(), name="bot-outbox"),
            asyncio.create_task(_market_loop(venue.market, engine), name="bot-market"),
            asyncio.create_task(_exchange_status_loop(venue.connectivity, engine), name="bot-exchange-status"),
            asyncio.create_task(venue.exchange.run(), name="bot-exchange"),
            asyncio.create_task(_command_loop(bus, engine, cursor), name="bot-commands"),
            asyncio.create_task(_heartbeat_loop(redis, keys, journal), name="bot-heartbeat"),
            asyncio.create_task(_equity_loop(engine, settings.equity_interval), name="bot-equity"),
            asyncio.create_task(candle_loop(engine.candles, redis, keys), name="bot-candles"),
        ]
        tasks.extend(loops)
        done, _ = await asyncio.wait({*loops, stopper}, return_when=asyncio.FIRST_COMPLETED)
        for task in done - {stopper}:
            task.result()  # a loop crashed: re-raise (after the cleanup below)
            raise BotError(f"{task.get_name()} ended unexpectedly")
    finally:
        await cancel_and_wait(*tasks)
        await _shutdown_redis(redis, settings.keys)  # first: the UI shows the bot offline at once
        if startup is not None and startup.done() and not startup.cancelled() and startup.exception() is None:
            await _close_venue(startup.result()[1])
        journal.close()
        for sig in handled:
            loop.remove_signal_handler(sig)
        logger.info("stopped")


async def _start(settings: BotSettings, redis: Redis, journal: Journal) -> Started:
    """Build the engine from the journal (seq, ledger, state), then announce it with a status."""
    keys = settings.keys
    publisher = EventPublisher(redis, keys)
    bus = CommandBus(redis, keys)
    venue = await open_venue(settings)
    stored = await _redis_seq(publisher)
    if stored is not None and stored > journal.last_seq():
        logger.warning("Redis holds seq %d, ahead of the journal's %d; continuing above it",
                       stored, journal.last_seq())
        journal.renumber_pending(above=stored)  # the unpublished events too: none may be skipped
    engine = TradingEngine(
        settings,
        build_strategy(settings),
        venue.broker,
        _NoSink(),
        market_name=venue.market.name,
        initial_seq=journal.last_seq(),
        connectivity=venue.connectivity,
    )
    engine.restore(journal.ledger(), journal.state())
    await seed_candles(engine.candles, redis, keys, settings.symbols, venue.exchange.history)
    venue.exchange.fill_history(engine.candles, utcnow())  # the simulator's past: a restart makes no jump
    # The strategy's windows filled from the chart's history: its first decision need not wait for them.
    warmed = engine.bars.warm_up(engine.strategy, engine.candles.interval, engine.candles.base.data().symbols,
                                 utcnow())
    logger.info("strategy warmed up with %d bar close(s)", warmed)

    def continue_above(seq: int) -> None:
        journal.advance_seq(seq)
        engine.set_seq(max(seq, engine.seq))

    outbox = Outbox(journal, publisher, engine, continue_above=continue_above)
    engine.sink = outbox
    # Listening and alive before announcing: a client that sees the first status can send a
    # command at once (it is not skipped as history) and already finds the heartbeat.
    cursor = await _try(bus.start_cursor(), "resolving the command cursor")
    await _try(announce(redis, keys), "first heartbeat")
    await engine.publish_status()
    return engine, venue, bus, cursor, outbox


class _NoSink:
    """Placeholder until the outbox (which needs the engine's seq) exists; never emitted to."""

    async def emit(self, event: BotEvent) -> None:
        raise RuntimeError("the engine emitted before its sink was attached")


async def _try(step: Awaitable[T], what: str) -> T | None:
    """Run a startup step that its loop will redo anyway; on TransportError log and return None."""
    try:
        return await step
    except TransportError as exc:
        logger.warning("%s failed (%s); the loop will retry", what, exc)
        return None


async def _redis_seq(publisher: EventPublisher) -> int | None:
    """The seq Redis holds for this bot, or None if Redis does not answer within a moment.

    The journal is the bot's own truth; Redis only matters if it is ahead (another writer, a
    restored Redis), and the outbox also catches that later, so startup never waits long.
    """
    try:
        async with asyncio.timeout(SEQ_WAIT_SECONDS):
            return await publisher.last_seq()
    except (TransportError, TimeoutError) as exc:
        logger.warning("Redis does not answer (%s); starting from the journal", exc)
        return None


async def _market_loop(market: MarketData, engine: TradingEngine) -> None:
    async for tick in market.ticks():
        try:
            await engine.on_tick(tick)
        except BotError:
            # One refused order must not end the price feed; the next signal may succeed.
            logger.exception("handling a %s tick failed", tick.symbol)


async def _exchange_status_loop(connectivity: Connectivity, engine: TradingEngine) -> None:
    """Push a status whenever the price source or the circuit breaker changes."""
    while True:
        await connectivity.changed.wait()
        await asyncio.sleep(STATUS_PUSH_DELAY)  # a burst of changes becomes one status
        connectivity.changed.clear()
        await engine.publish_status()


async def _command_loop(bus: CommandBus, engine: TradingEngine, cursor: str | None) -> None:
    backoff = Backoff(initial=0.5, maximum=5.0)
    while True:
        try:
            if cursor is None:
                cursor = await bus.start_cursor()
            for received in await bus.receive(cursor, block_ms=COMMAND_BLOCK_MS):
                if received.command is not None:
                    await engine.handle_command(received.command)
                else:
                    logger.info("skipping invalid command entry %s", received.entry_id)
                # Advance before committing: a handled command is never handled twice,
                # even if the commit fails and is only made good by the next entry's.
                cursor = received.entry_id
                await bus.commit(received.entry_id)
            backoff.reset()
        except TransportError as exc:
            delay = backoff.next_delay()
            logger.warning("command stream unavailable (%s); retrying in %.1f s", exc, delay)
            await asyncio.sleep(delay)


async def _heartbeat_loop(redis: Redis, keys: RedisKeys, journal: Journal) -> None:
    """Every second: refresh the heartbeat, and reconcile with the recorder's watermark."""
    publisher = EventPublisher(redis, keys)
    failing = False
    while True:
        try:
            await announce(redis, keys)
            await reconcile(publisher, journal)
            if failing:
                logger.info("heartbeat restored")
            failing = False
        except TransportError as exc:
            if not failing:  # one line per outage
                logger.warning("heartbeat failed: %s", exc)
            failing = True
        await asyncio.sleep(HEARTBEAT_INTERVAL)


async def _equity_loop(engine: TradingEngine, interval: float) -> None:
    """A point of the equity curve every `interval` seconds (journalled like every event)."""
    while True:
        await asyncio.sleep(interval)
        await engine.record_equity()


async def _shutdown_redis(redis: Redis, keys: RedisKeys) -> None:
    """Best effort: drop the heartbeat so the UI shows offline at once, then close."""
    try:
        async with asyncio.timeout(SHUTDOWN_REDIS_TIMEOUT):
            await redis.delete(keys.heartbeat_key)
    except (RedisError, OSError, TimeoutError) as exc:
        logger.info("could not delete the heartbeat key on shutdown: %s", exc)
    try:
        async with asyncio.timeout(SHUTDOWN_REDIS_TIMEOUT):
            await redis.aclose()
    except (RedisError, OSError, TimeoutError) as exc:
        logger.info("closing Redis failed: %s", exc)


async def _close_venue(venue: Venue) -> None:
    """Close the exchange's connections, bounded: a library's close can wait out a 10 s read."""
    try:
        async with asyncio.timeout(SHUTDOWN_VENUE_TIMEOUT):
            await venue.close()
    except Exception as exc:  # noqa: BLE001 - shutting down: report and go on
        logger.info("closing the exchange connections: %s", exc)


def _install_signal_handlers(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> list[signal.Signals]:
    installed: list[signal.Signals] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError, ValueError):
            # Not the main thread (or no signal support): stop_event is the only way to stop.
            logger.debug("cannot handle %s here", sig.name)
            continue
        installed.append(sig)
    return installed
