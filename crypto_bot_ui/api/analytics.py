"""The analytics endpoints: performance per period, results per bot/strategy/symbol, how trades are
spread, the curves, where the money sits; CSV exports of performance and positions. Thin views: the
figures come from crypto_bot_ui.analytics' selectors."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from django.http import HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bot_api.models import BOT_ID_PATTERN
from crypto_bot_ui.analytics.allocation import allocation, portfolio_rows
from crypto_bot_ui.analytics.breakdown import Results, comparison
from crypto_bot_ui.analytics.curve import curves
from crypto_bot_ui.analytics.distribution import distribution
from crypto_bot_ui.analytics.performance import RangeTooLongError, performance
from crypto_bot_ui.analytics.periods import Period, period_start
from crypto_bot_ui.api import analytics_schemas as shapes
from crypto_bot_ui.api.bots import requested_bot_filter
from crypto_bot_ui.api.filters import in_range
from crypto_bot_ui.api.query import KnownQueryParamsMixin
from crypto_bot_ui.api.serializers import ErrorSerializer
from crypto_bot_ui.api.views import UNAVAILABLE, UNKNOWN_BOT, unavailable
from crypto_bot_ui.core.decimals import plain
from crypto_bot_ui.dashboard.selectors import BotDataUnavailableError

ALL_BOTS_HELP = "Only this bot (default: every bot together); a bot no one knows of is a 404 `unknown_bot`."
TIME_HELP = ("An ISO-8601 time (without an offset: in `tz`) or a date YYYY-MM-DD (its first instant in `tz`); "
             "between 1970 and 9000.")


@cache
def zone_names() -> frozenset[str]:
    """The IANA time zone names this machine knows."""
    return frozenset(available_timezones())


@extend_schema_field(OpenApiTypes.STR)
class LocalTimeField(serializers.Field):  # type: ignore[type-arg]
    """A date or an ISO-8601 time, made a time in the query's zone by the query's `validate`."""

    def to_internal_value(self, data: Any) -> date | datetime:
        """The parsed date or datetime (naive stays naive: the zone is known later)."""
        text = str(data).strip()
        try:
            return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise serializers.ValidationError("give a date YYYY-MM-DD or an ISO-8601 time", code="invalid") from None

    def to_representation(self, value: Any) -> str:
        """ISO-8601."""
        return str(value.isoformat())


class RangeQuery(serializers.Serializer):  # type: ignore[type-arg]
    """`bot` (default: every bot), `since` <= time < `until` (either open), `tz` for dates and periods."""

    bot = serializers.RegexField(BOT_ID_PATTERN, max_length=32, required=False, help_text=ALL_BOTS_HELP)
    since = LocalTimeField(required=False, help_text=TIME_HELP)
    until = LocalTimeField(required=False, help_text=TIME_HELP + " Exclusive.")
    tz = serializers.CharField(required=False, default="UTC", max_length=64,
                               help_text="An IANA time zone such as Europe/Berlin (default UTC); the page sends yours")

    def validate_tz(self, value: str) -> str:
        """A zone this machine knows."""
        if value not in zone_names():
            raise serializers.ValidationError(f"{value!r} is not a time zone; use an IANA name such as Europe/Berlin",
                                              code="unknown_time_zone")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Dates and naive times placed in `tz`; the range in bounds and not empty."""
        zone = ZoneInfo(attrs["tz"])
        attrs["zone"] = zone
        for name in ("since", "until"):
            value = attrs.get(name)
            if isinstance(value, datetime):
                value = value if value.tzinfo is not None else value.replace(tzinfo=zone)
            elif isinstance(value, date):
                value = period_start(value, zone)
            if value is not None and not in_range(value):
                raise serializers.ValidationError({name: "must be between 1970 and 9000"}, code="out_of_range")
            attrs[name] = value
        if attrs.get("since") and attrs.get("until") and attrs["since"] >= attrs["until"]:
            raise serializers.ValidationError({"until": "must be after since"}, code="empty_range")
        return attrs


class PeriodQuery(RangeQuery):
    """The range, and `period`: day, week (ISO, Monday first) or month, in `tz`."""

    period = serializers.ChoiceField(choices=[p.value for p in Period], default=Period.DAY.value)


class BotOnlyQuery(serializers.Serializer):  # type: ignore[type-arg]
    """`bot` (default: every bot)."""

    bot = serializers.RegexField(BOT_ID_PATTERN, max_length=32, required=False, help_text=ALL_BOTS_HELP)


def _query(request: Request, serializer: type[serializers.Serializer]) -> dict[str, Any]:  # type: ignore[type-arg]
    """The validated query, with `bot` checked to be known (404) and None for every bot."""
    query = serializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    values = dict(query.validated_data)
    values["bot"] = requested_bot_filter(request)
    return values


def _too_long(exc: RangeTooLongError) -> Response:
    return Response({"code": "range_too_long", "message": str(exc)}, status=400)


BAD = {400: ErrorSerializer, 404: UNKNOWN_BOT}


def _period_rows(q: dict[str, Any]) -> list[shapes.PeriodResponse]:
    rows = performance(bot_id=q["bot"], period=Period(q["period"]), zone=q["zone"], since=q.get("since"),
                       until=q.get("until"))
    return [shapes.PeriodResponse(period_start=r.period_start, realized_pnl=r.totals.realized_pnl, fees=r.totals.fees,
                                  trade_count=r.totals.trade_count, wins=r.totals.wins, losses=r.totals.losses,
                                  cumulative_pnl=r.cumulative_pnl)
            for r in rows]


@method_decorator(never_cache, name="dispatch")
class PerformanceView(KnownQueryParamsMixin, APIView):
    """Realized P&L, fees, trades, wins and losses per local day, ISO week or calendar month."""

    query_serializer = PeriodQuery

    @extend_schema(parameters=[PeriodQuery], responses={200: shapes.PerformanceResponse, **BAD})
    def get(self, request: Request) -> Response:
        """Every period of the range (from the first trade to the last when open), empty ones included."""
        q = _query(request, PeriodQuery)
        try:
            rows = _period_rows(q)
        except RangeTooLongError as exc:
            return _too_long(exc)
        return Response(shapes.PerformanceResponse(rows).model_dump(mode="json"))


PERFORMANCE_COLUMNS = ("period_start", "realized_pnl", "fees", "trade_count", "wins", "losses", "cumulative_pnl")


@method_decorator(never_cache, name="dispatch")
class PerformanceCsvView(KnownQueryParamsMixin, APIView):
    """The same periods as /api/performance, as CSV."""

    query_serializer = PeriodQuery

    @extend_schema(parameters=[PeriodQuery], responses={(200, "text/csv"): OpenApiTypes.STR, **BAD})
    def get(self, request: Request) -> HttpResponse | Response:
        """A header, then one row per period (at most a few thousand: no streaming needed)."""
        q = _query(request, PeriodQuery)
        try:
            rows = _period_rows(q)
        except RangeTooLongError as exc:
            return _too_long(exc)
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(PERFORMANCE_COLUMNS)
        for row in rows:
            writer.writerow([row.period_start.isoformat(), plain(row.realized_pnl), plain(row.fees), row.trade_count,
                             row.wins, row.losses, plain(row.cumulative_pnl)])
        return _csv(buffer.getvalue(), f"performance-{q['period']}.csv")


def _csv(text: str, filename: str) -> HttpResponse:
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _results(r: Results) -> shapes.ResultsResponse:
    return shapes.ResultsResponse(
        key=r.key, trades=r.trades, closed=r.closed, wins=r.wins, losses=r.losses, win_rate=r.win_rate,
        profit_factor=r.profit_factor, expectancy=r.expectancy, total=r.total, fees=r.fees,
        gross_profit=r.gross_profit, gross_loss=r.gross_loss)


@method_decorator(never_cache, name="dispatch")
class BreakdownView(KnownQueryParamsMixin, APIView):
    """Results compared: per bot, per strategy and per symbol, and over all."""

    query_serializer = RangeQuery

    @extend_schema(parameters=[RangeQuery], responses={200: shapes.BreakdownResponse, **BAD})
    def get(self, request: Request) -> Response:
        """Trades, win rate, profit factor, expectancy, total and fees of each group."""
        q = _query(request, RangeQuery)
        found = comparison(bot_id=q["bot"], since=q.get("since"), until=q.get("until"))
        body = shapes.BreakdownResponse(total=_results(found.total), by_bot=[_results(r) for r in found.by_bot],
                                        by_strategy=[_results(r) for r in found.by_strategy],
                                        by_symbol=[_results(r) for r in found.by_symbol])
        return Response(body.model_dump(mode="json"))


@method_decorator(never_cache, name="dispatch")
class DistributionView(KnownQueryParamsMixin, APIView):
    """How closing trades' P&L and holding times are spread."""

    query_serializer = RangeQuery

    @extend_schema(parameters=[RangeQuery], responses={200: shapes.DistributionResponse, **BAD})
    def get(self, request: Request) -> Response:
        """A P&L histogram and holding-time bins, wins and losses apart."""
        q = _query(request, RangeQuery)
        found = distribution(bot_id=q["bot"], since=q.get("since"), until=q.get("until"))
        body = shapes.DistributionResponse(
            closed=found.closed, width=found.width,
            pnl=[shapes.PnlBinResponse(low=b.low, high=b.high, count=b.count) for b in found.pnl],
            holding=[shapes.HoldingBinResponse(low_seconds=b.low, high_seconds=b.high, count=b.count, wins=b.wins,
                                               losses=b.losses) for b in found.holding],
            mean_win_seconds=found.mean_win_seconds, mean_loss_seconds=found.mean_loss_seconds)
        return Response(body.model_dump(mode="json"))


@method_decorator(never_cache, name="dispatch")
class CurveView(KnownQueryParamsMixin, APIView):
    """The equity curve with its drawdown."""

    query_serializer = RangeQuery

    @extend_schema(parameters=[RangeQuery], responses={200: shapes.CurveResponse, **BAD})
    def get(self, request: Request) -> Response:
        """From the recorded equity points, every bot's summed (each one's last value carried on)."""
        q = _query(request, RangeQuery)
        found = curves(bot_id=q["bot"], since=q.get("since"), until=q.get("until"))
        deepest = found.max_drawdown
        body = shapes.CurveResponse(
            step_seconds=found.step_seconds,
            equity=[shapes.CurvePoint(at=p.at, equity=p.equity, drawdown=p.drawdown, drawdown_pct=p.drawdown_pct)
                    for p in found.equity],
            max_drawdown=None if deepest is None else shapes.DrawdownResponse(
                amount=deepest.amount, pct=deepest.pct, peak_at=deepest.peak_at, trough_at=deepest.trough_at,
                recovered_at=deepest.recovered_at))
        return Response(body.model_dump(mode="json"))


@method_decorator(never_cache, name="dispatch")
class AllocationView(KnownQueryParamsMixin, APIView):
    """Where the money sits now: cash and positions at market value."""

    query_serializer = BotOnlyQuery

    @extend_schema(parameters=[BotOnlyQuery], responses={200: shapes.AllocationResponse, **BAD, 503: UNAVAILABLE})
    def get(self, request: Request) -> Response:
        """From the bots' current snapshots (Redis); 503 when Redis does not answer."""
        q = _query(request, BotOnlyQuery)
        try:
            groups = allocation(bot_id=q["bot"])
        except BotDataUnavailableError as exc:
            return unavailable(exc)
        body = shapes.AllocationResponse(groups=[shapes.AllocationGroup(
            quote_asset=g.quote_asset, decimals=g.decimals, total=g.total,
            slices=[shapes.SliceResponse(name=name, value=value) for name, value in g.slices.items()],
            holdings=[shapes.HoldingResponse(bot=h.bot, name=h.name, value=h.value) for h in g.holdings],
        ) for g in groups])
        return Response(body.model_dump(mode="json"))


@method_decorator(never_cache, name="dispatch")
class PortfolioCsvView(KnownQueryParamsMixin, APIView):
    """Each bot's cash and open positions now, as CSV."""

    query_serializer = BotOnlyQuery

    @extend_schema(parameters=[BotOnlyQuery], responses={(200, "text/csv"): OpenApiTypes.STR, **BAD,
                                                          503: UNAVAILABLE})
    def get(self, request: Request) -> HttpResponse | Response:
        """bot_id, asset (cash or a symbol), qty, avg_entry, mark_price, value, unrealized_pnl, quote_asset."""
        q = _query(request, BotOnlyQuery)
        try:
            rows = portfolio_rows(bot_id=q["bot"])
        except BotDataUnavailableError as exc:
            return unavailable(exc)
        buffer = io.StringIO()
        csv.writer(buffer).writerows(rows)
        return _csv(buffer.getvalue(), "portfolio.csv")
