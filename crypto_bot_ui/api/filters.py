"""Query filters of the trade endpoints (shared by the JSON list and the CSV export)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django.core.validators import RegexValidator
from django.db.models import QuerySet
from django_filters.fields import IsoDateTimeField

from bot_api.models import BOT_ID_PATTERN
from crypto_bot_ui.api.bots import EVERY_BOT_HELP
from crypto_bot_ui.dashboard.selectors import BotDataUnavailableError, bot_overview, bot_symbols, not_a_symbol
from crypto_bot_ui.trades.models import Side, Trade
from crypto_bot_ui.trades.selectors import has_traded, traded_symbols, with_note

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
"""Times outside this range are refused (400): near year 1 or 9999, a time-zone shift overflows."""


def in_range(value: datetime) -> bool:
    """Whether a query's time lies in EARLIEST..LATEST (the database can compare it)."""
    return EARLIEST <= value <= LATEST


class BoundedIsoDateTimeField(IsoDateTimeField):
    """An ISO-8601 time between 1970 and 9000."""

    def clean(self, value: Any) -> Any:
        """The parsed time, or a ValidationError when it is out of range."""
        cleaned = super().clean(value)
        if cleaned is not None and not in_range(cleaned):
            raise forms.ValidationError("must be between 1970 and 9000", code="out_of_range")
        return cleaned


class BoundedIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """IsoDateTimeFilter over a bounded field."""

    field_class = BoundedIsoDateTimeField


class StrictBooleanField(forms.NullBooleanField):
    """`true` or `false` (also 1, 0, any case); anything else is refused, where Django's field would
    read it as "no filter" and answer every trade."""

    widget = forms.TextInput  # the raw text: NullBooleanSelect turns what it does not know into None

    def to_python(self, value: Any) -> bool | None:
        """True, False, or None when the parameter is absent or empty."""
        if value in (None, ""):
            return None
        answer = {"true": True, "1": True, "false": False, "0": False}.get(str(value).lower())
        if answer is None:
            raise forms.ValidationError("must be true or false", code="invalid")
        return answer


class StrictBooleanFilter(django_filters.BooleanFilter):
    """A boolean filter over StrictBooleanField."""

    field_class = StrictBooleanField


class TradeFilterForm(forms.Form):
    """The filters' form: a symbol must be one the bot (every bot, without `bot`) trades now or has traded."""

    def clean(self) -> dict[str, Any]:
        """The filters, or a ValidationError on `symbol` naming the symbols there are."""
        cleaned: dict[str, Any] = super().clean() or {}
        symbol: str = cleaned.get("symbol") or ""
        if not symbol or self.has_error("bot"):
            return cleaned
        bot_id: str | None = cleaned.get("bot") or None
        trading = _trading_now(bot_id)
        if trading is None:
            # Without the bot's own list a refusal could be wrong; no trades is then the true answer.
            return cleaned
        # Stored trades count too: after a restart with other SYMBOLS their history stays queryable.
        if symbol in trading or has_traded(bot_id=bot_id, symbol=symbol):
            return cleaned
        known = {*trading, *traded_symbols(bot_id=bot_id)}
        why = not_a_symbol(symbol, known) if bot_id is not None else (
            f"{symbol} is not a symbol of any bot; they have: {', '.join(sorted(known)) or 'none yet'}")
        self.add_error("symbol", forms.ValidationError("%(why)s", code="unknown_symbol", params={"why": why}))
        return cleaned


def _trading_now(bot_id: str | None) -> set[str] | None:
    """The symbols the bot (None: any bot with a snapshot, and the default one) trades now; None
    when there is nothing to judge by (Redis does not answer, or no bot has a snapshot)."""
    if bot_id is not None:
        try:
            return set(bot_symbols(bot_id))
        except BotDataUnavailableError:
            return None
    try:
        snapshots = [summary for _, summary in bot_overview() if summary.state is not None]  # state: has one
    except BotDataUnavailableError:
        return None
    symbols = {symbol for summary in snapshots for symbol in summary.symbols}
    judged = bool(snapshots)
    try:
        symbols |= set(bot_symbols())  # the default bot, registered or not
        judged = True
    except BotDataUnavailableError:
        pass
    return symbols if judged else None


class TradeFilter(django_filters.FilterSet):
    """`bot`, `symbol`, `side`, a time window `since` <= executed_at < `until` (ISO-8601), and `has_note`."""

    bot = django_filters.CharFilter(field_name="bot_id", lookup_expr="exact", max_length=32,
                                    validators=[RegexValidator(BOT_ID_PATTERN)], help_text=EVERY_BOT_HELP)
    symbol = django_filters.CharFilter(field_name="symbol", lookup_expr="exact", max_length=20)
    side = django_filters.ChoiceFilter(field_name="side", choices=Side.choices)
    since = BoundedIsoDateTimeFilter(field_name="executed_at", lookup_expr="gte")
    until = BoundedIsoDateTimeFilter(field_name="executed_at", lookup_expr="lt")
    has_note = StrictBooleanFilter(method="filter_has_note", help_text=(
        "true: only the trades with a journal note; false: only those without one (default: both)"))

    class Meta:
        model = Trade
        form = TradeFilterForm
        fields = ["bot", "symbol", "side", "since", "until", "has_note"]

    def filter_has_note(self, queryset: QuerySet[Trade], name: str, value: bool) -> QuerySet[Trade]:
        """The trades with a note (true) or without (false)."""
        return with_note(queryset, noted=value)
