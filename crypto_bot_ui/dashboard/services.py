"""The web process's side of a command: rate, permission and bot presence checked, the audit log
written, then the command sent to the bot. Consumers only carry frames; this decides."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import DatabaseError

from bot_api.command_bus import CommandBus
from bot_api.commands import BotAction, BotCommand, Command, CommandError
from bot_api.errors import TransportError
from bot_api.events import CommandResultData
from bot_api.heartbeat import is_alive
from bot_api.models import utcnow
from bot_api.registry import is_registered
from crypto_bot_ui.core.bot_link import bot_keys, redis_client
from crypto_bot_ui.core.rate_limit import allow_command
from crypto_bot_ui.core.roles import can_control
from crypto_bot_ui.trades.services import record_command, record_command_result, record_refusal

logger = logging.getLogger(__name__)


def refusal(command: Command, error: CommandError, *, command_id: str | None = None,
            detail: str | None = None) -> CommandResultData:
    """The answer to a command the web process will not carry out (`ref` is the client's id)."""
    return CommandResultData(id=command_id or uuid.uuid4().hex, ref=command.id, command=command.command,
                             ok=False, error=error.value, detail=detail)


async def send_bot_command(
    *, user: Any, command: BotAction, address: str | None, bot_id: str,
) -> CommandResultData | None:
    """Decide on a client's command for bot `bot_id`: send it to that bot only (None: the bot's
    answer comes with its events) or refuse it (the answer for the sender). Commands that change
    something are written to the audit log first, refusals included, with the bot.

    Checked here, per command, on the server: a page's disabled buttons are a courtesy.
    """
    keys = bot_keys(bot_id)
    redis = redis_client()
    cmd = BotCommand.create(action=command, bot=keys.bot_id, issued_by=user.get_username())
    try:
        # The rate first: a flood of frames must cost neither the bot nor the database.
        if not await allow_command(redis, keys.command_rate_key(str(user.pk)), token=cmd.id,
                                   limit=settings.COMMAND_RATE_LIMIT, window=settings.COMMAND_RATE_WINDOW):
            logger.info("%s is over the command rate limit", user.get_username())
            return refusal(command, CommandError.RATE_LIMITED, command_id=cmd.id)
        if command.control and not await database_sync_to_async(can_control)(user.pk, keys.bot_id):
            logger.warning("%s (not an operator of %s) tried %s; refused", user.get_username(), keys.bot_id,
                           command.command)
            return await _refuse(cmd, CommandError.FORBIDDEN, user=user, address=address,
                                 detail=f"you are not an operator of bot {keys.bot_id}")
        if not await is_alive(redis, keys.heartbeat_key):
            if not await is_registered(redis, keys):
                return await _refuse(cmd, CommandError.UNKNOWN_BOT, user=user, address=address,
                                     detail=f"there is no bot {keys.bot_id}")
            return await _refuse(cmd, CommandError.BOT_OFFLINE, user=user, address=address,
                                 detail=f"bot {keys.bot_id} is offline: its process is not running")
        await _audit(cmd, user=user, address=address)
        await CommandBus(redis, keys).send(cmd)
        logger.info("%s sent %s (%s)", user.get_username(), command.command, cmd.id)
        return None
    except TransportError as exc:
        logger.warning("command %s could not reach Redis: %s", cmd.id, exc)
        return await _unavailable(cmd)
    except DatabaseError as exc:  # the permission could not be read: refuse, never guess
        logger.warning("command %s: permissions unreadable: %s", cmd.id, exc)
        return await _unavailable(cmd)


async def _audit(cmd: BotCommand, *, user: Any, address: str | None) -> None:
    """Log a command that changes something before it leaves (pending until the bot answers)."""
    action = cmd.action
    if not action.control:
        return
    try:
        await database_sync_to_async(record_command)(
            bot_id=cmd.bot, command_id=cmd.id, command=action.command, user_id=user.pk,
            username=user.get_username(), address=address, issued_at=cmd.issued_at, **_fields(action),
        )
    except (DatabaseError, ValueError) as exc:
        # The command still goes out: a database outage must not keep an operator from stopping.
        logger.error("command %s not written to the audit log: %s", cmd.id, exc)


async def _refuse(cmd: BotCommand, error: CommandError, *, user: Any, address: str | None,
                  detail: str | None = None) -> CommandResultData:
    """The answer to a command the web process will not send, written to the audit log."""
    action = cmd.action
    if action.control:
        try:
            await database_sync_to_async(record_refusal)(
                bot_id=cmd.bot, command_id=cmd.id, command=action.command, user_id=user.pk,
                username=user.get_username(), address=address, issued_at=cmd.issued_at, error=error.value,
                **_fields(action),
            )
        except (DatabaseError, ValueError) as exc:
            logger.error("refusal of command %s not written to the audit log: %s", cmd.id, exc)
    return refusal(action, error, command_id=cmd.id, detail=detail)


async def _unavailable(cmd: BotCommand) -> CommandResultData:
    """The answer when Redis or the database failed; a logged command gets this as its outcome."""
    action = cmd.action
    if action.control:
        try:
            await database_sync_to_async(record_command_result)(
                bot_id=cmd.bot, command_id=cmd.id, command=action.command, ok=False,
                error=CommandError.UNAVAILABLE.value, detail="answered by the web process", answered_at=utcnow(),
            )
        except DatabaseError as exc:
            logger.error("outcome of command %s not written to the audit log: %s", cmd.id, exc)
    return refusal(action, CommandError.UNAVAILABLE, command_id=cmd.id)


def _fields(action: BotAction) -> dict[str, Any]:
    """The audit log's columns for a command's own fields."""
    return {
        "symbol": getattr(action, "symbol", ""),
        "close_positions": bool(getattr(action, "close_positions", False)),
    }
