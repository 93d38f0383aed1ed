"""The dashboard socket: snapshot first, then live events; commands go to the bot."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from redis.exceptions import RedisError

from bot_api.command_bus import CommandBus
from bot_api.commands import BotCommand, CommandError, CommandName, parse_browser_frame
from bot_api.errors import ContractError, TransportError
from bot_api.events import BotControlEvent, CommandResultData, Envelope, encode_event, error_event
from bot_api.heartbeat import is_alive
from crypto_bot_ui.core.bot_link import bot_keys, redis_client
from crypto_bot_ui.dashboard.relay import LAGGED, Frame, Relay, Subscription, get_relay

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4001
CLOSE_LAGGED = 4008
"""The client fell behind and its queue was dropped: reconnect (and resume) at once."""
READY_TIMEOUT = 5.0


class DashboardConsumer(AsyncWebsocketConsumer):
    """Relays one bot's events to a logged-in browser and its commands back to the bot."""

    relay: Relay
    sub: Subscription | None = None
    pump: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        """Refuse anonymous users before accepting; otherwise start the event pump."""
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.relay = get_relay()
        self.sub = self.relay.subscribe(settings.WS_SEND_QUEUE)
        await self.accept()
        self.pump = asyncio.create_task(self._pump(self.sub))

    async def disconnect(self, code: int) -> None:
        """Stop the pump and leave the relay."""
        if self.pump is not None:
            self.pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.pump
        if self.sub is not None:
            self.relay.unsubscribe(self.sub)

    async def _pump(self, sub: Subscription) -> None:
        """Send the snapshot, then every queued frame newer than it, in order."""
        last_seq = await self._send_snapshot()
        while True:
            item = await sub.queue.get()
            if item is LAGGED:
                logger.info("closing a lagging socket of %s", self.scope["user"])
                await self.close(code=CLOSE_LAGGED)
                return
            if not isinstance(item, Frame):
                continue
            if item.is_status:
                last_seq = item.seq or 0
            elif last_seq is None:
                if item.seq is not None:
                    continue  # no snapshot sent yet: the first bot frame must be a status
            elif item.seq is not None and item.seq <= last_seq:
                continue  # already contained in the snapshot
            elif item.seq is not None:
                last_seq = item.seq
            await self.send(text_data=item.raw)

    async def _send_snapshot(self) -> int | None:
        """Send status (if the bot ever published one) then presence; return its seq."""
        try:
            await asyncio.wait_for(self.relay.ready.wait(), READY_TIMEOUT)
            snapshot = await self.relay.snapshot()
        except (TimeoutError, RedisError, OSError) as exc:
            logger.warning("no snapshot for a new socket: %s", exc)
            await self._send_event(error_event("unavailable", "the bot's data is unreachable; retrying"))
            snapshot = None
        seq = None
        if snapshot is not None:
            await self.send(text_data=snapshot.raw)
            seq = snapshot.seq or 0
        presence = self.relay.presence_frame()
        if presence is not None:
            await self.send(text_data=presence.raw)
        return seq

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Validate a browser frame and forward its command; answer every defect with `error`."""
        if text_data is None:
            await self._send_event(error_event("invalid_frame", "binary frames are not accepted"))
            return
        try:
            frame = parse_browser_frame(text_data)
        except ContractError as exc:
            await self._send_event(error_event(exc.code, exc.message))
            return
        await self._forward(frame.id, CommandName(frame.command))

    async def _forward(self, command_id: str, command: CommandName) -> None:
        keys = bot_keys()
        redis = redis_client()
        try:
            if not await is_alive(redis, keys.heartbeat_key):
                await self._answer(command_id, command, CommandError.BOT_OFFLINE)
                return
            user = self.scope["user"]
            cmd = BotCommand.create(
                command_id=command_id, command=command, bot=keys.bot_id, issued_by=user.get_username()
            )
            await CommandBus(redis, keys).send(cmd)
            logger.info("%s sent %s (%s)", user.get_username(), command.value, command_id)
        except (TransportError, RedisError, OSError) as exc:
            logger.warning("command %s could not reach Redis: %s", command_id, exc)
            await self._answer(command_id, command, CommandError.UNAVAILABLE)

    async def _answer(self, command_id: str, command: CommandName, error: CommandError) -> None:
        data = CommandResultData(id=command_id, command=command.value, ok=False, error=error.value)
        await self._send_event(BotControlEvent(bot=bot_keys().bot_id, data=data))

    async def _send_event(self, event: Envelope) -> None:
        await self.send(text_data=encode_event(event))

    async def send(self, *args: Any, **kwargs: Any) -> None:
        """Send a frame, tolerating a socket that closed meanwhile."""
        with contextlib.suppress(RuntimeError):
            await super().send(*args, **kwargs)
