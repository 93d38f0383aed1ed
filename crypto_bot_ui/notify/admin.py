"""Django admin for notifications: users' alerts (switched off or deleted here, made by their owners),
their firings, the notifications with their deliveries, and Telegram links; records read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from crypto_bot_ui.notify.alerts import AlertError, delete_alert, update_alert
from crypto_bot_ui.notify.models import Alert, AlertFiring, Delivery, Lease, Notification, TelegramLink
from crypto_bot_ui.trades.admin import plain_decimals


class _ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Rows the notifier writes: viewable, never typed in, edited or deleted here."""

    def has_add_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        """Written by the notifier only."""
        return False

    def has_change_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        """A record of what happened."""
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        """A record of what happened."""
        return False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Everyone's alerts. Their owners make and edit them on the bot's page; here an admin may switch
    one off (or on) or delete it, through the same services."""

    list_display = plain_decimals(Alert, ("owner", "bot_id", "kind", "symbol", "level", "window_minutes", "enabled",
                                          "created_at"))
    list_filter = ("enabled", "kind", "bot_id", "symbol")
    search_fields = ("owner__username", "bot_id", "symbol", "note")
    list_select_related = ("owner",)
    ordering = ("-id",)
    readonly_fields = plain_decimals(Alert, ("owner", "bot_id", "kind", "symbol", "level", "window_minutes",
                                             "channels", "note", "state", "created_at"))
    fields = (*readonly_fields, "enabled")
    actions = ["switch_off", "switch_on"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        """An alert is its owner's: made on the bot's page or through the API."""
        return False

    def save_model(self, request: HttpRequest, obj: Alert, form: Any, change: bool) -> None:
        """Only `enabled` changes here: through the service (the rule's state is kept)."""
        try:
            update_alert(alert=obj, enabled=obj.enabled)
        except AlertError as exc:
            self.message_user(request, exc.message, messages.ERROR)

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> tuple[Any, Any, set[str], Any]:
        """An alert goes with its firings (read-only records of it, deleted by no one else)."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        return deleted, counts, perms_needed - {str(AlertFiring._meta.verbose_name)}, protected

    def delete_model(self, request: HttpRequest, obj: Alert) -> None:
        """Through the service."""
        delete_alert(alert=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        """Each through the service."""
        for alert in queryset:
            delete_alert(alert=alert)

    @admin.action(description="Switch the selected alerts off")
    def switch_off(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        """Not evaluated until switched on again (their state is kept)."""
        for alert in queryset:
            update_alert(alert=alert, enabled=False)

    @admin.action(description="Switch the selected alerts on")
    def switch_on(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        """Evaluated again from the next price."""
        for alert in queryset:
            update_alert(alert=alert, enabled=True)


@admin.register(AlertFiring)
class AlertFiringAdmin(_ReadOnlyAdmin):
    """Each time an alert fired: read-only."""

    list_display = plain_decimals(AlertFiring, ("fired_at", "alert", "value", "seq", "text"))
    list_filter = ("alert__kind", "alert__bot_id", ("fired_at", admin.DateFieldListFilter))
    search_fields = ("text", "alert__owner__username")
    list_select_related = ("alert",)
    date_hierarchy = "fired_at"
    ordering = ("-fired_at", "-id")
    readonly_fields = plain_decimals(AlertFiring, (f.name for f in AlertFiring._meta.fields))
    fields = readonly_fields


class DeliveryInline(admin.TabularInline):  # type: ignore[type-arg]
    """A notification's delivery to each channel: read-only."""

    model = Delivery
    extra = 0
    can_delete = False
    fields = ("channel", "state", "attempts", "due_at", "sent_at", "last_error", "in_flight", "leased_by",
              "leased_until")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        """Made by the notifier only."""
        return False

    def has_change_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        """Changed by the notifier only."""
        return False


@admin.register(Notification)
class NotificationAdmin(_ReadOnlyAdmin):
    """What the notifier told, with where it went: read-only."""

    list_display = ("created_at", "bot_id", "kind", "title", "seq")
    list_filter = ("kind", "bot_id", ("created_at", admin.DateFieldListFilter))
    search_fields = ("title", "text", "key")
    date_hierarchy = "created_at"
    ordering = ("-id",)
    readonly_fields = tuple(f.name for f in Notification._meta.fields)
    inlines = [DeliveryInline]


@admin.register(Delivery)
class DeliveryAdmin(_ReadOnlyAdmin):
    """Every delivery, to find what a channel did not take: read-only."""

    list_display = ("notification", "channel", "state", "attempts", "due_at", "sent_at", "last_error")
    list_filter = ("channel", "state", "in_flight")
    search_fields = ("channel", "last_error", "notification__title")
    list_select_related = ("notification",)
    ordering = ("-id",)
    readonly_fields = tuple(f.name for f in Delivery._meta.fields)


@admin.register(Lease)
class LeaseAdmin(_ReadOnlyAdmin):
    """Which notifier sends to each channel and answers Telegram now (several may run): read-only."""

    list_display = ("name", "holder", "until")
    ordering = ("name",)
    readonly_fields = tuple(f.name for f in Lease._meta.fields)


@admin.register(TelegramLink)
class TelegramLinkAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Which Telegram account acts as which user: made here by an admin (the Telegram login and the
    bot's control commands need it; docs/notifications.md), removed here to unlink."""

    list_display = ("user", "telegram_user_id", "chat_id", "linked_at")
    search_fields = ("user__username", "telegram_user_id")
    list_select_related = ("user",)
    autocomplete_fields = ("user",)

    def get_readonly_fields(self, request: HttpRequest, obj: TelegramLink | None = None) -> tuple[str, ...]:
        """A link's two ends are set when it is made; to change one, delete the link and make another."""
        return ("user", "telegram_user_id", "linked_at") if obj is not None else ("linked_at",)
