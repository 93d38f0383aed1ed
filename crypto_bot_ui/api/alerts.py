"""The user's own alerts over REST: list, make, change, delete, and their recent firings.

Any logged-in user (a viewer too) has alerts of their own and sees only those: another user's alert
is a 404, as if it did not exist. The level is a decimal string both ways, never a float; what is
wrong with an alert is a 400 `{code, message}` whose message is a sentence for its author.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from bot_api.models import BOT_ID_PATTERN, MONEY_DIGITS, MONEY_PLACES
from crypto_bot_ui.api.bots import requested_bot_filter
from crypto_bot_ui.api.query import KnownQueryParamsMixin
from crypto_bot_ui.api.serializers import ErrorSerializer, PlainDecimalField, RecordSerializer
from crypto_bot_ui.api.views import UNAVAILABLE, unavailable
from crypto_bot_ui.dashboard.selectors import BotDataUnavailableError
from crypto_bot_ui.notify.alert_rules import AlertKind
from crypto_bot_ui.notify.alerts import AlertError, create_alert, delete_alert, update_alert
from crypto_bot_ui.notify.models import ALERT_CHANNELS, Alert, AlertFiring
from crypto_bot_ui.notify.selectors import FIRINGS_MAX, alert_of, alerts_of, firings_of

KINDS = [kind.value for kind in AlertKind]
LEVEL_HELP = ("A decimal string: a price (price_above, price_below), a loss as a positive amount (daily_pnl_below: "
              "100 fires at a day's P&L of -100 or less) or a percentage (price_move, drawdown: 0 < level ≤ 100).")
SYMBOL_HELP = "For price_above, price_below and price_move: one of the bot's symbols; empty for the others."
WINDOW_HELP = "For price_move only: the move is measured over this many minutes (1 to 1440); null for the others."
CHANNELS_HELP = f"Where it is told, at least one of: {', '.join(ALERT_CHANNELS)} (page: a pop-up on your open pages)."
NOTE_HELP = "Your own words, sent with the alert."
NOT_FOUND = OpenApiResponse(ErrorSerializer, description="`not_found`: you have no alert of that id.")
INVALID = OpenApiResponse(ErrorSerializer, description=(
    "`invalid` (the rule, a channel, the note), `unknown_symbol`, `unknown_bot`, `too_many_alerts`, "
    "`unknown_field`...: the message says what to change."))


class DecimalStringField(PlainDecimalField):
    """A decimal given as a JSON string (or a whole number), never as a float: 0.1 as a float is not 0.1."""

    default_error_messages = {"not_a_string": 'give it as a decimal string such as "65000.5", not a JSON number '
                                              "with a fraction (it may not be exact)"}

    def to_internal_value(self, data: Any) -> Decimal:
        """The exact Decimal of a string or an int; a float (or a bool) is refused."""
        if isinstance(data, bool | float):
            self.fail("not_a_string")
        return super().to_internal_value(data)  # type: ignore[no-any-return]


class ChannelsField(serializers.ListField):  # type: ignore[type-arg]
    """Some of ALERT_CHANNELS, said in one sentence when one is not (not per list index)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=serializers.ChoiceField(choices=ALERT_CHANNELS), max_length=10, **kwargs)

    def run_child_validation(self, data: list[Any]) -> list[str]:
        """Each item a channel's name."""
        for item in data:
            if not isinstance(item, str) or item not in ALERT_CHANNELS:
                raise ValidationError(f"{item!r} is not a channel: choose some of {', '.join(ALERT_CHANNELS)}")
        return list(data)


class StrictSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """A request body naming a field the endpoint does not take is refused, not silently ignored."""

    def to_internal_value(self, data: Any) -> Any:
        """The body's fields, once none is unknown."""
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                noun = "fields" if len(unknown) > 1 else "field"
                message = f"unknown {noun} {', '.join(unknown)} (this endpoint takes: {', '.join(sorted(self.fields))})"
                raise ValidationError({api_settings.NON_FIELD_ERRORS_KEY: [message]}, code="unknown_field")
        return super().to_internal_value(data)


def _level() -> DecimalStringField:
    return DecimalStringField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, help_text=LEVEL_HELP)


class AlertChangeSerializer(StrictSerializer):
    """The fields of an alert its owner may change (PATCH: any of them). Changing kind, level, window or
    symbol starts the rule afresh; `enabled` switches it off and on as it was."""

    kind = serializers.ChoiceField(choices=KINDS, error_messages={
        "invalid_choice": f'"{{input}}" is not an alert kind: use one of {", ".join(KINDS)}'})
    level = _level()
    symbol = serializers.CharField(max_length=20, allow_blank=True, help_text=SYMBOL_HELP)
    window_minutes = serializers.IntegerField(allow_null=True, help_text=WINDOW_HELP)
    channels = ChannelsField(help_text=CHANNELS_HELP)
    note = serializers.CharField(max_length=200, allow_blank=True, help_text=NOTE_HELP)
    enabled = serializers.BooleanField(help_text="Off: not evaluated, and it keeps its state.")


class AlertInputSerializer(AlertChangeSerializer):
    """A new alert: its bot, kind and level; the rest as needed (channels default to `page`)."""

    bot_id = serializers.RegexField(BOT_ID_PATTERN, max_length=32, help_text="The bot it watches.")
    symbol = serializers.CharField(max_length=20, allow_blank=True, required=False, default="", help_text=SYMBOL_HELP)
    window_minutes = serializers.IntegerField(allow_null=True, required=False, default=None, help_text=WINDOW_HELP)
    channels = ChannelsField(required=False, default=["page"], help_text=CHANNELS_HELP)
    note = serializers.CharField(max_length=200, allow_blank=True, required=False, default="", help_text=NOTE_HELP)
    enabled = serializers.BooleanField(required=False, default=True)


class AlertSerializer(RecordSerializer):
    """One of your alerts; `last_fired_at`: its latest firing (null: never fired)."""

    level = PlainDecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, read_only=True,
                              help_text=LEVEL_HELP)
    channels = serializers.ListField(child=serializers.ChoiceField(choices=ALERT_CHANNELS), read_only=True)
    last_fired_at = serializers.DateTimeField(read_only=True, allow_null=True)

    class Meta:
        model = Alert
        fields = ["id", "bot_id", "symbol", "kind", "level", "window_minutes", "channels", "note", "enabled",
                  "created_at", "last_fired_at"]
        read_only_fields = fields


class AlertFiringSerializer(RecordSerializer):
    """An alert fired: when, at which value (the price, the day's P&L or the equity it watched), on which
    bot event (`seq`), and what happened in words."""

    alert_id = serializers.IntegerField(read_only=True)
    bot_id = serializers.CharField(source="alert.bot_id", read_only=True)
    symbol = serializers.CharField(source="alert.symbol", read_only=True)
    kind = serializers.ChoiceField(source="alert.kind", choices=KINDS, read_only=True)

    class Meta:
        model = AlertFiring
        fields = ["id", "alert_id", "bot_id", "symbol", "kind", "fired_at", "value", "seq", "text"]
        read_only_fields = fields


class AlertsQuery(serializers.Serializer):  # type: ignore[type-arg]
    """`bot`: only your alerts on this bot (default: on every bot)."""

    bot = serializers.RegexField(BOT_ID_PATTERN, max_length=32, required=False, help_text=(
        "Only your alerts on this bot (default: on every bot); a bot no one knows of is a 404 `unknown_bot`."))


class FiringsQuery(AlertsQuery):
    """`alert`: one alert's firings; `bot`: those of your alerts on one bot; `limit`: how many (newest first)."""

    alert = serializers.IntegerField(required=False, min_value=1, help_text="Only this alert's firings.")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=FIRINGS_MAX, default=50)


def _problem(exc: AlertError) -> ValidationError:
    return ValidationError(exc.message, code=exc.code)


def _owned(request: Request, alert_id: int) -> Alert:
    try:
        return alert_of(user=request.user, alert_id=alert_id)
    except Alert.DoesNotExist:
        raise NotFound(f"you have no alert {alert_id}", code="not_found") from None


def _shown(request: Request, alert: Alert) -> dict[str, Any]:
    """The alert as listed (with its last firing)."""
    return dict(AlertSerializer(_owned(request, alert.pk)).data)


@method_decorator(never_cache, name="dispatch")
class AlertListView(KnownQueryParamsMixin, APIView):
    """Your alerts (on one bot with `bot`), and new ones."""

    parser_classes = [JSONParser]
    query_serializer = AlertsQuery

    @extend_schema(parameters=[AlertsQuery], responses={200: AlertSerializer(many=True), 400: ErrorSerializer,
                                                        404: OpenApiResponse(ErrorSerializer, description=(
                                                            "`unknown_bot`: no bot of that id is registered "
                                                            "or has records."))})
    def get(self, request: Request) -> Response:
        """Your alerts, newest first (nobody else's, whatever your role)."""
        bot_id = requested_bot_filter(request)
        return Response(AlertSerializer(alerts_of(user=request.user, bot_id=bot_id), many=True).data)

    @extend_schema(request=AlertInputSerializer, responses={201: AlertSerializer, 400: INVALID, 503: UNAVAILABLE})
    def post(self, request: Request) -> Response:
        """A new alert of yours. A bot no one knows of is a 400 `unknown_bot` (the body names it); a price
        alert's symbol must be one the bot trades (`unknown_symbol`); at most 100 alerts per account."""
        body = AlertInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            alert = create_alert(owner=request.user, **body.validated_data)
        except AlertError as exc:
            raise _problem(exc) from None
        except BotDataUnavailableError as exc:
            return unavailable(exc)
        return Response(_shown(request, alert), status=201)


@method_decorator(never_cache, name="dispatch")
class AlertDetailView(KnownQueryParamsMixin, APIView):
    """One of your alerts: read, change, delete. Another user's is a 404."""

    parser_classes = [JSONParser]
    @extend_schema(responses={200: AlertSerializer, 400: ErrorSerializer, 404: NOT_FOUND})
    def get(self, request: Request, alert_id: int) -> Response:
        """The alert, with its latest firing."""
        return Response(AlertSerializer(_owned(request, alert_id)).data)

    @extend_schema(request=AlertChangeSerializer, responses={200: AlertSerializer, 400: INVALID, 404: NOT_FOUND,
                                                              503: UNAVAILABLE})
    def patch(self, request: Request, alert_id: int) -> Response:
        """Change some fields. A change of kind, level, window or symbol checks the rule whole again (send
        what the new kind needs with it) and starts it afresh (a crossing alert waits for a new
        crossing); `enabled` alone keeps its state."""
        alert = _owned(request, alert_id)
        body = AlertChangeSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        try:
            update_alert(alert=alert, **body.validated_data)
        except AlertError as exc:
            raise _problem(exc) from None
        except BotDataUnavailableError as exc:
            return unavailable(exc)
        return Response(_shown(request, alert))

    @extend_schema(responses={204: None, 400: ErrorSerializer, 404: NOT_FOUND})
    def delete(self, request: Request, alert_id: int) -> Response:
        """Delete the alert and its firings."""
        delete_alert(alert=_owned(request, alert_id))
        return Response(status=204)


@method_decorator(never_cache, name="dispatch")
class AlertFiringsView(KnownQueryParamsMixin, APIView):
    """Your alerts' recent firings."""

    query_serializer = FiringsQuery

    @extend_schema(parameters=[FiringsQuery], responses={200: AlertFiringSerializer(many=True), 400: ErrorSerializer,
                                                         404: OpenApiResponse(ErrorSerializer, description=(
                                                             "`not_found` (you have no such alert) or "
                                                             "`unknown_bot`."))})
    def get(self, request: Request) -> Response:
        """Newest first: `limit` of them (default 50, at most 200)."""
        query = FiringsQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        bot_id = requested_bot_filter(request)
        alert_id = query.validated_data.get("alert")
        if alert_id is not None:
            _owned(request, alert_id)
        firings = firings_of(user=request.user, alert_id=alert_id, bot_id=bot_id,
                             limit=query.validated_data["limit"])
        return Response(AlertFiringSerializer(firings, many=True).data)
