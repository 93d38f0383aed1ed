"""Subscribe to one bot's events on Redis (or every bot's, with one pattern), validated, with
reconnects that never give up."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot_api.backoff import Backoff
from bot_api.errors import ContractError
from bot_api.events import Event, parse_event
from bot_api.keys import RedisKeys

logger = logging.getLogger(__name__)

SUBSCRIBE_TIMEOUT = 5.0


@dataclass(frozen=True)
class Received:
    """One valid event and the exact JSON text it arrived as (forwarded without re-encoding)."""

    event: Event
    raw: str


@dataclass(frozen=True)
class Subscribed:
    """The subscription is (re)established: events published before now may have been missed."""


@dataclass(frozen=True)
class Disconnected:
    """The subscription was lost; a reconnect is under way."""

    error: str


SubscriberItem = Received | Subscribed | Disconnected


class EventSubscriber:
    """Yield a bot's events from pub/sub (every bot's under the prefix with `every_bot`), skipping
    (and logging) anything off-contract, and any event that names another bot than its channel's."""

    def __init__(
        self, redis_factory: Callable[[], Redis], keys: RedisKeys, *, backoff: Backoff | None = None,
        every_bot: bool = False,
    ) -> None:
        self._redis_factory = redis_factory
        self._keys = keys
        self._backoff = backoff or Backoff(initial=0.5, maximum=10.0)
        self._every_bot = every_bot
        self.skipped = 0

    async def __aiter__(self) -> AsyncIterator[SubscriberItem]:
        """Subscribe, yield items forever; reconnect with jittered backoff on failure."""
        while True:
            redis = self._redis_factory()
            pubsub = redis.pubsub()
            try:
                if self._every_bot:
                    await pubsub.psubscribe(self._keys.events_pattern)
                else:
                    await pubsub.subscribe(self._keys.events_channel)
                await self._confirmed(pubsub)
                self._backoff.reset()
                yield Subscribed()
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None or message.get("type") not in ("message", "pmessage"):
                        continue
                    item = self._decode(message["data"], message.get("channel"))
                    if item is not None:
                        yield item
            except (RedisError, OSError) as exc:
                logger.warning("event subscription lost: %s", exc)
                yield Disconnected(error=str(exc))
                await asyncio.sleep(self._backoff.next_delay())
            finally:
                try:
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
                    await redis.aclose()
                except (RedisError, OSError):
                    logger.debug("closing a broken subscription failed", exc_info=True)

    async def _confirmed(self, pubsub: PubSub) -> None:
        """Wait for Redis to confirm the subscription.

        SUBSCRIBE only sends the command; until Redis answers, a snapshot read on another
        connection could be served first and an event in between would reach nobody.
        """
        deadline = asyncio.get_running_loop().time() + SUBSCRIBE_TIMEOUT
        while asyncio.get_running_loop().time() < deadline:
            message = await pubsub.get_message(timeout=0.5)
            if message is not None and message.get("type") in ("subscribe", "psubscribe"):
                return
        raise RedisTimeoutError(f"no subscribe confirmation within {SUBSCRIBE_TIMEOUT} s")

    def _decode(self, data: bytes | str, channel: bytes | str | None) -> Received | None:
        name = channel.decode("utf-8", "replace") if isinstance(channel, bytes) else channel or ""
        try:
            text = data.decode("utf-8") if isinstance(data, bytes) else data
            event = parse_event(text)
            owner = self._keys.bot_of_events_channel(name)
            if event.bot == owner:
                return Received(event=event, raw=text)
            # A bot publishes only on its own channel: anything else would show one bot's
            # figures on another's page.
            reason = f"an event of bot {event.bot!r} on the channel of {owner!r}"
        except UnicodeDecodeError:
            reason = "not UTF-8"
        except ContractError as exc:
            reason = f"{exc.code}: {exc.message}"
        self.skipped += 1
        if self.skipped <= 10 or self.skipped % 1000 == 0:  # a flood must not flood the log
            logger.warning("skipped a message on %s (%d so far): %s", name, self.skipped, reason)
        return None
