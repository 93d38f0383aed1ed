"""Browser-to-server command frames and the command message that travels to the bot."""

from __future__ import annotations

import json
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, TypeAdapter, ValidationError

from bot_api.errors import ContractError
from bot_api.models import MAX_SEQ, ContractModel, Symbol, UtcDatetime, over_bytes, utcnow

MAX_FRAME_BYTES = 4096
"""Browser frames are tiny; anything larger is refused before parsing."""

DEFAULT_COMMAND_TTL = timedelta(seconds=10)
"""A command reaching the bot later than this after it was issued is refused as expired."""

CommandId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


class CommandName(StrEnum):
    """Every command a browser may send."""

    START_BOT = "start_bot"
    STOP_BOT = "stop_bot"
    """With `close_positions: true`, also sells every open position at market."""
    CLOSE_POSITION = "close_position"
    """Sell one symbol's whole position at market (the bot keeps running or stopped as it was)."""
    REQUEST_STATUS = "request_status"
    RESUME = "resume"
    """Answered by the web process itself (a replay), never forwarded to the bot."""
    ACK = "ack"
    """Flow control: the last seq the client has applied; not answered, never forwarded."""


class CommandError(StrEnum):
    """Stable `error` values in a `bot_control` answer."""

    EXPIRED = "expired"
    BOT_OFFLINE = "bot_offline"
    UNAVAILABLE = "unavailable"
    INVALID = "invalid"
    NO_POSITION = "no_position"
    """close_position for a symbol with nothing (sellable) held."""
    ORDER_FAILED = "order_failed"
    """The closing order was refused or its outcome is unknown (the bot's log and state say which)."""
    FORBIDDEN = "forbidden"
    """The user is a viewer (no `control_bot` permission): refused by the web process, nothing sent."""
    RATE_LIMITED = "rate_limited"
    """Too many commands from this user in a short time: refused by the web process, nothing sent."""


class _Frame(ContractModel):
    id: CommandId


class StartBotFrame(_Frame):
    """Ask the bot to start placing orders."""

    command: Literal["start_bot"]


class StopBotFrame(_Frame):
    """Ask the bot to stop placing new orders (and, if asked, to close every position)."""

    command: Literal["stop_bot"]
    close_positions: Annotated[bool, Field(strict=True)] = False


class ClosePositionFrame(_Frame):
    """Ask the bot to sell its whole position in `symbol` at market."""

    command: Literal["close_position"]
    symbol: Symbol


class RequestStatusFrame(_Frame):
    """Ask the bot for a fresh `status` snapshot."""

    command: Literal["request_status"]


class ResumeFrame(_Frame):
    """After a reconnect: send what came after `last_seq` (or a fresh status if that is gone)."""

    command: Literal["resume"]
    last_seq: Annotated[int, Field(ge=0, le=MAX_SEQ, strict=True)]


class AckFrame(ContractModel):
    """The client has applied every event up to `seq` (sent every few hundred frames or ~1 s)."""

    command: Literal["ack"]
    seq: Annotated[int, Field(ge=0, le=MAX_SEQ, strict=True)]


BrowserFrame = Annotated[
    StartBotFrame | StopBotFrame | ClosePositionFrame | RequestStatusFrame | ResumeFrame | AckFrame,
    Field(discriminator="command"),
]
"""Any frame a browser may send; parse with `parse_browser_frame`."""

_FRAME_ADAPTER: TypeAdapter[BrowserFrame] = TypeAdapter(BrowserFrame)


def parse_browser_frame(text: str | bytes) -> BrowserFrame:
    """Validate a browser frame; raise ContractError with a stable code on any defect.

    Codes: `frame_too_large`, `invalid_json`, `unknown_command`, `invalid_frame`.
    """
    if over_bytes(text, MAX_FRAME_BYTES):
        raise ContractError("frame_too_large", f"frames are limited to {MAX_FRAME_BYTES} bytes")
    try:
        obj = json.loads(text)
    except (ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: a few KB of nested brackets exhausts the parser's stack.
        raise ContractError("invalid_json", "frame is not valid JSON") from None
    if not isinstance(obj, dict):
        raise ContractError("invalid_frame", "frame must be a JSON object")
    command = obj.get("command")
    if not isinstance(command, str) or command not in set(CommandName):
        known = ", ".join(c.value for c in CommandName)
        raise ContractError("unknown_command", f"command must be one of: {known}")
    try:
        return _FRAME_ADAPTER.validate_python(obj)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"][1:]) or "frame"
        raise ContractError("invalid_frame", f"{where}: {first['msg']}") from None


class BotCommand(ContractModel):
    """A command on its way to the bot through the commands stream."""

    v: Literal[1] = 1
    id: CommandId
    command: CommandName
    bot: str
    issued_by: str | None = None
    issued_at: UtcDatetime = Field(default_factory=utcnow)
    expires_at: UtcDatetime
    symbol: Symbol | None = None
    """close_position: the symbol to close."""
    close_positions: bool = False
    """stop_bot: also close every open position."""

    @classmethod
    def create(
        cls,
        *,
        command_id: str,
        command: CommandName,
        bot: str,
        issued_by: str | None,
        ttl: timedelta = DEFAULT_COMMAND_TTL,
        symbol: str | None = None,
        close_positions: bool = False,
    ) -> BotCommand:
        """Build a command that expires `ttl` from now."""
        now = utcnow()
        return cls(
            id=command_id,
            command=command,
            bot=bot,
            issued_by=issued_by,
            issued_at=now,
            expires_at=now + ttl,
            symbol=symbol,
            close_positions=close_positions,
        )

    def is_expired(self) -> bool:
        """True once the command's expiry has passed."""
        return utcnow() > self.expires_at


def parse_bot_command(raw: str | bytes) -> BotCommand:
    """Validate a command read from Redis; raise ContractError `invalid_command`."""
    if over_bytes(raw, MAX_FRAME_BYTES):
        raise ContractError("invalid_command", "command message too large")
    try:
        return BotCommand.model_validate_json(raw)
    except ValidationError as exc:
        raise ContractError("invalid_command", str(exc.errors(include_url=False)[0]["msg"])) from None
