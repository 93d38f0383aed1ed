"""Stored records: the bots (with their own operators), trades (one row per fill) and who changed
their journal notes, equity points, the audit log of bot commands and the recorder's dead letters."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from bot_api.models import BOT_ID_PATTERN, MONEY_DIGITS, MONEY_PLACES
from crypto_bot_ui.core.decimals import plain

NOTE_MAX_CHARS = 2000
"""The longest journal note (plain text)."""


class Side(models.TextChoices):
    """Trade direction, as in bot_api.events.Side."""

    BUY = "buy", "Buy"
    SELL = "sell", "Sell"


def _money() -> models.DecimalField:  # type: ignore[type-arg]
    # The contract's bounds (bot_api.models.Money): every amount an event carries fits.
    return models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)


COLUMN_LIMIT = Decimal(10) ** (MONEY_DIGITS - MONEY_PLACES)
"""What a money column can hold (the contract admits less: bot_api.models.MONEY_LIMIT)."""


def money_in_range(*names: str) -> Q:
    """Each of the money fields `names` below COLUMN_LIMIT in magnitude: PostgreSQL checks that by
    the column's type, SQLite would store anything (as a float that then fails every read)."""
    q = Q()
    for name in names:
        q &= Q(**{f"{name}__lt": COLUMN_LIMIT, f"{name}__gt": -COLUMN_LIMIT})
    return q


TRADE_MONEY = ("qty", "price", "quote_qty", "fee", "fee_in_quote", "realized_pnl")
"""The money columns a trade always has (`fee_quote` only sometimes: a CHECK passes on NULL too)."""
EQUITY_MONEY = ("equity", "cash", "realized_pnl", "unrealized_pnl", "total_pnl")


class Bot(models.Model):
    """A bot the records know of (the recorder notes each one it finds in the registry), with the
    users who may steer this bot only."""

    bot_id = models.CharField(max_length=32, unique=True, validators=[RegexValidator(BOT_ID_PATTERN)],
                              help_text="The bot's BOT_ID: letters, digits, - and _, at most 32")
    first_seen = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(
        null=True, blank=True, help_text="Removed from the bot list; cleared when the bot runs again"
    )
    operators = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="operated_bots",
        help_text="operators of this bot only (everyone with the control_bot permission operates every bot)",
    )

    class Meta:
        ordering = ["bot_id"]
        constraints = [
            # The id is embedded in Redis names and URLs: the database refuses any other.
            models.CheckConstraint(condition=Q(bot_id__regex=BOT_ID_PATTERN), name="bot_id_valid"),
        ]

    def __str__(self) -> str:
        return self.bot_id


class Trade(models.Model):
    """A fill as the bot reported it; unique per bot and trade id (recording is idempotent)."""

    bot_id = models.CharField(max_length=32, default="main")
    trade_id = models.CharField(max_length=64)
    order_id = models.CharField(max_length=64, blank=True, default="")
    seq = models.BigIntegerField(null=True, blank=True, help_text="Event sequence number from the bot")
    symbol = models.CharField(max_length=20)
    side = models.CharField(max_length=4, choices=Side.choices)
    qty = _money()
    price = _money()
    quote_qty = _money()
    fee = _money()
    fee_asset = models.CharField(max_length=16)
    fee_quote = models.DecimalField(
        max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, null=True, blank=True,
        help_text="The fee valued in the quote asset, when it was paid in a third asset (e.g. BNB)",
    )
    realized_pnl = _money()
    fee_in_quote = models.DecimalField(
        max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, default=Decimal(0),
        help_text="The fee in the quote asset whatever it was paid in, as the bot booked it (analytics sum it)",
    )
    reason = models.CharField(max_length=200, blank=True, default="")
    strategy = models.CharField(max_length=64, blank=True, default="",
                                help_text="The strategy the bot ran when it traded (blank: not reported)")
    opened_at = models.DateTimeField(
        null=True, blank=True,
        help_text="When the position this fill belongs to was opened: by the first buy after a sell (or after "
                  "nothing) of the bot's symbol; blank for a sell with no buy before it. A sell was held since then.",
    )
    executed_at = models.DateTimeField()
    recorded_at = models.DateTimeField(auto_now_add=True)
    note = models.TextField(max_length=NOTE_MAX_CHARS, blank=True, default="",
                            help_text="The trader's own journal note")

    class Meta:
        ordering = ["-executed_at", "-id"]
        # Journal notes are the one thing about a trade a person may change; operators hold it (0011).
        permissions = [("change_trade_note", "Can write the journal note of a trade")]
        indexes = [
            models.Index(fields=["bot_id", "-executed_at"], name="trade_bot_time"),
            models.Index(fields=["symbol", "-executed_at"], name="trade_symbol_time"),
            # The analytics' round trips and breakdowns walk each bot's symbol in time order.
            models.Index(fields=["bot_id", "symbol", "executed_at", "id"], name="trade_bot_symbol_time"),
            # ... and their comparison groups by bot, strategy and symbol in one pass, without sorting.
            models.Index(fields=["bot_id", "strategy", "symbol"], name="trade_bot_strategy_symbol"),
            models.Index(fields=["executed_at"], name="trade_time"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["bot_id", "trade_id"], name="trade_unique_per_bot"),
            models.CheckConstraint(condition=Q(side__in=["buy", "sell"]), name="trade_side_valid"),
            models.CheckConstraint(condition=Q(qty__gt=0), name="trade_qty_positive"),
            models.CheckConstraint(condition=Q(price__gt=0), name="trade_price_positive"),
            models.CheckConstraint(condition=Q(fee__gte=0), name="trade_fee_not_negative"),
            models.CheckConstraint(condition=Q(fee_in_quote__gte=0), name="trade_fee_in_quote_not_negative"),
            models.CheckConstraint(condition=money_in_range(*TRADE_MONEY), name="trade_money_in_range"),
        ]

    def __str__(self) -> str:
        return f"{self.side} {plain(self.qty)} {self.symbol} @ {plain(self.price)} ({self.trade_id})"


class TradeNoteChange(models.Model):
    """Who wrote a trade's journal note, when, and what it became (the audit of notes)."""

    trade = models.ForeignKey(Trade, on_delete=models.CASCADE, related_name="note_changes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    username = models.CharField(max_length=150, blank=True, default="", help_text="Kept if the user is deleted")
    changed_at = models.DateTimeField()
    note = models.TextField(max_length=NOTE_MAX_CHARS, blank=True, default="", help_text="The note as it became")

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["trade", "-changed_at"], name="note_change_trade_time")]

    def __str__(self) -> str:
        return f"note of trade {self.trade_id} by {self.username or '?'} at {self.changed_at:%Y-%m-%d %H:%M:%S}"


class EquitySnapshot(models.Model):
    """A point of a bot's equity curve; unique per bot and seq (recording is idempotent)."""

    bot_id = models.CharField(max_length=32, default="main")
    seq = models.BigIntegerField()
    taken_at = models.DateTimeField()
    equity = _money()
    cash = _money()
    realized_pnl = _money()
    unrealized_pnl = _money()
    total_pnl = _money()

    class Meta:
        ordering = ["-taken_at", "-seq"]
        indexes = [models.Index(fields=["bot_id", "-taken_at"], name="equity_bot_time")]
        constraints = [
            models.UniqueConstraint(fields=["bot_id", "seq"], name="equity_unique_per_bot_seq"),
            models.CheckConstraint(condition=money_in_range(*EQUITY_MONEY), name="equity_money_in_range"),
        ]

    def __str__(self) -> str:
        return f"{self.bot_id} equity {plain(self.equity)} at {self.taken_at:%Y-%m-%d %H:%M:%S}"


class CommandStatus(models.TextChoices):
    """Where a command stands: sent and unanswered, done, or refused/failed."""

    PENDING = "pending", "Pending"
    OK = "ok", "OK"
    ERROR = "error", "Error"


class BotCommand(models.Model):
    """Who asked a bot to do what, when, from where, and what came of it (an audit trail)."""

    bot_id = models.CharField(max_length=32, default="main")
    command_id = models.CharField(max_length=64)
    command = models.CharField(max_length=32)
    symbol = models.CharField(max_length=20, blank=True, default="")
    close_positions = models.BooleanField(default=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    username = models.CharField(max_length=150, blank=True, default="", help_text="Kept if the user is deleted")
    address = models.GenericIPAddressField(null=True, blank=True)
    issued_at = models.DateTimeField()
    status = models.CharField(max_length=8, choices=CommandStatus.choices, default=CommandStatus.PENDING)
    error = models.CharField(max_length=32, blank=True, default="")
    detail = models.CharField(max_length=300, blank=True, default="")
    answered_at = models.DateTimeField(null=True, blank=True)
    refused = models.BooleanField(
        default=False, help_text="Refused by the web process before it reached the bot; its id stays free"
    )

    class Meta:
        ordering = ["-issued_at", "-id"]
        # The operators' right; the "Operators" group holds it (migration 0005).
        permissions = [("control_bot", "Can start and stop the bot and close positions")]
        indexes = [models.Index(fields=["bot_id", "-issued_at"], name="command_bot_time")]
        constraints = [
            # A refusal does not take the id: only commands that went to the bot are unique by it.
            models.UniqueConstraint(fields=["bot_id", "command_id"], condition=Q(refused=False),
                                    name="command_unique_per_bot"),
            models.CheckConstraint(condition=Q(status__in=["pending", "ok", "error"]), name="command_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.command} by {self.username or '?'} at {self.issued_at:%Y-%m-%d %H:%M:%S} ({self.status})"


class DeadLetter(models.Model):
    """A stream entry the recorder could not store (off-contract, another bot's, refused by the
    database): kept with the reason, for a person to look at; the entry itself was acknowledged."""

    bot_id = models.CharField(max_length=32, default="main")
    entry_id = models.CharField(max_length=48, help_text="Its id in the trades stream")
    reason = models.CharField(max_length=300)
    payload = models.TextField(help_text="The entry as it was (cut at 64 KiB)")
    dead_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-dead_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["bot_id", "entry_id"], name="dead_letter_unique_per_entry")]

    def __str__(self) -> str:
        return f"{self.entry_id}: {self.reason}"
