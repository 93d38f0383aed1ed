"""Redis channel, stream, key and stream field names: the only place they are spelled out."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot_api.errors import ContractError
from bot_api.models import BOT_ID_PATTERN

_ID_RE = re.compile(BOT_ID_PATTERN)

EVENT_FIELD = "e"
"""The field of an events, trades or dead-letter stream entry that holds the envelope's JSON."""
COMMAND_FIELD = "c"
"""The field of a commands stream entry that holds the command's JSON."""
DEAD_ID_FIELD = "id"
DEAD_REASON_FIELD = "reason"
"""A dead letter's other fields: the entry's id in the trades stream, and why it was buried."""


def _glob_escape(text: str) -> str:
    """`text` matched literally in a Redis glob pattern."""
    return re.sub(r"([\\*?\[\]])", r"\\\1", text)


def validate_bot_id(bot_id: str) -> str:
    """Return the bot id if it is safe to embed in Redis names, else raise ContractError."""
    # fullmatch: `$` alone also matches before a trailing newline ("evil\n" would pass).
    if not _ID_RE.fullmatch(bot_id):
        raise ContractError("invalid_bot_id", f"bot id {bot_id!r} must match {_ID_RE.pattern}")
    return bot_id


@dataclass(frozen=True)
class RedisKeys:
    """Names of every Redis object one bot uses, under a prefix shared by bot and UI."""

    prefix: str = "cryptobot"
    bot_id: str = "main"

    def __post_init__(self) -> None:
        validate_bot_id(self.bot_id)
        if not self.prefix or any(c.isspace() for c in self.prefix):
            raise ContractError("invalid_prefix", f"Redis prefix {self.prefix!r} is empty or has spaces")

    @property
    def _base(self) -> str:
        return f"{self.prefix}:bot:{self.bot_id}"

    def for_bot(self, bot_id: str) -> RedisKeys:
        """The names of another bot under the same prefix."""
        return RedisKeys(prefix=self.prefix, bot_id=bot_id)

    @property
    def bots_registry(self) -> str:
        """Sorted set of every bot that beat under this prefix, scored by its last beat (Unix ms):
        how web processes and recorders discover bots. A retired bot is removed from it."""
        return f"{self.prefix}:bots"

    @property
    def events_pattern(self) -> str:
        """Pub/sub pattern matching every bot's events channel (the relay's one subscription)."""
        return f"{_glob_escape(self.prefix)}:bot:*:events"

    def bot_of_events_channel(self, channel: str) -> str | None:
        """The bot id of an events channel under this prefix, or None for any other name."""
        head, tail = f"{self.prefix}:bot:", ":events"
        if not (channel.startswith(head) and channel.endswith(tail)):
            return None
        bot_id = channel[len(head):-len(tail)]
        return bot_id if _ID_RE.fullmatch(bot_id) else None

    @property
    def channel_layer_prefix(self) -> str:
        """Prefix of the web processes' channel layer (channels-redis): their control messages."""
        return f"{self.prefix}:asgi"

    @property
    def events_channel(self) -> str:
        """Pub/sub channel carrying every event envelope the bot emits."""
        return f"{self._base}:events"

    @property
    def events_stream(self) -> str:
        """Capped stream holding recent events, the replay window for resuming clients."""
        return f"{self._base}:events:stream"

    @property
    def trades_stream(self) -> str:
        """Stream of durable records (trade_executed, equity_snapshot, bot_control), read by the recorder's group."""
        return f"{self._base}:trades"

    @property
    def dead_letter_stream(self) -> str:
        """Entries of the trades stream the recorder could not store, each with the reason (capped)."""
        return f"{self._base}:trades:dead"

    @property
    def commands_stream(self) -> str:
        """Stream of commands for the bot; a stream so none is lost while the bot restarts."""
        return f"{self._base}:commands"

    @property
    def command_cursor(self) -> str:
        """Id of the last command stream entry the bot has handled."""
        return f"{self._base}:commands:cursor"

    @property
    def status_key(self) -> str:
        """The latest `status` envelope; its seq is the last event it reflects."""
        return f"{self._base}:status"

    def command_rate_key(self, user: str) -> str:
        """The web processes' sliding window of `user`'s recent commands (the rate limit)."""
        return f"{self.prefix}:web:{self.bot_id}:commands:{user}"

    @property
    def candles_key(self) -> str:
        """The recent base candles (CANDLE_INTERVAL) of every symbol (a `CandlesData`), for the dashboard's chart."""
        return f"{self._base}:candles"

    @property
    def hour_candles_key(self) -> str:
        """The hour candles of the last 30 days of every symbol (a `CandlesData`), for the chart's long timeframes."""
        return f"{self._base}:candles:hour"

    @property
    def seq_key(self) -> str:
        """The last seq the bot published; lets seq continue across bot restarts."""
        return f"{self._base}:seq"

    @property
    def heartbeat_key(self) -> str:
        """Present (with a TTL) while the bot process is alive."""
        return f"{self._base}:heartbeat"

    @property
    def recorder_heartbeat_key(self) -> str:
        """Present (with a TTL) while a recorder process is consuming this bot's trades."""
        return f"{self._base}:recorder:heartbeat"

    @property
    def journal_mark_key(self) -> str:
        """The id of the bot's journal; if it vanishes, Redis lost its data (a restart, no persistence)."""
        return f"{self._base}:journal"

    @property
    def recorded_seq_key(self) -> str:
        """The highest seq of a trade the recorder has committed to the database (a watermark)."""
        return f"{self._base}:recorder:recorded_seq"

    @property
    def recorder_group(self) -> str:
        """Consumer group name the recorders share on the trades stream."""
        return "recorder"

    @property
    def notifier_group(self) -> str:
        """Consumer group name the notifiers share on the trades and events streams."""
        return "notifier"

    @property
    def notifier_heartbeat_key(self) -> str:
        """Present (with a TTL) while a notifier process runs (one for every bot under the prefix)."""
        return f"{self.prefix}:notifier:heartbeat"

    def telegram_login_key(self, init_hash: str) -> str:
        """A Telegram Web App login already made with this initData `hash` (kept until it expires):
        a signed initData logs in once."""
        return f"{self.prefix}:web:telegram-login:{init_hash}"

    def telegram_confirm_key(self, chat_id: int, message_id: int) -> str:
        """A Telegram confirmation button already pressed (kept until it expires): one command per button."""
        return f"{self.prefix}:notifier:telegram-confirm:{chat_id}:{message_id}"

    @property
    def notifier_since_key(self) -> str:
        """When a notifier first ran under this prefix (Unix ms): what the bots did before is not announced."""
        return f"{self.prefix}:notifier:since"
