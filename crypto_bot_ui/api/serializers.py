"""Wire shapes of the REST API; money is a decimal string, as on the WebSocket."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from rest_framework import serializers

from crypto_bot_ui.core.decimals import plain
from crypto_bot_ui.trades.models import EquitySnapshot, Trade


class PlainDecimalField(serializers.DecimalField):
    """A decimal string without the column's trailing zeros: "3500.93", not "3500.930000000000"."""

    def to_representation(self, value: Decimal | str) -> str:
        """The exact value in positional notation (never a float)."""
        return plain(value)


class RecordSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    """A stored record, its decimal columns as plain decimal strings."""

    serializer_field_mapping = {**serializers.ModelSerializer.serializer_field_mapping,
                                models.DecimalField: PlainDecimalField}


class TradeSerializer(RecordSerializer):
    """A stored fill, with its journal note and who last changed that note, when (null: never)."""

    note_changed_at = serializers.DateTimeField(read_only=True, allow_null=True,
                                                help_text="When the note last changed (null: never)")
    note_changed_by = serializers.CharField(read_only=True, allow_null=True,
                                            help_text="Who last changed the note, by user name (null: nobody)")

    class Meta:
        model = Trade
        fields = [
            "bot_id", "trade_id", "order_id", "seq", "symbol", "side", "qty", "price", "quote_qty", "fee", "fee_asset",
            "fee_quote", "realized_pnl", "reason", "executed_at", "note",
            "id", "strategy", "fee_in_quote", "note_changed_at", "note_changed_by",
        ]
        read_only_fields = fields


class EquityPointSerializer(RecordSerializer):
    """A point of the equity curve."""

    class Meta:
        model = EquitySnapshot
        fields = ["taken_at", "seq", "equity", "cash", "realized_pnl", "unrealized_pnl", "total_pnl"]
        read_only_fields = fields


class BotCountSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """How many bots the registry lists, and how many of them are alive."""

    online = serializers.IntegerField()
    total = serializers.IntegerField()


class RedisMasterSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """The Redis server a web process uses."""

    address = serializers.CharField(help_text="host:port (or the socket path) of the server")
    found_by = serializers.ChoiceField(choices=["url", "sentinel"], help_text="REDIS_URL, or asked of REDIS_SENTINELS")
    role = serializers.CharField(help_text="`master`; anything else means writes fail there")


class GroupBacklogSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """One consumer group's backlog, over every bot's streams."""

    lag = serializers.IntegerField(allow_null=True, help_text="Entries no consumer was given yet; null when "
                                   "Redis cannot tell (before 7.0, or after deletions)")
    pending = serializers.IntegerField(help_text="Entries given to a consumer and not acknowledged yet")


class ConsumerGroupsSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """The backlog of the recorders and of the notifiers."""

    recorder = GroupBacklogSerializer()
    notifier = GroupBacklogSerializer()


class HealthSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """What `/api/health` reports (no secrets)."""

    status = serializers.ChoiceField(choices=["ok", "degraded"])
    redis = serializers.ChoiceField(choices=["ok", "read-only", "down"],
                                    help_text="read-only: the server in use is not (or no longer) the master")
    database = serializers.ChoiceField(choices=["ok", "down"])
    bot = serializers.CharField(help_text="running, stopped, online, offline or unknown")
    recorder = serializers.ChoiceField(choices=["ok", "down", "unknown"])
    notifier = serializers.ChoiceField(choices=["ok", "down", "unknown"],
                                       help_text="The notifier process (Telegram, Apprise, webhook, alerts)")
    dead_letters = serializers.IntegerField(
        allow_null=True,
        help_text="Records the recorder could not store, of every bot (see the admin); null without Redis",
    )
    bot_id = serializers.CharField(help_text="The default bot, the one `bot` and `recorder` are about")
    bots = BotCountSerializer(allow_null=True, help_text="Every bot listed in Redis; null without Redis")
    redis_master = RedisMasterSerializer(allow_null=True, help_text="The Redis server in use; null without Redis")
    consumer_groups = ConsumerGroupsSerializer(allow_null=True, help_text="Backlogs; null without Redis")


class ErrorSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """Every error answer: a stable `code` and a `message` for people."""

    code = serializers.CharField()
    message = serializers.CharField()
