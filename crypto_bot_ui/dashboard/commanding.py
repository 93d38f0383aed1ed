"""The web process's side of a command: rate, permission and bot presence checked, the audit log
written, then the command sent to the bot. The consumer only carries frames; this decides."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import DatabaseError
from redis.exceptions import RedisError

from bot_api.command_bus import CommandBus
from bot_api.commands import (
    BotCommand,
    ClosePositionFrame,
    CommandError,
    CommandName,
    RequestStatusFrame,
    StartBotFrame,
    StopBotFrame,
)
from bot_api.errors import TransportError
from bot_api.events import BotControlEvent, CommandResultData, Envelope
from bot_api.heartbeat import is_alive
from bot_api.models import utcnow
from crypto_bot_ui.core.bot_link import bot_keys, redis_client
from crypto_bot_ui.core.rate_limit import allow_command
from crypto_bot_ui.core.roles import can_control
from crypto_bot_ui.trades.services import record_command, record_command_result, record_refusal

logger = logging.getLogger(__name__)

CommandFrame = StartBotFrame | StopBotFrame | ClosePositionFrame | RequestStatusFrame
CONTROL = frozenset({CommandName.START_BOT, CommandName.STOP_BOT, CommandName.CLOSE_POSITION})
"""Commands that change something: operators only (`control_bot`), each one logged (who, when,
from where, the outcome), refusals included."""


@dataclass
class CommandDesk:
    """One socket's commands: its user, the address they come from, and how to answer."""

    user: Any
    address: str | None
    send_event: Callable[[Envelope], Awaitable[None]]

    async def forward(self, frame: CommandFrame) -> None:
        """Decide on a command frame: refuse it with an answer, or log it and send it to the bot."""
        keys = bot_keys()
        redis = redis_client()
        command = CommandName(frame.command)
        user = self.user
        cmd = BotCommand.create(
            command_id=frame.id, command=command, bot=keys.bot_id, issued_by=user.get_username(),
            symbol=frame.symbol if isinstance(frame, ClosePositionFrame) else None,
            close_positions=isinstance(frame, StopBotFrame) and frame.close_positions,
        )
        try:
            # The rate first: a flood of frames must cost neither the bot nor the database. Each
            # frame counts once, whatever id it reuses.
            if not await allow_command(redis, keys.command_rate_key(str(user.pk)), token=uuid.uuid4().hex,
                                       limit=settings.COMMAND_RATE_LIMIT, window=settings.COMMAND_RATE_WINDOW):
                logger.info("%s is over the command rate limit", user.get_username())
                await self.answer(frame.id, command, CommandError.RATE_LIMITED, audit=False)
                return
            # Checked here, per command, on the server: the page's disabled buttons are a courtesy.
            # Refusals come before the id is taken: a refused command never uses up the id of one
            # that may follow (a viewer replaying an operator's id first cannot block it).
            if command in CONTROL and not await database_sync_to_async(can_control)(user.pk):
                logger.warning("%s (a viewer) tried %s; refused", user.get_username(), command.value)
                await self._refuse(cmd, CommandError.FORBIDDEN)
                return
            if not await is_alive(redis, keys.heartbeat_key):
                await self._refuse(cmd, CommandError.BOT_OFFLINE)
                return
            if not await self._audit(cmd):
                # An id already in the log (someone else's, seen in a broadcast answer): never
                # re-run it, never touch that row.
                await self.answer(frame.id, command, CommandError.INVALID, audit=False,
                                   detail="this command id was already used")
                return
            await CommandBus(redis, keys).send(cmd)
            logger.info("%s sent %s (%s)", user.get_username(), command.value, frame.id)
        except (TransportError, RedisError, OSError) as exc:
            logger.warning("command %s could not reach Redis: %s", frame.id, exc)
            await self.answer(frame.id, command, CommandError.UNAVAILABLE)
        except DatabaseError as exc:  # the permission could not be read: refuse, never guess
            logger.warning("command %s: permissions unreadable: %s", frame.id, exc)
            await self.answer(frame.id, command, CommandError.UNAVAILABLE)

    async def _audit(self, cmd: BotCommand) -> bool:
        """Log a command that changes something before it leaves; False if its id is already logged."""
        if cmd.command not in CONTROL:
            return True
        user = self.user
        try:
            return bool(await database_sync_to_async(record_command)(
                bot_id=cmd.bot, command_id=cmd.id, command=cmd.command.value, user_id=user.pk,
                username=user.get_username(), address=self.address, issued_at=cmd.issued_at,
                symbol=cmd.symbol or "", close_positions=cmd.close_positions,
            ))
        except (DatabaseError, ValueError) as exc:
            # The command still goes out: a database outage must not keep an operator from stopping.
            logger.error("command %s not written to the audit log: %s", cmd.id, exc)
            return True

    async def _refuse(self, cmd: BotCommand, error: CommandError) -> None:
        """Answer a command the web process will not send; log the refusal, leaving its id free."""
        await self.answer(cmd.id, cmd.command, error, audit=False)
        if cmd.command not in CONTROL:
            return
        user = self.user
        try:
            await database_sync_to_async(record_refusal)(
                bot_id=cmd.bot, command_id=cmd.id, command=cmd.command.value, user_id=user.pk,
                username=user.get_username(), address=self.address, issued_at=cmd.issued_at, error=error.value,
                symbol=cmd.symbol or "", close_positions=cmd.close_positions,
            )
        except (DatabaseError, ValueError) as exc:
            logger.error("refusal of command %s not written to the audit log: %s", cmd.id, exc)

    async def answer(
        self, command_id: str, command: CommandName, error: CommandError, *, audit: bool = True,
        detail: str | None = None,
    ) -> None:
        """Answer a command with an error (logged as its outcome when it changes something)."""
        data = CommandResultData(id=command_id, command=command.value, ok=False, error=error.value, detail=detail)
        await self.send_event(BotControlEvent(bot=bot_keys().bot_id, data=data))
        if audit and command in CONTROL:
            try:
                await database_sync_to_async(record_command_result)(
                    bot_id=bot_keys().bot_id, command_id=command_id, command=command.value, ok=False,
                    error=error.value, detail="answered by the web process", answered_at=utcnow(),
                )
            except DatabaseError as exc:
                logger.error("outcome of command %s not written to the audit log: %s", command_id, exc)
