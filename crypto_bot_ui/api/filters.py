"""Query filters of the trade endpoints (shared by the JSON list and the CSV export)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django.conf import settings
from django_filters.fields import IsoDateTimeField

from crypto_bot_ui.dashboard.selectors import BotDataUnavailableError, bot_symbols, not_a_symbol
from crypto_bot_ui.trades.models import Side, Trade
from crypto_bot_ui.trades.selectors import has_traded, traded_symbols

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


class TradeFilterForm(forms.Form):
    """The filters' form: a symbol must be one this bot trades now or has traded."""

    def clean_symbol(self) -> str:
        """The symbol, or a ValidationError naming the symbols there are."""
        symbol: str = self.cleaned_data.get("symbol") or ""
        if not symbol:
            return symbol
        try:
            trading = bot_symbols()
        except BotDataUnavailableError:
            # Without the bot's own list a refusal could be wrong; no trades is then the true answer.
            return symbol
        # Stored trades count too: after a restart with other SYMBOLS their history stays queryable.
        if symbol in trading or has_traded(bot_id=settings.BOT_ID, symbol=symbol):
            return symbol
        known = {*trading, *traded_symbols(bot_id=settings.BOT_ID)}
        raise forms.ValidationError("%(why)s", code="unknown_symbol", params={"why": not_a_symbol(symbol, known)})


class TradeFilter(django_filters.FilterSet):
    """`symbol`, `side`, and a time window `since` <= executed_at < `until` (ISO-8601)."""

    symbol = django_filters.CharFilter(field_name="symbol", lookup_expr="exact", max_length=20)
    side = django_filters.ChoiceFilter(field_name="side", choices=Side.choices)
    since = BoundedIsoDateTimeFilter(field_name="executed_at", lookup_expr="gte")
    until = BoundedIsoDateTimeFilter(field_name="executed_at", lookup_expr="lt")

    class Meta:
        model = Trade
        form = TradeFilterForm
        fields = ["symbol", "side", "since", "until"]
