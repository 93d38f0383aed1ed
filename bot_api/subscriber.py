"""Subscribe to one bot's events on Redis, validated, with reconnects that never give up."""

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
    """Yield a bot's events from pub/sub, skipping (and logging) anything off-contract."""

    def __init__(
        self, redis_factory: Callable[[], Redis], keys: RedisKeys, *, backoff: Backoff | None = None
    ) -> None:
        self._redis_factory = redis_factory
        self._keys = keys
        self._backoff = backoff or Backoff(initial=0.5, maximum=10.0)
        self.skipped = 0

    async def __aiter__(self) -> AsyncIterator[SubscriberItem]:
        """Subscribe, yield items forever; reconnect with jittered backoff on failure."""
        while True:
            redis = self._redis_factory()
            pubsub = redis.pubsub()
            try:
                await pubsub.subscribe(self._keys.events_channel)
                await self._confirmed(pubsub)
                self._backoff.reset()
                yield Subscribed()
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None or message.get("type") != "message":
                        continue
                    item = self._decode(message["data"])
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
            if message is not None and message.get("type") == "subscribe":
                return
        raise RedisTimeoutError(f"no subscribe confirmation within {SUBSCRIBE_TIMEOUT} s")

    def _decode(self, data: bytes | str) -> Received | None:
        try:
            text = data.decode("utf-8") if isinstance(data, bytes) else data
            return Received(event=parse_event(text), raw=text)
        except UnicodeDecodeError:
            reason = "not UTF-8"
        except ContractError as exc:
            reason = f"{exc.code}: {exc.message}"
        self.skipped += 1
        logger.warning("skipped a message on %s: %s", self._keys.events_channel, reason)
        return None
