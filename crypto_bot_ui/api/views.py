"""REST endpoints: thin views over the selectors; every one in the OpenAPI schema at /api/schema/."""

from __future__ import annotations

import csv
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from django.http import StreamingHttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bot_api.candles import TIMEFRAMES
from bot_api.events import StatusEvent
from crypto_bot_ui.api.bots import BotQuery, requested_bot, requested_bot_filter
from crypto_bot_ui.api.filters import TradeFilter, in_range
from crypto_bot_ui.api.query import KnownQueryParamsMixin
from crypto_bot_ui.api.schemas import BotResponse, BotsResponse, CandlesResponse, PositionsResponse
from crypto_bot_ui.api.serializers import EquityPointSerializer, ErrorSerializer, HealthSerializer, TradeSerializer
from crypto_bot_ui.core.roles import controlled_bots
from crypto_bot_ui.core.selectors import health_report
from crypto_bot_ui.dashboard.selectors import (
    BotDataUnavailableError,
    bot_overview,
    bot_symbols,
    candles_of,
    current_snapshot,
    not_a_symbol,
)
from crypto_bot_ui.trades.selectors import CSV_COLUMNS, csv_row, equity_curve, trade_list

logger = logging.getLogger(__name__)

UNAVAILABLE = OpenApiResponse(ErrorSerializer, description="The bot's data is not reachable now (retry).")
UNKNOWN_BOT = OpenApiResponse(ErrorSerializer,
                              description="`unknown_bot`: no bot of that id is registered or has records.")


def unavailable(exc: BotDataUnavailableError) -> Response:
    """503 with the stable code `unavailable`."""
    return Response({"code": "unavailable", "message": str(exc)}, status=503)


@method_decorator(never_cache, name="dispatch")
class HealthView(APIView):
    """Whether Redis, the database, the bot and the recorder are up; open to all (for healthchecks)."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(responses={200: HealthSerializer, 503: HealthSerializer}, auth=[])
    def get(self, request: Request) -> Response:
        """200 when Redis and the database answer, 503 otherwise."""
        report = health_report()
        return Response(report, status=200 if report["status"] == "ok" else 503)


@method_decorator(never_cache, name="dispatch")
class BotsView(KnownQueryParamsMixin, APIView):
    """Every registered bot (online or not), by id: state, figures, and whether you may steer it."""

    @extend_schema(responses={200: BotsResponse, 400: ErrorSerializer, 503: UNAVAILABLE})
    def get(self, request: Request) -> Response:
        """The bots the web processes discovered in Redis (nothing is configured); a retired bot is not listed."""
        try:
            overview = bot_overview()
        except BotDataUnavailableError as exc:
            return unavailable(exc)
        controlled = controlled_bots(request.user.pk, [bot_id for bot_id, _ in overview])
        bots = BotsResponse([BotResponse(id=bot_id, can_control=bot_id in controlled, **dict(summary))
                             for bot_id, summary in overview])
        return Response(bots.model_dump(mode="json"))


@method_decorator(never_cache, name="dispatch")
class DashboardView(KnownQueryParamsMixin, APIView):
    """A bot's full snapshot: the same `status` envelope a WebSocket gets first."""

    query_serializer = BotQuery

    @extend_schema(parameters=[BotQuery], responses={200: StatusEvent, 400: ErrorSerializer, 404: UNKNOWN_BOT,
                                                      503: UNAVAILABLE})
    def get(self, request: Request) -> Response:
        """The fallback for browsers whose WebSockets are blocked (poll it)."""
        try:
            return Response(current_snapshot(requested_bot(request)).model_dump(mode="json"))
        except BotDataUnavailableError as exc:
            return unavailable(exc)


@method_decorator(never_cache, name="dispatch")
class PositionsView(KnownQueryParamsMixin, APIView):
    """Open positions marked to the latest price, as of a bot's snapshot."""

    query_serializer = BotQuery

    @extend_schema(parameters=[BotQuery], responses={200: PositionsResponse, 400: ErrorSerializer,
                                                      404: UNKNOWN_BOT, 503: UNAVAILABLE})
    def get(self, request: Request) -> Response:
        """The positions (empty when flat) and the snapshot they come from."""
        try:
            snapshot = current_snapshot(requested_bot(request))
        except BotDataUnavailableError as exc:
            return unavailable(exc)
        body = PositionsResponse(seq=snapshot.seq, ts=snapshot.ts, positions=snapshot.data.positions)
        return Response(body.model_dump(mode="json"))


class CandlesQuery(BotQuery):
    """`symbol`: which symbol's candles; `timeframe`: the chart's candle in seconds (default 60);
    `bot`: whose (default: the default bot)."""

    symbol = serializers.RegexField(r"^[A-Z0-9]{2,20}$", max_length=20)
    timeframe = serializers.ChoiceField(choices=TIMEFRAMES, default=TIMEFRAMES[0])


@method_decorator(never_cache, name="dispatch")
class CandlesView(KnownQueryParamsMixin, APIView):
    """The price chart's history: the base candles of one symbol the page aggregates into `timeframe`."""

    query_serializer = CandlesQuery

    @extend_schema(parameters=[CandlesQuery], responses={200: CandlesResponse, 400: ErrorSerializer,
                                                          404: UNKNOWN_BOT, 503: UNAVAILABLE})
    def get(self, request: Request) -> Response:
        """Candles `{time, open, high, low, close}`, oldest first, `time` in Unix seconds; `interval`
        seconds each: 1-minute ones (CANDLE_INTERVAL) below an hour, hour ones from an hour up."""
        query = CandlesQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        symbol, timeframe = query.validated_data["symbol"], int(query.validated_data["timeframe"])
        bot_id = requested_bot(request)
        try:
            symbols = bot_symbols(bot_id)
            if symbol not in symbols:
                raise serializers.ValidationError({"symbol": not_a_symbol(symbol, symbols)}, code="unknown_symbol")
            interval, candles = candles_of(symbol, timeframe, bot_id)
        except BotDataUnavailableError as exc:
            return unavailable(exc)
        body = CandlesResponse(symbol=symbol, timeframe=timeframe, interval=interval, candles=candles)
        return Response(body.model_dump(mode="json"))


@extend_schema_view(get=extend_schema(responses={200: TradeSerializer(many=True), 400: ErrorSerializer,
                                                 404: UNKNOWN_BOT}))
class TradeListView(KnownQueryParamsMixin, generics.ListAPIView):  # type: ignore[type-arg]
    """Stored trades of every bot or of one (`bot`), newest first; paginated `{count, next, previous, results}`."""

    serializer_class = TradeSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = TradeFilter

    def get_queryset(self) -> Any:
        """Every bot's trades (the `bot` filter narrows them), once the bot named is known."""
        requested_bot_filter(self.request)
        return trade_list(bot_id=None)


class _Echo:
    """A file-like object whose write returns the line, so csv.writer can stream."""

    def write(self, value: str) -> str:
        return value


class TradeCsvView(KnownQueryParamsMixin, generics.GenericAPIView):  # type: ignore[type-arg]
    """The same trades and filters as /api/trades, streamed as CSV (no page limit)."""

    filter_backends = [DjangoFilterBackend]
    filterset_class = TradeFilter
    pagination_class = None

    def get_queryset(self) -> Any:
        """Every bot's trades (the `bot` filter narrows them), once the bot named is known."""
        requested_bot_filter(self.request)
        return trade_list(bot_id=None)

    @extend_schema(filters=True, responses={(200, "text/csv"): OpenApiTypes.STR, 400: ErrorSerializer,
                                            404: UNKNOWN_BOT})
    def get(self, request: Request) -> StreamingHttpResponse:
        """One row per trade, header first; streamed, so any number of rows fits."""
        trades = self.filter_queryset(self.get_queryset())
        writer = csv.writer(_Echo())

        # Async: under an ASGI server Django would read a plain iterator whole into memory first.
        async def lines() -> AsyncIterator[str]:
            yield writer.writerow(CSV_COLUMNS)
            try:
                async for trade in trades.aiterator(chunk_size=1000):
                    yield writer.writerow(csv_row(trade))
            except Exception:
                # The header is gone already, so no error status can follow: end the file with a
                # line that says it is incomplete (an exception here would leave the download hanging).
                logger.exception("trade CSV export failed part-way")
                yield writer.writerow(["# export incomplete: a stored trade could not be read; see the server log"])

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="trades.csv"'
        return response


class EquityQuery(BotQuery):
    """`since` (ISO-8601, 1970..9000), `limit` (1..5000, default 1000) and `bot` (default: the default bot)."""

    since = serializers.DateTimeField(required=False)

    def validate_since(self, value: datetime) -> datetime:
        """Out of range times would overflow in the database."""
        if not in_range(value):
            raise serializers.ValidationError("must be between 1970 and 9000")
        return value
    limit = serializers.IntegerField(required=False, min_value=1, max_value=5000, default=1000)


class EquityView(KnownQueryParamsMixin, APIView):
    """A bot's equity curve: stored points, oldest first."""

    query_serializer = EquityQuery

    @extend_schema(parameters=[EquityQuery], responses={200: EquityPointSerializer(many=True), 400: ErrorSerializer,
                                                         404: UNKNOWN_BOT})
    def get(self, request: Request) -> Response:
        """The last `limit` points after `since`."""
        query = EquityQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        bot_id = requested_bot(request)
        points = equity_curve(bot_id=bot_id, since=query.validated_data.get("since"),
                              limit=query.validated_data["limit"])
        return Response(EquityPointSerializer(points, many=True).data)

