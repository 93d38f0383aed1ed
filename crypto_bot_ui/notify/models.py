"""What the notifier keeps: each notification once, its delivery to each channel, what it knows of
each bot between restarts, users' alerts with their firings, and Telegram accounts linked to users.

The database is the notifier's memory: a notification is unique by (bot, key), so an event read
twice (a crash before the stream entry was acknowledged) makes no second one; a delivery is a row
per channel that is pending until that channel took it.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from bot_api.models import BOT_ID_PATTERN, MONEY_DIGITS, MONEY_PLACES
from crypto_bot_ui.env import NOTIFY_KINDS
from crypto_bot_ui.notify.alert_rules import AlertKind

KIND_CHOICES = [(kind, kind) for kind in NOTIFY_KINDS]
ALERT_CHANNELS = ("page", "telegram", "apprise", "webhook")
"""Where an alert may be sent: the owner's open pages, the owner's linked Telegram chat, the
Apprise URLs, the webhook."""
SHARED_CHANNELS = ("apprise", "webhook")
"""The operators' channels: an alert goes there only if its owner operates its bot."""


def _bot_id() -> models.CharField:  # type: ignore[type-arg]
    return models.CharField(max_length=32, validators=[RegexValidator(BOT_ID_PATTERN)])


class Notification(models.Model):
    """One thing worth telling: made once per (bot, key), e.g. key `seq:118` for the event with seq 118."""

    bot_id = _bot_id()
    key = models.CharField(max_length=100, help_text="what makes it unique for its bot (the event's seq, a date...)")
    kind = models.CharField(max_length=16, choices=KIND_CHOICES)
    seq = models.BigIntegerField(null=True, blank=True, help_text="the bot event it tells of, if one")
    title = models.CharField(max_length=200)
    text = models.TextField(max_length=2000)
    link = models.CharField(max_length=300, blank=True)
    data = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["bot_id", "key"], name="notification_once_per_key")]
        indexes = [models.Index(fields=["-created_at"], name="notification_recent")]
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.bot_id}: {self.title}"


class DeliveryState(models.TextChoices):
    """Where one notification stands on one channel."""

    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    EXPIRED = "expired", "Expired (undeliverable for a day)"


class Delivery(models.Model):
    """One notification on one channel (`telegram:<chat>`, `apprise`, `webhook`): pending until sent."""

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=64)
    state = models.CharField(max_length=8, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    due_at = models.DateTimeField(help_text="not tried again before this (backoff, or the channel's retry-after)")
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    in_flight = models.BooleanField(default=False, help_text="being sent now: if its notifier dies, whether it "
                                                             "arrived is unknown, and it is sent again marked so")
    leased_by = models.CharField(max_length=100, blank=True, help_text="the notifier sending it now")
    leased_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["notification", "channel"], name="delivery_once_per_channel"),
            models.CheckConstraint(condition=~Q(state="sent") | Q(sent_at__isnull=False),
                                   name="delivery_sent_has_time"),
        ]
        indexes = [models.Index(fields=["channel", "state", "due_at"], name="delivery_due")]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.notification_id} → {self.channel}: {self.state}"


class Lease(models.Model):
    """A job one notifier does at a time (sending to a channel, answering Telegram): its holder
    renews it while alive; another notifier takes it when the holder stopped renewing (it died)."""

    name = models.CharField(max_length=100, primary_key=True, help_text="the job: a channel, or telegram:commands")
    holder = models.CharField(max_length=100, help_text="the notifier doing it (NOTIFIER_NAME)")
    until = models.DateTimeField(help_text="the holder's, unless renewed by then")

    def __str__(self) -> str:
        return f"{self.name}: {self.holder}"


class BotWatch(models.Model):
    """What the notifier last told of a bot, so a restart neither repeats nor misses a change."""

    bot_id = models.CharField(max_length=32, unique=True)
    online = models.BooleanField(null=True, help_text="its heartbeat was alive (null: not yet seen)")
    exchange_offline = models.BooleanField(null=True)
    daily_sent_on = models.DateField(null=True, blank=True)

    def __str__(self) -> str:
        return self.bot_id


class Alert(models.Model):
    """A user's alert on one bot (and symbol, for price alerts), with its channels and its state."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alerts")
    bot_id = _bot_id()
    symbol = models.CharField(max_length=20, blank=True, help_text="for price alerts")
    kind = models.CharField(max_length=20, choices=[(kind.value, kind.value) for kind in AlertKind])
    level = models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES,
                                help_text="a price, an amount (daily P&L) or a percentage (move, drawdown)")
    window_minutes = models.PositiveIntegerField(null=True, blank=True, help_text="for price moves")
    channels = models.JSONField(default=list, help_text=f"some of {', '.join(ALERT_CHANNELS)}")
    note = models.CharField(max_length=200, blank=True)
    enabled = models.BooleanField(default=True)
    state = models.JSONField(default=dict, blank=True, help_text="the rule's memory (armed, last value...)")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["bot_id", "enabled"], name="alert_by_bot")]
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.owner_id}: {self.kind} {self.level} on {self.bot_id} {self.symbol}".strip()


class AlertFiring(models.Model):
    """An alert fired: when, at which value, on which event."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="firings")
    fired_at = models.DateTimeField()
    value = models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)
    seq = models.BigIntegerField(null=True, blank=True)
    text = models.CharField(max_length=300)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["alert", "seq"], name="alert_fires_once_per_event")]
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.alert_id} at {self.fired_at}: {self.text}"


class TelegramLink(models.Model):
    """A Telegram account that acts as a Django user: in the Telegram Web App and in the bot's chat."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="telegram_link")
    telegram_user_id = models.BigIntegerField(unique=True, help_text="the Telegram user's numeric id")
    chat_id = models.BigIntegerField(null=True, blank=True,
                                     help_text="the private chat with the bot, for this user's alerts (its id is "
                                               "the user id; set when the user first writes to the bot)")
    linked_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.user} ↔ telegram {self.telegram_user_id}"
