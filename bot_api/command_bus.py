"""Commands for the bot travel on a Redis stream, so none is lost while the bot restarts."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot_api.commands import BotCommand, parse_bot_command
from bot_api.errors import ContractError, TransportError
from bot_api.keys import COMMAND_FIELD, RedisKeys

logger = logging.getLogger(__name__)

COMMANDS_STREAM_MAXLEN = 1_000


@dataclass(frozen=True)
class ReceivedCommand:
    """A stream entry: a valid command, or the reason it could not be parsed."""

    entry_id: str
    command: BotCommand | None
    error: ContractError | None = None


class CommandBus:
    """Send commands (web side) and receive them in order (bot side)."""

    def __init__(self, redis: Redis, keys: RedisKeys) -> None:
        self._redis = redis
        self._keys = keys

    async def send(self, command: BotCommand) -> None:
        """Append a command to the bot's stream. Raises TransportError (retryable)."""
        try:
            await self._redis.xadd(
                self._keys.commands_stream,
                {COMMAND_FIELD: command.model_dump_json()},
                maxlen=COMMANDS_STREAM_MAXLEN,
                approximate=True,
            )
        except (RedisError, OSError) as exc:
            raise TransportError(f"sending {command.action.command} failed: {exc}") from exc

    async def start_cursor(self) -> str:
        """Where the bot resumes reading: after the last handled entry, else after the newest.

        Always a concrete id: XREAD with "$" in a loop would miss what arrives between reads.
        Raises TransportError (retryable).
        """
        try:
            raw = await self._redis.get(self._keys.command_cursor)
            if raw:
                return raw.decode() if isinstance(raw, bytes) else str(raw)
            newest: Any = await self._redis.xrevrange(self._keys.commands_stream, count=1)
        except (RedisError, OSError) as exc:
            raise TransportError(f"reading the command cursor failed: {exc}") from exc
        if not newest:
            return "0-0"
        entry_id = newest[0][0]
        return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)

    async def receive(self, cursor: str, *, block_ms: int = 1000) -> list[ReceivedCommand]:
        """Read entries after `cursor`, waiting up to `block_ms`. Raises TransportError (retryable)."""
        try:
            reply: Any = await self._redis.xread({self._keys.commands_stream: cursor}, count=50, block=block_ms)
        except (RedisError, OSError) as exc:
            raise TransportError(f"reading commands failed: {exc}") from exc
        out: list[ReceivedCommand] = []
        for _stream, entries in reply or []:
            for entry_id, fields in entries:
                eid = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
                try:
                    out.append(ReceivedCommand(eid, parse_bot_command(fields.get(COMMAND_FIELD.encode(), b""))))
                except ContractError as exc:
                    logger.warning("skipped command entry %s: %s", eid, exc.message)
                    out.append(ReceivedCommand(eid, None, exc))
        return out

    async def commit(self, entry_id: str) -> None:
        """Remember that everything up to `entry_id` is handled. Raises TransportError (retryable)."""
        try:
            await self._redis.set(self._keys.command_cursor, entry_id)
        except (RedisError, OSError) as exc:
            raise TransportError(f"saving the command cursor failed: {exc}") from exc
