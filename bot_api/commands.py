"""Commands: one model per command, as a browser sends it and as it travels to the bot."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, ClassVar, Literal, get_args

from pydantic import Field, TypeAdapter, ValidationError

from bot_api.errors import ContractError
from bot_api.models import MAX_SEQ, ContractModel, Symbol, UtcDatetime, over_bytes, utcnow

MAX_FRAME_BYTES = 4096
"""Browser frames are tiny; anything larger is refused before parsing."""

DEFAULT_COMMAND_TTL = timedelta(seconds=10)
"""A command reaching the bot later than this after it was issued is refused as expired."""

CommandId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


class CommandError(StrEnum):
    """Stable `error` values in a `bot_control` answer."""

    EXPIRED = "expired"
    BOT_OFFLINE = "bot_offline"
    """The bot's process is not running (its heartbeat lapsed): refused by the web process."""
    UNKNOWN_BOT = "unknown_bot"
    """No bot of that id ever announced itself (or it was retired): refused by the web process."""
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


class Command(ContractModel):
    """A command as a client sends it (the browser's frame), and as it travels to the bot inside a
    `BotCommand`: one model per command, carrying what the system needs to know about it."""

    control: ClassVar[bool] = False
    """Changes something: operators only (`control_bot`), and each one is written to the audit log."""

    id: CommandId
    """The client's own reference: the answer (`bot_control`) carries it back as `ref`."""


class StartBot(Command):
    """Ask the bot to start placing orders."""

    control: ClassVar[bool] = True
    command: Literal["start_bot"] = "start_bot"


class StopBot(Command):
    """Ask the bot to stop placing new orders (and, if asked, to close every position)."""

    control: ClassVar[bool] = True
    command: Literal["stop_bot"] = "stop_bot"
    close_positions: Annotated[bool, Field(strict=True)] = False
    """Also sell every open position at market."""


class ClosePosition(Command):
    """Ask the bot to sell its whole position in `symbol` at market (running or stopped, as it was)."""

    control: ClassVar[bool] = True
    command: Literal["close_position"] = "close_position"
    symbol: Symbol


class RequestStatus(Command):
    """Ask the bot for a fresh `status` snapshot."""

    command: Literal["request_status"] = "request_status"


class Resume(Command):
    """After a reconnect: send what came after `last_seq` (or a fresh status if that is gone).
    Answered by the web process itself (a replay), never forwarded to the bot."""

    command: Literal["resume"] = "resume"
    last_seq: Annotated[int, Field(ge=0, le=MAX_SEQ, strict=True)]


class Ack(ContractModel):
    """Flow control: the client has applied every event up to `seq` (sent every few hundred frames
    or ~1 s). Not a command: no id, never answered, never forwarded."""

    command: Literal["ack"] = "ack"
    seq: Annotated[int, Field(ge=0, le=MAX_SEQ, strict=True)]


BotAction = StartBot | StopBot | ClosePosition | RequestStatus
"""Every command the bot executes (the engine has one handler for each)."""

BrowserFrame = Annotated[BotAction | Resume | Ack, Field(discriminator="command")]
"""Any frame a browser may send; parse with `parse_browser_frame`."""

COMMANDS: dict[str, type[ContractModel]] = {
    str(m.model_fields["command"].default): m for m in get_args(get_args(BrowserFrame)[0])
}
"""Every frame model by its `command`."""
BOT_ACTIONS: tuple[type[Command], ...] = get_args(BotAction)

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
    if not isinstance(command, str) or command not in COMMANDS:
        known = ", ".join(COMMANDS)
        raise ContractError("unknown_command", f"command must be one of: {known}")
    try:
        return _FRAME_ADAPTER.validate_python(obj)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"][1:]) or "frame"
        raise ContractError("invalid_frame", f"{where}: {first['msg']}") from None


class BotCommand(ContractModel):
    """A command on its way to the bot through the commands stream: the client's command, and who
    issued it when, under an id the web process made (unguessable, never reused)."""

    v: Literal[2] = 2
    id: CommandId
    bot: str
    issued_by: str | None = None
    issued_at: UtcDatetime = Field(default_factory=utcnow)
    expires_at: UtcDatetime
    action: Annotated[BotAction, Field(discriminator="command")]

    @classmethod
    def create(
        cls, *, action: BotAction, bot: str, issued_by: str | None, ttl: timedelta = DEFAULT_COMMAND_TTL,
        command_id: str | None = None,
    ) -> BotCommand:
        """Build a command that expires `ttl` from now, under a fresh random id unless one is given."""
        now = utcnow()
        return cls(
            id=command_id or uuid.uuid4().hex, bot=bot, issued_by=issued_by, issued_at=now, expires_at=now + ttl,
            action=action,
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
