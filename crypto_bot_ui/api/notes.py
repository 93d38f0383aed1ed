"""A trade's journal note over REST: `PATCH /api/trades/<pk>` with `{"note": "..."}` and nothing else.

Who may write it (the note permission, or an operator of the trade's bot) is decided by the service,
`set_trade_note`, read afresh for every note; this view maps its refusals to HTTP: `forbidden` to
403, `too_long` and `invalid_note` to 400. A trade's facts come from the bot and never change here.
"""

from __future__ import annotations

from typing import Any

from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from crypto_bot_ui.api.alerts import StrictSerializer
from crypto_bot_ui.api.query import KnownQueryParamsMixin
from crypto_bot_ui.api.serializers import ErrorSerializer, TradeSerializer
from crypto_bot_ui.trades.errors import NoteError
from crypto_bot_ui.trades.models import NOTE_MAX_CHARS, Trade
from crypto_bot_ui.trades.selectors import trade_of
from crypto_bot_ui.trades.services import set_trade_note

READ_ONLY = frozenset(TradeSerializer.Meta.fields) - {"note"}
"""A trade's fields a request may name only to be told they do not change."""
NOTE_HELP = (f"Plain text, at most {NOTE_MAX_CHARS} characters: line breaks and tabs but no other control "
             "character; CRLF is stored as LF and trailing white space dropped; empty clears the note.")
INVALID = OpenApiResponse(ErrorSerializer, description=(
    "`too_long`, `invalid_note` (a control character), `read_only` (a field of the trade other than the note), "
    "`unknown_field`, `required`, `invalid`, `unknown_parameter`: the message says what to change."))
FORBIDDEN = OpenApiResponse(ErrorSerializer, description=(
    "`forbidden`: you may not write notes on this bot's trades (the `change_trade_note` permission, which the "
    "Operators group holds, or being one of the bot's operators, lets you)."))
NOT_FOUND = OpenApiResponse(ErrorSerializer, description="`not_found`: there is no trade of that id.")


class NoteTextField(serializers.CharField):
    """A JSON string taken as it is (no trimming, a number is not turned into text): what plain text
    is, and the codes that say it is not, are the service's (DRF's own check refuses a NUL first)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_blank=True, trim_whitespace=False, **kwargs)
        self.validators = []

    def to_internal_value(self, data: Any) -> str:
        """The string itself; anything else is refused."""
        if not isinstance(data, str):
            self.fail("invalid")
        return data


class TradeNoteSerializer(StrictSerializer):
    """The body of a note change: the note, and nothing else."""

    note = NoteTextField(help_text=NOTE_HELP)

    def to_internal_value(self, data: Any) -> Any:
        """The note, once the body names none of the trade's facts (`read_only`) nor anything else."""
        if isinstance(data, dict):
            fixed = sorted(set(data) & READ_ONLY)
            if fixed:
                verb = "are" if len(fixed) > 1 else "is"
                message = (f"{', '.join(fixed)} {verb} read-only: a trade's facts come from the bot; "
                           "only its note changes")
                raise ValidationError({api_settings.NON_FIELD_ERRORS_KEY: [message]}, code="read_only")
        return super().to_internal_value(data)


class WholeBodySchema(AutoSchema):
    """The schema of a PATCH whose body is whole: drf-spectacular describes every PATCH body as
    partial (each field optional), and this one needs its note."""

    def _get_request_for_media_type(self, serializer: Any, direction: str = "request") -> Any:
        method, self.method = self.method, "PUT"
        try:
            return super()._get_request_for_media_type(serializer, direction)
        finally:
            self.method = method


def _trade(pk: int) -> Trade:
    try:
        return trade_of(pk=pk)
    except Trade.DoesNotExist:
        raise NotFound(f"there is no trade {pk}", code="not_found") from None


@method_decorator(never_cache, name="dispatch")
class TradeNoteView(KnownQueryParamsMixin, APIView):
    """One stored trade: its journal note, written by who may write that bot's notes."""

    parser_classes = [JSONParser]
    schema = WholeBodySchema()

    @extend_schema(request=TradeNoteSerializer, responses={200: TradeSerializer, 400: INVALID, 403: FORBIDDEN,
                                                             404: NOT_FOUND})
    def patch(self, request: Request, pk: int) -> Response:
        """Write the trade's note, the one field that changes; answers the trade as `/api/trades` lists it.
        Every change is audited (who, when, what it became); the same note again changes nothing."""
        trade = _trade(pk)
        body = TradeNoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            set_trade_note(trade=trade, note=body.validated_data["note"], user=request.user)
        except NoteError as exc:
            refusal = PermissionDenied if exc.code == "forbidden" else ValidationError
            raise refusal(exc.message, code=exc.code) from None
        return Response(TradeSerializer(_trade(pk)).data)
